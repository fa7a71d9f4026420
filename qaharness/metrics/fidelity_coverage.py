"""fidelity.coverage — how much of the real categories and ranges synthetic covers."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ._base import Metric, RunContext, register_metric
from ._common import PerColumnDetails, numeric_values


def _categories(series: pd.Series) -> set:
    return set(series.dropna().unique())


def _range_coverage(real: np.ndarray, synthetic: np.ndarray) -> float:
    low, high = float(real.min()), float(real.max())
    if synthetic.size == 0:
        return 0.0
    if high == low:
        return 1.0 if np.any(synthetic == low) else 0.0
    covered = min(high, float(synthetic.max())) - max(low, float(synthetic.min()))
    return float(np.clip(covered / (high - low), 0.0, 1.0))


@register_metric
class Coverage(Metric):
    """Share of the real categories present in synthetic (categorical, boolean) and share of the
    real [min, max] range that the synthetic range overlaps (numeric, datetime).

    Range [0, 1]; higher is better; ``value`` is the worst column. Missing values are ignored.
    """

    class Details(PerColumnDetails):
        categories_missing: dict[str, int] = Field(
            description="per categorical column: how many real categories synthetic never shows"
        )

    id = "fidelity.coverage"
    family = Family.FIDELITY
    goal = Goal.MAXIMIZE
    bounds = (0.0, 1.0)
    conformance_defect = "collapse"
    has_baseline = True
    description = "Whether the synthetic data reaches every real category and the whole real value range."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        per_column, missed = {}, {}
        for column in data.columns():
            kind = data.schema[column]
            if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
                per_column[column] = _range_coverage(
                    numeric_values(data.real[column]), numeric_values(data.synthetic[column])
                )
                continue
            real = ctx.cached(data.real, ("coverage.categories", column), partial(_categories, data.real[column]))
            synthetic = set(data.synthetic[column].dropna().unique())
            per_column[column] = len(real & synthetic) / len(real)
            missed[column] = len(real - synthetic)
        if not per_column:
            return self.skipped("no distribution column")
        return self.per_column_result(per_column, categories_missing=missed)
