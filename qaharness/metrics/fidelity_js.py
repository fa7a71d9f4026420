"""fidelity.js — Jensen–Shannon distance (base 2) of each column's category or value frequencies."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..stats import js_distance
from ._base import Metric, RunContext, register_metric
from ._common import DISCRETE_MAX_VALUES, N_BINS, PerColumnDetails, frequency_vectors


@register_metric
class JensenShannon(Metric):
    """Jensen–Shannon distance, base 2, between real and synthetic frequencies per column.

    Categorical and boolean columns use their categories; numeric and datetime columns with at
    most 20 distinct real values (counts, codes, ratings) are compared value by value; other
    numeric and datetime columns on 20 bins at the real quantiles. Missing values always count as
    a category of their own. Range [0, 1]; lower is better; ``value`` is the worst column.
    Reference: ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` on those counts. Computed
    from the summaries (value and category counts), so it is exact under every engine.
    """

    class Details(PerColumnDetails):
        numeric_bins: int = Field(description="real-quantile bins of a numeric column with many distinct values")
        discrete_max_values: int = Field(description="numeric columns with at most this many values: per value")
        encodings: dict[str, Literal["categories", "values", "quantile_bins"]] = Field(
            description="how each column was made discrete"
        )

    id = "fidelity.js"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    conformance_defect = "collapse"
    has_baseline = True
    baseline_scaling = "root_n"
    description = "How different the real and synthetic frequency of each category (or value bin) is."
    summary_based = True

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        per_column, encodings = {}, {}
        for column in data.columns():
            p, q, encodings[column] = frequency_vectors(data, column, N_BINS, DISCRETE_MAX_VALUES)
            per_column[column] = js_distance(p, q)
        if not per_column:
            return self.skipped("no categorical, boolean, numeric or datetime column")
        return self.per_column_result(
            per_column, numeric_bins=N_BINS, discrete_max_values=DISCRETE_MAX_VALUES, encodings=encodings
        )
