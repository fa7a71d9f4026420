"""fidelity.ks — two-sample Kolmogorov–Smirnov statistic per numeric and datetime column."""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import ks_statistic
from ._base import Metric, register_metric
from ._common import numeric_values


@register_metric
class KolmogorovSmirnov(Metric):
    """sup |F_real − F_synthetic| on the non-missing values of each numeric/datetime column.

    Range [0, 1]; lower is better. ``value`` is the worst column, ``details.mean`` the mean.
    Reference: ``scipy.stats.ks_2samp(real, synthetic).statistic``.
    """

    id = "fidelity.ks"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    has_baseline = True
    description = "Largest gap between the real and synthetic cumulative distributions of a numeric column."

    def compute(self, data: EvalInput, *, rng: np.random.Generator) -> MetricResult:
        per_column, skipped = {}, {}
        for column in data.columns(ColumnKind.NUMERIC, ColumnKind.DATETIME):
            real = numeric_values(data.real[column])
            synthetic = numeric_values(data.synthetic[column])
            if synthetic.size == 0:
                skipped[column] = "synthetic column is all missing"
                continue
            per_column[column] = ks_statistic(real, synthetic)
        if not per_column:
            return self.skipped("no numeric or datetime column with values on both sides",
                                details={"skipped_columns": skipped})
        worst, value = self.worst(per_column)
        return self.result(value, per_column=per_column, details={
            "mean": float(np.mean(list(per_column.values()))), "worst_column": worst,
            "skipped_columns": skipped})
