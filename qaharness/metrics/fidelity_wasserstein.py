"""fidelity.wasserstein — earth mover's distance per numeric column, scaled by the real IQR."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import quantiles_from_counts, std_from_counts, wasserstein_from_counts
from ..summaries import ValueCounts
from ._base import Metric, RunContext, register_metric, require_finite
from ._common import PerColumnDetails, numeric_count_pairs


def _scale(real: ValueCounts) -> tuple[float, str]:
    q75, q25 = quantiles_from_counts(real.values, real.counts, [0.75, 0.25])
    if q75 > q25:
        return float(q75 - q25), "iqr"
    std = std_from_counts(real.values, real.counts)
    if std > 0:
        return std, "std"
    return 1.0, "none (constant column)"


@register_metric
class Wasserstein(Metric):
    """First Wasserstein distance between real and synthetic values, divided by the real IQR.

    Where the IQR is 0 (spiky columns) the standard deviation scales instead. Range [0, ∞);
    lower is better; ``value`` is the worst column. Reference: ``scipy.stats.wasserstein_distance``.
    Computed from the summaries (exact under every engine). Values too large for finite arithmetic
    make the metric an error naming the column.
    """

    class Details(PerColumnDetails):
        scaled_by: dict[str, str] = Field(description="per column: iqr, std, or none (constant column)")
        skipped_columns: dict[str, str] = Field(description="numeric columns left out, with the reason")

    id = "fidelity.wasserstein"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, None)
    conformance_defect = "collapse"
    has_baseline = True
    baseline_scaling = "root_n"
    description = "How far values must move to turn the synthetic distribution into the real one, in IQRs."
    summary_based = True

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns(ColumnKind.NUMERIC, ColumnKind.DATETIME):  # nothing to judge
            return self.not_applicable("the tables have no numeric or datetime column")
        per_column: dict[str, float] = {}
        scales: dict[str, str] = {}
        skipped: dict[str, str] = {}
        for column, real, synthetic in numeric_count_pairs(data, skipped):
            with np.errstate(over="ignore", invalid="ignore"):
                scale, scales[column] = _scale(real)
                distance = wasserstein_from_counts(*real.pair, *synthetic.pair)
            require_finite({column: scale * distance}, "the scaled earth mover's distance")
            per_column[column] = distance / scale
        if not per_column:
            return self.skipped(
                "no numeric or datetime column with values on both sides", details={"skipped_columns": skipped}
            )
        return self.per_column_result(per_column, scaled_by=scales, skipped_columns=skipped)
