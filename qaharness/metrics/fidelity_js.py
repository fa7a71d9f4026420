"""fidelity.js — Jensen–Shannon distance (base 2) of each column's category or value frequencies."""

from __future__ import annotations

from functools import partial
from typing import Literal

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import js_distance
from ._base import Metric, RunContext, register_metric
from ._common import DISCRETE_MAX_VALUES, N_BINS, Codebook, PerColumnDetails, codebook


def _real_side(kind: ColumnKind, data: EvalInput, column: str) -> tuple[Codebook, np.ndarray]:
    book = codebook(kind, data.real[column])
    return book, np.bincount(book.real_codes, minlength=book.n_codes)


@register_metric
class JensenShannon(Metric):
    """Jensen–Shannon distance, base 2, between real and synthetic frequencies per column.

    Categorical and boolean columns use their categories; numeric and datetime columns with at
    most 20 distinct real values (counts, codes, ratings) are compared value by value; other
    numeric and datetime columns on 20 bins at the real quantiles. Missing values always count as
    a category of their own. Range [0, 1]; lower is better; ``value`` is the worst column.
    Reference: ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` on those counts.
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

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        per_column, encodings = {}, {}
        for column in data.columns():
            kind = data.schema[column]
            # the real side depends on the real table alone: the baseline's draws share it
            book, real_counts = ctx.cached(data.real, ("js.codebook", column), partial(_real_side, kind, data, column))
            synthetic = np.bincount(book.encode(data.synthetic[column]), minlength=book.n_codes)
            per_column[column], encodings[column] = js_distance(real_counts, synthetic), book.encoding
        if not per_column:
            return self.skipped("no categorical, boolean, numeric or datetime column")
        return self.per_column_result(
            per_column, numeric_bins=N_BINS, discrete_max_values=DISCRETE_MAX_VALUES, encodings=encodings
        )
