"""Small, defensive readers of results.json pieces, shared by the pillar chart modules.

A missing or oddly shaped value means "no chart", never an error: results.json may come from
another qaharness version or a third-party metric.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from qaharness._format import fmt_sig
from qaharness.results import MetricResult, RuleResult, Run

__all__ = ["metric", "numbers", "interval", "finite", "chart", "rules_on", "limit_of"]


def metric(run: Run, metric_id: str) -> MetricResult | None:
    """The run's result for ``metric_id`` when it was computed (status ok), else None."""
    return next((m for m in run.metrics if m.id == metric_id and m.ok), None)


def finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def numbers(value: Any, length: int | None = None) -> list[float] | None:
    """A list of finite numbers (of ``length`` when given), else None."""
    if not isinstance(value, (list, tuple)) or (length is not None and len(value) != length):
        return None
    if not all(finite(v) for v in value):
        return None
    return [float(v) for v in value]


def interval(value: Any) -> tuple[float, float] | None:
    pair = numbers(value, 2)
    return (pair[0], pair[1]) if pair and pair[0] <= pair[1] else None


def chart(title: str, uri: str, caption: str, size: str = "small") -> dict[str, Any]:
    """``size``: small (three to a row), half (two), wide (full width)."""
    return {"title": title, "uri": uri, "caption": caption, "size": size}


def rules_on(run: Run, metric_id: str) -> list[RuleResult]:
    return [r for r in run.rules or [] if r.metric == metric_id]


def limit_of(run: Run, result: MetricResult) -> tuple[float, str] | None:
    """The resolved threshold of the first rule judging this metric's value or CI (for a chart's limit line)."""
    for rule in rules_on(run, result.id):
        if rule.threshold is None or rule.field not in ("value", "ci_low", "ci_high"):
            continue
        if math.isfinite(rule.threshold):
            field = "" if rule.field == "value" else f"{rule.field} "
            return float(rule.threshold), f"rule {rule.id}: {field}{rule.op} {fmt_sig(rule.threshold)}"
    return None
