"""CI-facing outputs of a gate run: JUnit XML and a Markdown summary.

JUnit mapping (what GitLab's test report and GitHub's JUnit reporters such as
dorny/test-reporter and mikepenz/action-junit-report display):

- a passing rule → a plain ``<testcase>``;
- an error-severity rule that failed → ``<failure>``; whose metric could not be computed → ``<error>``;
- a warn-severity rule that failed (or errored) → ``<skipped message="WARNING: ...">``, because every
  viewer lists skipped cases with their message while a ``<system-out>`` is only seen when a case is
  opened; under ``--strict`` it becomes a ``<failure>`` like an error;
- a waived rule → ``<skipped message="WAIVED ...">`` naming the owner and the expiry date.

Every case also carries ``<properties>`` (severity, status, observed, threshold, metric) and a
``<system-out>`` with the message and the rule's rationale.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ._atomic import write_bytes
from ._format import FAILING_STATUSES, fmt_sig, rule_subject, threshold_text
from .results import RuleResult, Run

__all__ = ["write_junit", "junit_xml", "summary_markdown", "rule_threshold_text"]

#: kept for callers of the first release; the one formatter is ``qaharness._format.threshold_text``
rule_threshold_text = threshold_text

_ICON = {"pass": "✅", "fail": "❌", "error": "❌", "insufficient": "❌", "waived": "🟡", "warn": "⚠️"}


def _outcome(rule: RuleResult, strict: bool) -> tuple[str, str] | None:
    """(element, type) for the JUnit child that marks this rule, or None for a pass."""
    if rule.status == "waived":
        return "skipped", "waived"
    if rule.status == "pass":
        return None
    if rule.severity == "warn" and not strict:
        return "skipped", "warning"
    if rule.status == "error":
        return "error", "metric-unavailable"
    if rule.status == "insufficient":
        return "failure", "insufficient-evidence"
    return "failure", f"{rule.severity}-severity" + (" (strict)" if rule.severity == "warn" else "")


def junit_xml(run: Run, *, strict: bool = False) -> ET.ElementTree:
    """One testsuite for the policy, one testcase per rule."""
    rules = run.rules or []
    policy = f"{run.policy.id}@{run.policy.version}" if run.policy else "(no policy)"
    counts = {"failure": 0, "error": 0, "skipped": 0}
    cases = []
    for rule in rules:
        case = ET.Element(
            "testcase",
            classname=f"qaharness.{rule.family.value if rule.family else 'gate'}",
            name=f"{rule.id} ({rule.metric or rule.kind})",
            time=f"{run.timings.get(rule.metric, 0.0) if rule.metric else 0.0:.3f}",
        )
        props = ET.SubElement(case, "properties")
        for key, value in (
            ("metric", rule.metric or ""),
            ("kind", rule.kind),
            ("field", rule.field or ""),
            ("severity", rule.severity),
            ("status", rule.status),
            ("threshold", threshold_text(rule)),
            ("observed", "" if rule.observed is None else f"{rule.observed:.6g}"),
        ):
            ET.SubElement(props, "property", name=key, value=value)
        outcome = _outcome(rule, strict)
        if outcome:
            element, kind = outcome
            counts[element] += 1
            label = {"waived": "WAIVED", "warning": "WARNING"}.get(kind, rule.status.upper())
            child = ET.SubElement(case, element, message=f"{label}: {rule.message}", type=kind)
            if element != "skipped":
                child.text = f"{rule.message}\n\nrationale: {rule.rationale}"
        out = ET.SubElement(case, "system-out")
        out.text = f"[{rule.severity}] {rule.status}: {rule.message}\nrationale: {rule.rationale}"
        cases.append(case)
    total = sum(run.timings.get(m, 0.0) for m in {r.metric for r in rules if r.metric})
    attrs = {
        "tests": str(len(rules)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": f"{total:.3f}",
    }
    root = ET.Element("testsuites", {"name": "qaharness gate", **attrs})
    suite = ET.SubElement(
        root, "testsuite", {"name": f"qaharness gate: policy {policy}", "timestamp": run.created_at, **attrs}
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("verdict", run.verdict or ""),
        ("policy", policy),
        ("policy.sha256", run.policy.sha256 if run.policy else ""),
        ("seed", str(run.seed)),
        ("qaharness.version", run.qaharness_version),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    suite.extend(cases)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(run: Run, path: str | Path, *, strict: bool = False) -> Path:
    """Write the JUnit XML atomically (``qaharness._atomic``: a crash never leaves a truncated file)."""
    path = Path(path)
    root = junit_xml(run, strict=strict).getroot()
    assert root is not None  # junit_xml always builds a root
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return write_bytes(path, data, source=f"--out {path.parent}")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(run: Run, *, strict: bool = False, run_id: str | None = None) -> str:
    """A GitHub-flavoured Markdown summary: verdict, rule table, waivers, rationales."""
    verdict = run.verdict or "pass"
    icon = {"pass": "✅", "warn": "⚠️", "fail": "❌"}[verdict]
    lines = [f"## {icon} qaharness gate: {verdict.upper()}" + (" (strict: warnings fail)" if strict else ""), ""]
    if run.policy:
        lines.append(f"Policy **{run.policy.id}** {run.policy.version} (sha256 `{run.policy.sha256[:12]}`)")
    inputs = ", ".join(f"{name} `{_cell(info.source)}` ({info.rows} rows)" for name, info in run.inputs.items())
    lines += [
        f"Inputs: {inputs} · seed {run.seed}"
        + (f" · run `{run_id}`" if run_id else "")
        + (f" · ticket {run.ticket}" if run.ticket else ""),
        "",
    ]
    lines += ["| | Rule | Metric | Observed | Threshold | Severity | Result |", "|---|---|---|---|---|---|---|"]
    for rule in run.rules or []:
        shown = "warn" if rule.status in FAILING_STATUSES and rule.severity == "warn" else rule.status
        lines.append(
            f"| {_ICON[shown]} | {_cell(rule.id)} | {_cell(rule_subject(rule))} | {fmt_sig(rule.observed)} | "
            f"{_cell(threshold_text(rule))} | {rule.severity} | {_cell(rule.message)} |"
        )
    waived = [r for r in run.rules or [] if r.waiver]
    if waived:
        lines += ["", "### Waivers", ""]
        for rule in waived:
            w = rule.waiver or {}
            state = "active" if w.get("active") else "**expired — no longer applies**"
            until = f"until {w.get('expires')}" if w.get("expires") else "for this run"  # None: a gate option
            lines.append(f"- `{rule.id}`: {w.get('owner')} {until} ({state}): {_cell(w.get('reason'))}")
    lines += ["", "<details><summary>Why these thresholds</summary>", ""]
    lines += [f"- **{r.id}**: {_cell(r.rationale) or '(no rationale given)'}" for r in run.rules or []]
    lines += ["", "</details>", ""]
    return "\n".join(lines)
