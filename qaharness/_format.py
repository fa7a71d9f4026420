"""Text for people, in one place: numbers, thresholds, rule statuses and boolean words.

The CLI, JUnit/summary outputs, reports and the dashboard all format through these functions, so a
threshold or a number reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

from .results import RuleResult

__all__ = [
    "TRUE_WORDS",
    "FALSE_WORDS",
    "boolean_word",
    "fmt",
    "fmt_sig",
    "threshold_text",
    "observed_text",
    "rule_outcome",
    "rule_subject",
    "outcome_class",
    "outcome_rank",
    "FAILING_STATUSES",
]

#: spellings read as booleans (lower-cased, stripped); "1"/"0" are handled by the callers that allow them
TRUE_WORDS = frozenset({"true", "t", "yes", "y"})
FALSE_WORDS = frozenset({"false", "f", "no", "n"})
#: rule statuses that count against the verdict (before severity is applied)
FAILING_STATUSES = frozenset({"fail", "error", "insufficient"})


def boolean_word(text: object, *, digits: bool = False) -> bool | None:
    """True/False for a boolean spelling (``yes``, ``F``, and ``1``/``0`` when ``digits``), else None."""
    lowered = str(text).strip().lower()
    if lowered in TRUE_WORDS or (digits and lowered in ("1", "1.0")):
        return True
    if lowered in FALSE_WORDS or (digits and lowered in ("0", "0.0")):
        return False
    return None


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers for people: fixed decimals, thousands separators for large values, '—' for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value != 0 and abs(value) < 10**-digits:
            return f"{value:.2e}"
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def fmt_sig(value: float | None, digits: int = 4) -> str:
    """A number to ``digits`` significant figures ('—' for none): the form rule messages use."""
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def threshold_text(rule: RuleResult) -> str:
    """``<= 0.1 (min(2 * baseline, 0.15))``: the operator, the resolved number, the expression as written."""
    if rule.op is None:
        return "—"
    return f"{rule.op} {fmt_sig(rule.threshold)}" + (f" ({rule.threshold_expr})" if rule.threshold_expr else "")


def observed_text(rule: RuleResult) -> str:
    return fmt_sig(rule.observed)


def rule_outcome(rule: RuleResult) -> str:
    """What a reader should see: pass, fail, warn (a failed warn-severity rule), waived, error,
    or 'insufficient evidence'."""
    if rule.status == "insufficient":
        return "insufficient evidence" if rule.severity == "error" else "warn (insufficient evidence)"
    if rule.status in FAILING_STATUSES and rule.severity == "warn":
        return "warn"
    return rule.status


def rule_subject(rule: RuleResult) -> str:
    """What the rule reads: ``fidelity.ks (value)`` for a metric rule, its kind for the others."""
    subject = rule.metric or rule.kind
    return f"{subject} ({rule.field})" if rule.field and rule.metric else subject


#: reader-facing outcome (``rule_outcome``) → (colour class, sort rank): failures first, passes last
_OUTCOMES = {
    "fail": ("fail", 0),
    "error": ("error", 1),
    "insufficient evidence": ("insufficient", 2),
    "warn": ("warn", 3),
    "warn (insufficient evidence)": ("warn", 3),
    "waived": ("waived", 4),
    "pass": ("pass", 5),
}


def outcome_class(rule: RuleResult) -> str:
    """fail | error | insufficient | warn | waived | pass: the colour reports and the dashboard show a rule in."""
    return _OUTCOMES.get(rule_outcome(rule), ("error", 1))[0]


def outcome_rank(rule: RuleResult) -> int:
    """Sort key that lists failed rules first, then errors, insufficient evidence, warnings, waivers, passes."""
    return _OUTCOMES.get(rule_outcome(rule), ("error", 1))[1]
