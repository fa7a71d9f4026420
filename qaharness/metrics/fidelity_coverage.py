"""fidelity.coverage — how much of the real categories and ranges synthetic covers."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..summaries import ValueCounts
from ._base import Metric, RunContext, register_metric
from ._common import PerColumnDetails


def _range_coverage(real: ValueCounts, synthetic: ValueCounts) -> float:
    low, high = float(real.values[0]), float(real.values[-1])
    if synthetic.n == 0:
        return 0.0
    if high == low:
        return 1.0 if np.any(synthetic.values == low) else 0.0
    covered = min(high, float(synthetic.values[-1])) - max(low, float(synthetic.values[0]))
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
    summary_based = True

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        per_column, missed = {}, {}
        summaries = data.summaries()
        for column in data.columns():
            kind = data.schema[column]
            if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
                per_column[column] = _range_coverage(
                    summaries.value_counts(column, "real"), summaries.value_counts(column, "synthetic")
                )
                continue
            real = summaries.category_counts(column, "real").present()
            synthetic = summaries.category_counts(column, "synthetic").present()
            per_column[column] = len(real & synthetic) / len(real)
            missed[column] = len(real - synthetic)
        if not per_column:
            return self.skipped("no distribution column")
        return self.per_column_result(per_column, categories_missing=missed)
