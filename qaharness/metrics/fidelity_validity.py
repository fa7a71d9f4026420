"""fidelity.validity — share of synthetic rows holding a value outside the real domain."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from qaharness.inputs import EvalInput
from qaharness.masking import masked_value
from qaharness.metrics._base import Metric, MetricDetails, RunContext, register_metric
from qaharness.results import Family, Goal, MetricResult
from qaharness.schema import ColumnKind
from qaharness.stats import wilson_interval

__all__ = ["Validity"]

#: |x − round(x)| above this (relative to max(1, |x|)) is a non-integer: float noise from a file round trip is not
INTEGER_TOLERANCE = 1e-9
#: masked examples of unseen synthetic categories kept per column
N_EXAMPLES = 3


class ColumnValidity(BaseModel):
    """What was out of the real domain in one synthetic column (counts of synthetic rows)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str = Field(description="the column's kind")
    invalid_rows: int = Field(ge=0, description="synthetic rows with a value outside the real domain")
    unseen_categories: int = Field(0, ge=0, description="distinct synthetic values that never occur in real")
    unseen_rows: int = Field(0, ge=0, description="synthetic rows holding such a value")
    unseen_examples: list[str] = Field(default_factory=list, description="a few unseen values, masked (rare#hash)")
    below_min_rows: int = Field(0, ge=0, description="rows below the real minimum")
    above_max_rows: int = Field(0, ge=0, description="rows above the real maximum")
    non_integer_rows: int = Field(0, ge=0, description="non-integers in a column that is integral in real")
    real_min: str | None = Field(None, description="the real minimum, rare#hash when it occurs <= 7 times in real")
    real_max: str | None = Field(None, description="the real maximum, masked like real_min")
    integral: bool | None = Field(None, description="every real value is an integer")


class ValidityDetails(MetricDetails):
    model_config = ConfigDict(frozen=True, extra="forbid")
    invalid_rows: int = Field(ge=0, description="synthetic rows with at least one invalid value")
    n_synthetic: int = Field(ge=0, description="synthetic rows checked")
    mean: float = Field(ge=0, le=1, description="mean over columns of the invalid share")
    worst_column: str | None = Field(None, description="column with the largest invalid share")
    unseen_share: float = Field(0.0, ge=0, le=1, description="rows with a category never seen in real")
    out_of_range_share: float = Field(0.0, ge=0, le=1, description="rows with a value outside a real range")
    non_integer_share: float = Field(0.0, ge=0, le=1, description="rows with a fraction in an integral column")
    columns: dict[str, ColumnValidity] = Field(default_factory=dict, description="per checked column")


def _bound_text(value: float | pd.Timestamp, count: int) -> str:
    shown = value.isoformat() if isinstance(value, pd.Timestamp) else f"{value:.15g}"
    return masked_value(shown, count)


def _category_check(
    real: pd.Series, synthetic: pd.Series, kind: ColumnKind
) -> tuple[dict[str, np.ndarray], ColumnValidity]:
    present = synthetic.notna().to_numpy()
    known = pd.unique(real.dropna().to_numpy())
    unseen = present & ~synthetic.isin(known).to_numpy()
    values = pd.unique(synthetic.to_numpy()[unseen])
    info = ColumnValidity(
        kind=kind.value,
        invalid_rows=int(unseen.sum()),
        unseen_categories=len(values),
        unseen_rows=int(unseen.sum()),
        unseen_examples=[masked_value(str(v), 0) for v in values[:N_EXAMPLES]],
    )
    return {"unseen": unseen}, info


def _range_check(
    real: pd.Series, synthetic: pd.Series, kind: ColumnKind
) -> tuple[dict[str, np.ndarray], ColumnValidity]:
    is_datetime = kind is ColumnKind.DATETIME
    real_values = real.dropna()
    low, high = real_values.min(), real_values.max()
    counts = (int((real_values == low).sum()), int((real_values == high).sum()))
    present = synthetic.notna().to_numpy()
    below = present & (synthetic < low).to_numpy()
    above = present & (synthetic > high).to_numpy()
    outside = below | above
    non_integer = np.zeros(len(synthetic), dtype=bool)
    integral = None
    if not is_datetime:
        real_array = real_values.to_numpy(dtype=float)
        integral = bool(np.all(np.abs(real_array - np.round(real_array)) <= INTEGER_TOLERANCE))
        if integral:
            values = np.nan_to_num(synthetic.to_numpy(dtype=float))
            gap = np.abs(values - np.round(values))
            non_integer = present & (gap > INTEGER_TOLERANCE * np.maximum(1.0, np.abs(values)))
    info = ColumnValidity(
        kind=kind.value,
        invalid_rows=int((outside | non_integer).sum()),
        below_min_rows=int(below.sum()),
        above_max_rows=int(above.sum()),
        non_integer_rows=int(non_integer.sum()),
        real_min=_bound_text(low, counts[0]),
        real_max=_bound_text(high, counts[1]),
        integral=integral,
    )
    return {"out_of_range": outside, "non_integer": non_integer}, info


@register_metric
class Validity(Metric):
    """Share of synthetic rows with at least one value outside the real domain: a category that
    never occurs in real, a number or date below the real minimum or above the real maximum, a
    non-integer in a column whose real values are all integers. Missing values are not invalid
    (``fidelity.missingness`` judges them); identifier and free-text columns are not checked.

    Range [0, 1]; lower is better; 0 when every synthetic value lies in the real domain.
    ``ci`` is the 95 % Wilson interval of that share (a small synthetic table is a noisy sample).
    ``per_column`` holds each column's invalid share; ``details.columns`` the counts behind it,
    with the real range masked like every rare value (``qaharness.masking``). The holdout baseline
    is the share of fresh real rows outside the training data's domain: the noise floor.
    """

    id = "fidelity.validity"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    conformance_defect = "out_of_domain"
    has_baseline = True
    baseline_at_synthetic_size = False  # calibrated on the whole holdout (benchmarks/calibrate_validity.py)
    description = "Share of synthetic rows with a value the real data never has: unseen category, out of range."
    Details = ValidityDetails

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        columns = data.columns()
        if not columns:
            return self.skipped("no distribution column to check")
        n_rows = len(data.synthetic)
        rows = {reason: np.zeros(n_rows, dtype=bool) for reason in ("unseen", "out_of_range", "non_integer")}
        per_column: dict[str, float] = {}
        infos: dict[str, ColumnValidity] = {}
        for column in columns:
            kind = data.schema[column]
            check = _range_check if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME) else _category_check
            masks, info = check(data.real[column], data.synthetic[column], kind)
            for reason, mask in masks.items():
                rows[reason] |= mask
            per_column[column] = info.invalid_rows / n_rows
            infos[column] = info
        worst, worst_share = self.worst(per_column)
        invalid_rows = int((rows["unseen"] | rows["out_of_range"] | rows["non_integer"]).sum())
        value = invalid_rows / n_rows
        message = (
            f"{invalid_rows:,} of {n_rows:,} synthetic rows hold a value outside the real domain; "
            f"worst column {worst} ({worst_share:.2%})"
            if invalid_rows
            else ""
        )
        return self.result(
            value,
            ci=wilson_interval(invalid_rows, n_rows),
            ci_level=0.95,
            per_column=per_column,
            message=message,
            details={
                "invalid_rows": invalid_rows,
                "n_synthetic": n_rows,
                "mean": float(np.mean(list(per_column.values()))),
                "worst_column": worst if invalid_rows else None,
                **{f"{reason}_share": float(mask.sum()) / n_rows for reason, mask in rows.items()},
                "columns": infos,
            },
        )
