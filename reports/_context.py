"""The report's view model: everything the template shows, built from a ``Run`` alone.

Rendering is generic — every metric gets a block with value, CI, baseline, status, message and
its plain-language description — and the pillar modules add charts where the details they
need are present (``_pillars``). Untrusted strings (column names, values, messages) are
passed through as they are; the Jinja2 environment escapes them.
"""

from __future__ import annotations

import json
from typing import Any

from qaharness._format import fmt
from qaharness.results import Family, Goal, MetricResult, Run, Status

from . import _pillars

__all__ = ["build_context", "fmt", "MAX_RULES", "MAX_PER_COLUMN", "MAX_SCHEMA_COLUMNS"]

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


def description(metric_id: str) -> str:
    """The metric class's plain-language line, or '' when it isn't registered here."""
    from qaharness.metrics import get_metric

    try:
        return get_metric(metric_id).description or (get_metric(metric_id).__doc__ or "").strip().split("\n")[0]
    except Exception:  # unknown id (a plugin absent on this machine) or a broken plugin
        return ""


def _direction(result: MetricResult) -> str:
    low, high = result.bounds
    span = f"range {fmt(low, 2) if low is not None else '−∞'} to {fmt(high, 2) if high is not None else '∞'}"
    better = "lower is better" if result.goal is Goal.MINIMIZE else "higher is better"
    return f"{better}; {span}"


def _rule_grades(run: Run) -> dict[str, str]:
    """metric id → worst rule outcome: fail > warn > error > waived > pass."""
    order = {"pass": 0, "waived": 1, "error": 2, "warn": 3, "fail": 4}
    grades: dict[str, str] = {}
    for rule in run.rules or []:
        grade = rule.status
        if rule.status == "fail" and rule.severity == "warn":
            grade = "warn"
        current = grades.get(rule.metric)
        if current is None or order[grade] > order[current]:
            grades[rule.metric] = grade
    return grades


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
        reverse = result.goal is Goal.MINIMIZE
        ordered = sorted(result.per_column.items(), key=lambda kv: kv[1], reverse=reverse)
        worst = [(c, fmt(v)) for c, v in ordered[:MAX_PER_COLUMN]]
    return {
        "id": result.id,
        "name": result.id.split(".", 1)[-1].replace("_", " "),
        "status": result.status.value,
        "value": fmt(result.value),
        "ci": _ci(result),
        "baseline": fmt(result.baseline) if result.baseline is not None else "",
        "message": result.message,
        "description": description(result.id),
        "direction": _direction(result),
        "grade": grades.get(result.id, ""),
        "worst_columns": worst,
        "n_columns": len(result.per_column or {}),
        "details": _detail_items(result.details),
    }


def _verdict(run: Run) -> dict[str, Any]:
    counts = {"pass": 0, "fail": 0, "warn": 0, "waived": 0, "error": 0}
    for rule in run.rules or []:
        key = "warn" if rule.status == "fail" and rule.severity == "warn" else rule.status
        counts[key] = counts.get(key, 0) + 1
    policy = run.policy.model_dump() if run.policy else None
    return {"verdict": run.verdict, "policy": policy, "counts": counts, "has_gate": run.verdict is not None}


def _rules(run: Run) -> tuple[list[dict[str, Any]], int]:
    rows = []
    for rule in (run.rules or [])[:MAX_RULES]:
        threshold = rule.threshold_expr or fmt(rule.threshold)
        if rule.threshold_expr and rule.threshold is not None:
            threshold = f"{rule.threshold_expr} = {fmt(rule.threshold)}"
        waiver = ""
        if rule.waiver:
            parts = [f"{k}: {v}" for k, v in rule.waiver.items() if v not in (None, "")]
            waiver = "; ".join(parts)
        rows.append(
            {
                "id": rule.id,
                "metric": rule.metric,
                "field": rule.field,
                "op": rule.op,
                "threshold": threshold,
                "observed": fmt(rule.observed),
                "severity": rule.severity,
                "status": rule.status,
                "message": rule.message,
                "rationale": rule.rationale,
                "waiver": waiver,
            }
        )
    return rows, max(0, len(run.rules or []) - MAX_RULES)


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


def _provenance(run: Run) -> dict[str, Any]:
    """Scalars and small structures as key/value rows; lists of records (a DP ledger) as tables."""
    prov = run.provenance or {}
    items, tables = [], []
    if "dp" in prov:
        items.append(("differential privacy", _dp_line(prov["dp"])))
    for key, value in prov.items():
        if key == "dp":
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            header = list(dict.fromkeys(k for row in value for k in row))[:10]
            rows = [
                [
                    fmt(row.get(h))
                    if not isinstance(row.get(h), (dict, list))
                    else json.dumps(row.get(h), default=str)[:80]
                    for h in header
                ]
                for row in value[:MAX_TABLE_ROWS]
            ]
            tables.append(
                {
                    "title": str(key).replace("_", " "),
                    "header": header,
                    "rows": rows,
                    "more": max(0, len(value) - MAX_TABLE_ROWS),
                }
            )
        elif isinstance(value, dict) and any(
            isinstance(v, list) and v and all(isinstance(x, dict) for x in v) for v in value.values()
        ):
            sub = _provenance(run.model_copy(update={"provenance": value}))
            items += [(f"{key}.{k}", v) for k, v in sub["rows"]]
            tables += [{**t, "title": f"{key} · {t['title']}"} for t in sub["tables"]]
        else:
            items += _flatten(value, str(key))
    return {"rows": items, "tables": tables, "present": bool(prov)}


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


def build_context(run: Run, *, ticket: str | None = None, signed: bool = False) -> dict[str, Any]:
    """Everything the template needs, from the run alone."""
    grades = _rule_grades(run)
    pillars = []
    for family in Family:
        results = [m for m in run.metrics if m.family is family]
        if not results and family is not Family.PROVENANCE:
            continue
        blocks = [_metric_block(m, grades) for m in results]
        charts, notes = _pillars.charts_for(family, run)
        if not results and not charts:
            continue
        ok = sum(1 for m in results if m.status is Status.OK)
        pillars.append(
            {
                "id": family.value,
                "title": _FAMILY_TITLES[family],
                "question": _FAMILY_QUESTIONS[family],
                "metrics": blocks,
                "charts": charts,
                "chart_notes": notes,
                "summary": f"{ok} of {len(results)} metrics computed",
                "tables": _pillars.tables_for(family, run),
            }
        )
    rules, more_rules = _rules(run)
    ticket = ticket or run.ticket
    return {
        "run": run,
        "ticket": ticket,
        "signed": signed,
        "verdict": _verdict(run),
        "rules": rules,
        "more_rules": more_rules,
        "pillars": pillars,
        "provenance": _provenance(run),
        "inputs": _inputs(run),
        "repro": _reproducibility(run),
        "title": f"qaharness report{f' {ticket}' if ticket else ''} — {run.created_at}",
    }
