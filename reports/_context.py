"""The report's view model: everything the template shows, built from a ``Run`` alone.

Nothing here imports the metric registry or any live object: descriptions and ideals come from
the results themselves (results.json schema 2), rules are rendered from ``RuleResult`` alone,
whatever their kind, and every number or threshold goes through ``qaharness._format``.
Page 1 carries the decision (``decision``): the verdict, each failed or warned rule by name with
observed vs threshold and its sentence, the pillar score cards, inputs and ticket, the policy by
id, version and hash. Rationales go to an appendix. Untrusted strings (column names, values,
messages) are passed through as they are; the Jinja2 environment escapes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qaharness._format import (
    fmt,
    observed_text,
    outcome_class,
    outcome_rank,
    rule_outcome,
    rule_subject,
    threshold_text,
)
from qaharness.results import Family, Goal, MetricResult, RuleResult, Run, Status

from . import _charts, _pillars

__all__ = ["build_context", "MAX_RULES", "MAX_PER_COLUMN", "MAX_SCHEMA_COLUMNS"]

MAX_RULES = 150
MAX_PER_COLUMN = 10  # worst columns listed under a metric
MAX_SCHEMA_COLUMNS = 60
MAX_DETAIL_ITEMS = 12
MAX_TABLE_ROWS = 50
_FAMILY_TITLES = {
    Family.FIDELITY: "Fidelity",
    Family.UTILITY: "Utility",
    Family.PRIVACY: "Privacy",
    Family.PROVENANCE: "Provenance",
}
_FAMILY_QUESTIONS = {
    Family.FIDELITY: "Does the synthetic data look like the real data, column by column and pair by pair?",
    Family.UTILITY: "Do models trained on the synthetic data work as well as models trained on the real data?",
    Family.PRIVACY: "Could the synthetic data reveal the people in the real data?",
    Family.PROVENANCE: "Where did the synthetic data come from, and under which privacy budget?",
}


def _ci(result: MetricResult) -> str:
    if not result.ci:
        return ""
    level = f"{result.ci_level:.0%} " if result.ci_level else ""
    return f"{level}CI [{fmt(result.ci[0])}, {fmt(result.ci[1])}]"


def _direction(result: MetricResult) -> str:
    low, high = result.bounds
    span = f"range {fmt(low, 2) if low is not None else '−∞'} to {fmt(high, 2) if high is not None else '∞'}"
    ideal = f"ideal {fmt(result.ideal)}; " if result.ideal is not None else ""
    if result.goal is Goal.MINIMIZE:
        better = "lower is better"
    elif result.goal is Goal.MAXIMIZE:
        better = "higher is better"
    else:
        better = "closest to the ideal is best"
    return f"{ideal}{better}; {span}"


def _metric_grades(run: Run) -> dict[str, str]:
    """metric id → the class of its worst rule (fail > error > insufficient > warn > waived > pass)."""
    grades: dict[str, tuple[int, str]] = {}
    for rule in run.rules or []:
        if rule.metric is None:
            continue
        rank, css = outcome_rank(rule), outcome_class(rule)
        if rule.metric not in grades or rank < grades[rule.metric][0]:
            grades[rule.metric] = (rank, css)
    return {metric_id: css for metric_id, (_, css) in grades.items()}


def _detail_items(details: dict[str, Any]) -> list[tuple[str, str]]:
    """Scalar details worth a line (numbers, flags, short strings); structures are left to charts."""
    items = []
    for key, value in details.items():
        if key.startswith("baseline_per_column") or key in ("real_matrix", "synthetic_matrix"):
            continue
        if isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 120):
            items.append((key.replace("_", " "), fmt(value)))
        if len(items) >= MAX_DETAIL_ITEMS:
            break
    return items


def _metric_block(result: MetricResult, grades: dict[str, str]) -> dict[str, Any]:
    worst = []
    if result.per_column:
        reverse = result.goal is not Goal.MAXIMIZE
        ordered = sorted(result.per_column.items(), key=lambda kv: kv[1], reverse=reverse)
        worst = [(c, fmt(v)) for c, v in ordered[:MAX_PER_COLUMN]]
    return {
        "id": result.id,
        "name": result.id.split(".", 1)[-1].replace("_", " "),
        "status": result.status.value,
        "value": fmt(result.value),
        "ci": _ci(result),
        "ci_short": f"CI {fmt(result.ci[0])}–{fmt(result.ci[1])}" if result.ci else "",
        "baseline": fmt(result.baseline),
        "has_baseline": result.baseline is not None,
        "ideal": fmt(result.ideal),
        "message": result.message,
        "description": result.description,
        "direction": _direction(result),
        "grade": grades.get(result.id, ""),
        "worst_columns": worst,
        "n_columns": len(result.per_column or {}),
        "details": _detail_items(result.details),
    }


def _rule_view(rule: RuleResult, number: int, descriptions: dict[str, str]) -> dict[str, Any]:
    waiver = ""
    if rule.waiver:
        state = "" if rule.waiver.get("active", True) else " (expired)"
        parts = [f"{k}: {v}" for k, v in rule.waiver.items() if k != "active" and v not in (None, "")]
        waiver = "; ".join(parts) + state
    return {
        "id": rule.id,
        "kind": rule.kind,
        "subject": rule_subject(rule),
        "outcome": rule_outcome(rule),
        "css": outcome_class(rule),
        "observed": observed_text(rule),
        "threshold": threshold_text(rule),
        "severity": rule.severity,
        "message": rule.message,
        "description": descriptions.get(rule.metric or "", ""),
        "rationale": rule.rationale,
        "waiver": waiver,
        "anchor": f"rule-{number}",
    }


def _decision(run: Run) -> dict[str, Any]:
    """The verdict and what drives it: failing rules, warnings, waivers, counts, the policy."""
    descriptions = {m.id: m.description for m in run.metrics}
    rules = sorted(enumerate(run.rules or [], 1), key=lambda item: (outcome_rank(item[1]), item[0]))
    views = [_rule_view(rule, number, descriptions) for number, rule in rules]
    counts: dict[str, int] = {}
    for view in views:
        counts[view["css"]] = counts.get(view["css"], 0) + 1
    failing = [v for v in views if v["css"] in ("fail", "error", "insufficient")]
    warnings = [v for v in views if v["css"] == "warn"]
    waived = [v for v in views if v["css"] == "waived"]
    summary = []
    if failing:
        summary.append(f"{len(failing)} of {len(views)} rules failed: " + ", ".join(v["id"] for v in failing))
    if warnings:
        summary.append(
            f"{len(warnings)} warning{'s' if len(warnings) > 1 else ''}: " + ", ".join(v["id"] for v in warnings)
        )
    if waived:
        summary.append(f"{len(waived)} waived: " + ", ".join(v["id"] for v in waived))
    if views and not failing and not warnings:
        summary.insert(0, f"all {len(views) - len(waived)} rules held")
    return {
        "verdict": run.verdict,
        "has_gate": run.verdict is not None,
        "counts": counts,
        "summary": summary,
        "attention": failing + warnings,
        "waived": waived,
        "rules": views[:MAX_RULES],
        "more_rules": max(0, len(views) - MAX_RULES),
        "policy": _policy(run),
    }


def _policy(run: Run) -> dict[str, Any] | None:
    """id, version, hash — and the file's name, not the path of one machine's site-packages."""
    if run.policy is None:
        return None
    source = run.policy.source
    where = ""
    if source:
        path = Path(source)
        bundled = path.parent.name == "policies" and path.parent.parent.name == "qaharness"
        where = f"{path.name} (bundled with qaharness)" if bundled else path.name
    return {
        "id": run.policy.id,
        "version": run.policy.version,
        "sha256": run.policy.sha256,
        "short": run.policy.sha256[:12],
        "file": where,
    }


def _flatten(value: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    if isinstance(value, dict) and depth < 2:
        rows = []
        for key, item in value.items():
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key), depth + 1)
        return rows
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, default=str)
        return [(prefix, text if len(text) <= 300 else text[:299] + "…")]
    return [(prefix, fmt(value))]


def _dp_line(dp: Any) -> str:
    if not isinstance(dp, dict):
        return "none: the generator was not differentially private" if dp is None else fmt(dp)
    parts = [f"ε = {fmt(dp.get('epsilon'))}", f"δ = {fmt(dp.get('delta'), 6) if dp.get('delta') else '0'}"]
    if dp.get("accountant"):
        parts.append(f"accountant {dp['accountant']}")
    rest = [
        f"{k} {fmt(v)}"
        for k, v in dp.items()
        if k not in ("epsilon", "delta", "accountant") and not isinstance(v, (dict, list))
    ]
    return ", ".join(parts + rest)


def _records_table(key: str, value: list[dict]) -> dict[str, Any]:
    header = list(dict.fromkeys(k for row in value for k in row))[:10]

    def cell(item: Any) -> str:
        return json.dumps(item, default=str)[:80] if isinstance(item, (dict, list)) else fmt(item)

    rows = [[cell(row.get(h)) for h in header] for row in value[:MAX_TABLE_ROWS]]
    return {
        "title": str(key).replace("_", " "),
        "header": header,
        "rows": rows,
        "more": max(0, len(value) - MAX_TABLE_ROWS),
    }


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _provenance_parts(prov: dict[str, Any]) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Scalars and small structures as key/value rows; lists of records (a DP ledger) as tables."""
    items: list[tuple[str, str]] = []
    tables: list[dict[str, Any]] = []
    if "dp" in prov:
        items.append(("differential privacy", _dp_line(prov["dp"])))
    for key, value in prov.items():
        if key == "dp":
            continue
        if _is_records(value):
            tables.append(_records_table(key, value))
        elif isinstance(value, dict) and any(_is_records(v) for v in value.values()):
            sub_items, sub_tables = _provenance_parts(value)
            items += [(f"{key}.{k}", v) for k, v in sub_items]
            tables += [{**t, "title": f"{key} · {t['title']}"} for t in sub_tables]
        else:
            items += _flatten(value, str(key))
    return items, tables


def _provenance(run: Run) -> dict[str, Any]:
    prov = run.provenance or {}
    rows, tables = _provenance_parts(prov)
    generator = prov.get("generator")
    return {
        "rows": rows,
        "tables": tables,
        "present": bool(prov),
        "generator": str(generator) if generator else "",
        "dp": _dp_line(prov["dp"]) if "dp" in prov else "",
    }


def _inputs(run: Run) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for kind in run.schema_.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    columns = list(run.schema_.items())
    return {
        "tables": [{"name": name, **info.model_dump()} for name, info in run.inputs.items()],
        "kinds": sorted(kinds.items()),
        "columns": columns[:MAX_SCHEMA_COLUMNS],
        "more_columns": max(0, len(columns) - MAX_SCHEMA_COLUMNS),
        "target": run.target,
        "task": run.task,
    }


def _reproducibility(run: Run) -> dict[str, Any]:
    command = " ".join(run.command) if run.command else ""
    return {
        "qaharness_version": run.qaharness_version,
        "seed": run.seed,
        "command": command,
        "created_at": run.created_at,
        "schema_version": run.schema_version,
        "environment": sorted(run.environment.items()),
        "notes": list(run.notes),
        "total_seconds": f"{sum(run.timings.values()):.2f}" if run.timings else "",
    }


def _pillars_view(run: Run) -> list[dict[str, Any]]:
    grades = _metric_grades(run)
    pillars = []
    for family in Family:
        results = [m for m in run.metrics if m.family is family]
        if not results and family is not Family.PROVENANCE:
            continue
        charts, notes = _pillars.charts_for(family, run)
        if not results and not charts:
            continue
        ok = sum(1 for m in results if m.status is Status.OK)
        pillars.append(
            {
                "id": family.value,
                "title": _FAMILY_TITLES[family],
                "question": _FAMILY_QUESTIONS[family],
                "metrics": [_metric_block(m, grades) for m in results],
                "charts": charts,
                "chart_notes": notes,
                "summary": f"{ok} of {len(results)} metrics computed",
                "tables": _pillars.tables_for(family, run),
                "key": family is Family.FIDELITY and any(c["size"] == "small" for c in charts),
            }
        )
    return pillars


def build_context(run: Run, *, ticket: str | None = None, signed: bool = False) -> dict[str, Any]:
    """Everything the template needs, from the run alone."""
    ticket = ticket or run.ticket
    return {
        "run": run,
        "ticket": ticket,
        "signed": signed,
        "decision": _decision(run),
        "pillars": _pillars_view(run),
        "provenance": _provenance(run),
        "inputs": _inputs(run),
        "repro": _reproducibility(run),
        "legend_key": _charts.legend_key(),
        "title": f"qaharness report{f' {ticket}' if ticket else ''} — {run.created_at}",
    }
