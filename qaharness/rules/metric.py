"""``kind: metric`` — a metric's value, CI end, baseline or details entry against a threshold.

```yaml
- id: closer-to-training
  metric: privacy.dcr
  field: ci_high                  # value | ci_low | ci_high | baseline | details.<key>[.<key>...]
  op: "<="
  threshold: 0.55                 # a number or an expression (qaharness._threshold)
  min_rows: {holdout: 200}        # optional: fewer rows than this cannot decide → insufficient evidence
```
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from qaharness._format import fmt_sig
from qaharness._threshold import MissingVariable, Threshold, ThresholdSyntaxError
from qaharness.results import MetricResult
from qaharness.results import Status as MetricStatus

from ._base import Outcome, RuleBase, RuleContext, Status

__all__ = ["MetricRule", "OPS", "FIELDS", "INPUTS"]

OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
    "!=": lambda a, b: not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
}
FIELDS = ("value", "ci_low", "ci_high", "baseline")
#: details the engine sets with the holdout baseline: without one, the rule says the baseline is missing
BASELINE_DETAILS = ("details.worst_ratio", "details.ratio_columns")
INPUTS = ("real", "synthetic", "holdout")


def known_metric_ids() -> list[str]:
    from qaharness.metrics import metric_ids

    return metric_ids()


class MetricRule(RuleBase):
    """``metric.field op threshold`` must hold; a failure counts as ``severity``.

    The metric must have been computed with status ok. With ``min_rows``, inputs smaller than the
    minimum make the rule ``insufficient`` (a failure that says how many rows are needed) instead
    of judging an interval too wide to decide; a metric that reports
    ``details.insufficient_evidence`` (skipped because the data cannot answer) does the same. A
    metric skipped as ``details.not_applicable`` (the tables hold nothing it measures) passes the rule
    with that sentence; any other skip or error of the metric makes the rule an error.
    """

    KIND: ClassVar[str] = "metric"
    kind: Literal["metric"] = "metric"
    metric: str
    field: str = "value"
    op: Literal["<=", "<", ">=", ">", "==", "!="]
    threshold: float | str
    min_rows: dict[Literal["real", "synthetic", "holdout"], int] | None = Field(
        None, description="rows each input needs for this rule to decide (calibrated by power)"
    )

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        known = known_metric_ids()
        if value not in known:
            raise ValueError(f"unknown metric id {value!r}; known: {', '.join(known)}")
        return value

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value in FIELDS or re.fullmatch(r"details(\.[A-Za-z0-9_\-]+)+", value):
            return value
        raise ValueError(f"field must be one of {', '.join(FIELDS)} or details.<key>; got {value!r}")

    @field_validator("threshold", mode="before")
    @classmethod
    def _valid_threshold(cls, value: Any) -> float | str:
        try:
            parsed = Threshold.parse(value)
        except ThresholdSyntaxError as exc:
            raise ValueError(str(exc)) from None
        return parsed.constant if parsed.constant is not None else parsed.text

    @field_validator("min_rows")
    @classmethod
    def _positive_rows(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for name, rows in (value or {}).items():
            if rows < 1:
                raise ValueError(f"min_rows.{name} must be a positive number of rows; got {rows}")
        return value

    @property
    def parsed_threshold(self) -> Threshold:
        return Threshold.parse(self.threshold)

    def metric_ids(self) -> list[str]:
        return [self.metric]

    # -- judging ----------------------------------------------------------------------------
    def check(self, ctx: RuleContext) -> Outcome:
        threshold = self.parsed_threshold
        base: dict[str, Any] = {
            "metric": self.metric,
            "field": self.field,
            "op": self.op,
            "threshold_expr": threshold.text if threshold.relative else None,
        }
        try:
            result = ctx.run.metric(self.metric)
        except KeyError:
            return Outcome("error", f"{self.metric} was not computed in this run", **base)
        base["family"] = result.family
        short = self._too_few_rows(ctx)
        if short:
            return Outcome("insufficient", short[0], details={"rows_needed": short[1]}, **base)
        if result.status is MetricStatus.SKIPPED and result.details.get("not_applicable"):
            return Outcome("pass", f"{self.metric} does not apply: {result.message}; nothing to judge", **base)
        if result.status is not MetricStatus.OK:
            why = result.message or "no reason given"
            status: Status = "insufficient" if result.details.get("insufficient_evidence") else "error"
            sentence = f"{self.metric} is {result.status.value} ({why}); the rule needs a value"
            return Outcome(status, sentence, **base)
        observed = lookup(result, self.field)
        if observed is None:
            missing = "baseline" if self.field in BASELINE_DETAILS and result.baseline is None else self.field
            return Outcome("error", _missing_message(self.metric, missing), **base)
        try:
            bound = threshold.evaluate(_names(result, threshold))
        except MissingVariable as exc:
            return Outcome("error", _missing_message(self.metric, exc.name), observed=observed, **base)
        except (ZeroDivisionError, ThresholdSyntaxError, OverflowError) as exc:
            sentence = f"threshold {threshold.text!r} cannot be evaluated: {exc}"
            return Outcome("error", sentence, observed=observed, **base)
        if not math.isfinite(bound):
            sentence = f"threshold {threshold.text!r} evaluated to {bound}, not a finite number"
            return Outcome("error", sentence, observed=observed, **base)
        shown = fmt_sig(bound)
        if threshold.relative:
            shown += f" = {threshold.text}"
            if "baseline" in threshold.names():
                shown += f", baseline {fmt_sig(result.baseline)}"
        if OPS[self.op](observed, bound):
            sentence = f"{self.field} {fmt_sig(observed)} {self.op} {shown}"
            return Outcome("pass", sentence, observed=observed, threshold=bound, **base)
        sentence = f"{self.field} {fmt_sig(observed)} is not {self.op} {shown}"
        return Outcome("fail", sentence, observed=observed, threshold=bound, **base)

    def _too_few_rows(self, ctx: RuleContext) -> tuple[str, dict[str, int]] | None:
        """(sentence, rows needed) when an input is smaller than ``min_rows`` allows."""
        needed: dict[str, int] = {}
        for name, rows in (self.min_rows or {}).items():
            info = ctx.run.inputs.get(name)
            have = info.rows if info is not None else 0
            if have < rows:
                needed[name] = rows
        if not needed:
            return None
        parts = [
            f"{rows:,} {name} rows (has {ctx.run.inputs[name].rows:,})"
            if name in ctx.run.inputs
            else f"{rows:,} {name} rows (none given)"
            for name, rows in needed.items()
        ]
        return f"insufficient evidence: this rule needs at least {' and '.join(parts)} to decide", needed


def lookup(result: MetricResult, field: str) -> float | None:
    """The number a rule reads: value, baseline, a CI end or a numeric details entry."""
    if field == "value":
        return result.value
    if field == "baseline":
        return result.baseline
    if field in ("ci_low", "ci_high"):
        return None if result.ci is None else result.ci[0 if field == "ci_low" else 1]
    node: Any = result.details
    for key in field.split(".")[1:]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
        return None
    return float(node)


def _names(result: MetricResult, threshold: Threshold) -> dict[str, float | None]:
    names = {name: lookup(result, name) for name in FIELDS}
    names.update({name: lookup(result, name) for name in threshold.names() if name.startswith("details.")})
    return names


def _missing_message(metric: str, name: str) -> str:
    if name == "baseline":
        return (
            f"{metric} has no baseline (the same metric on holdout vs real; it needs --holdout, and "
            f"not every metric reports one); the rule cannot be checked without it"
        )
    if name in ("ci_low", "ci_high"):
        return f"{metric} reports no confidence interval, so {name} is undefined"
    return f"{metric} has no numeric {name}"
