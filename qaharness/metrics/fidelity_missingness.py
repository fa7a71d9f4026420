"""fidelity.missingness — difference of the missing-value rate per column."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._common import PerColumnDetails


@register_metric
class Missingness(Metric):
    """|missing rate in real − missing rate in synthetic| per column (every kind).

    Range [0, 1]; lower is better; ``value`` is the worst column.
    """

    class Details(PerColumnDetails):
        real_rate: dict[str, float] = Field(description="share of missing values per column in real")
        synthetic_rate: dict[str, float] = Field(description="share of missing values per column in synthetic")

    id = "fidelity.missingness"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    conformance_defect = "missing"
    has_baseline = True
    baseline_scaling = "root_n"
    description = "Whether values are missing as often in the synthetic data as in the real data."
    summary_based = True
    reads_value_counts = False

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        summaries = data.summaries()
        real_missing, synthetic_missing = summaries.missing_counts("real"), summaries.missing_counts("synthetic")
        n_real, n_synthetic = summaries.n_rows("real"), summaries.n_rows("synthetic")
        real_rate = {c: real_missing[c] / n_real for c in data.schema}
        synthetic_rate = {c: synthetic_missing[c] / n_synthetic for c in data.schema}
        per_column = {c: float(abs(real_rate[c] - synthetic_rate[c])) for c in data.schema}
        return self.per_column_result(
            per_column,
            real_rate={c: float(real_rate[c]) for c in data.schema},
            synthetic_rate={c: float(synthetic_rate[c]) for c in data.schema},
        )
