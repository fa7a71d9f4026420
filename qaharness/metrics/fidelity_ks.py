"""fidelity.ks — two-sample Kolmogorov–Smirnov statistic per numeric and datetime column."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import ks_from_counts
from ._base import Metric, RunContext, register_metric
from ._common import PerColumnDetails, numeric_count_pairs


@register_metric
class KolmogorovSmirnov(Metric):
    """sup |F_real − F_synthetic| on the non-missing values of each numeric/datetime column.

    Range [0, 1]; lower is better. ``value`` is the worst column, ``details.mean`` the mean.
    Reference: ``scipy.stats.ks_2samp(real, synthetic).statistic``. Computed from each side's sorted
    distinct values and counts (``data.summaries()``), so it is exact under every engine.
    """

    class Details(PerColumnDetails):
        skipped_columns: dict[str, str] = Field(description="numeric columns left out, with the reason")

    id = "fidelity.ks"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    conformance_defect = "collapse"
    has_baseline = True
    baseline_scaling = "root_n"
    description = "Largest gap between the real and synthetic cumulative distributions of a numeric column."
    summary_based = True

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns(ColumnKind.NUMERIC, ColumnKind.DATETIME):  # nothing to judge
            return self.not_applicable("the tables have no numeric or datetime column")
        skipped: dict[str, str] = {}
        per_column = {
            c: ks_from_counts(*real.pair, *synthetic.pair) for c, real, synthetic in numeric_count_pairs(data, skipped)
        }
        if not per_column:
            return self.skipped(
                "no numeric or datetime column with values on both sides", details={"skipped_columns": skipped}
            )
        return self.per_column_result(per_column, skipped_columns=skipped)
