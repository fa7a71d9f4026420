"""fidelity.js — Jensen–Shannon distance (base 2) of each column's category frequencies."""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..stats import js_distance
from ._base import Metric, RunContext, register_metric
from ._common import frequency_vectors

N_BINS = 20


@register_metric
class JensenShannon(Metric):
    """Jensen–Shannon distance, base 2, between real and synthetic frequencies per column.

    Categorical and boolean columns use their categories, missing counted as a category of its
    own; numeric and datetime columns are binned on 20 quantiles of the real data (missing its own
    bin). Range [0, 1]; lower is better; ``value`` is the worst column.
    Reference: ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
    """

    id = "fidelity.js"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    has_baseline = True
    description = "How different the real and synthetic frequency of each category (or value bin) is."
    summary_based = True

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        per_column = {}
        for column in data.columns():
            p, q = frequency_vectors(data, column, N_BINS)
            per_column[column] = js_distance(p, q)
        if not per_column:
            return self.skipped("no categorical, boolean, numeric or datetime column")
        return self.per_column_result(per_column, numeric_bins=N_BINS)
