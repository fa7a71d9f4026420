"""utility.tstr_ratio — TSTR / TRTR: the share of the real data's utility the synthetic data keeps."""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityError, UtilityParams, describe, get_fit, n_boot, preconditions, warnings_for
from ._utility_scores import HEADLINE, weighted_bootstrap_ci


@register_metric
class TstrRatio(Metric):
    """Headline score of the synthetic-trained model over that of the real-trained one, both on the holdout.

    1 means the synthetic data is as useful as the real data for this task (the usual bar
    is ≥ 0.9); above 1 is possible by chance. Range: unbounded (typically [0, ~1.1]); for
    regression R² can be negative, so the ratio can be too. Higher is better. Undefined (status error)
    when the real-trained model has no skill (headline ≤ 0). 95% CI from a paired bootstrap of the holdout rows (both
    models scored on the same resample). Identical inputs give exactly 1.
    """

    Params = UtilityParams
    params: UtilityParams

    id = "utility.tstr_ratio"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (None, None)
    ideal = 1.0
    ideal_tolerance = 1e-9
    requires_holdout = True
    requires_target = True
    description = "The share of the real data's predictive utility the synthetic data keeps (1 = all of it)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        skip = preconditions(self, data)
        if skip is not None:
            return skip
        try:
            fit = get_fit(data, self.params, ctx)
            fit.check_testable("holdout")
            real, synthetic = fit.headline_score("real", "holdout"), fit.headline_score("synthetic", "holdout")
            boots = n_boot(self)
        except UtilityError as exc:
            return self.error(str(exc))
        trtr, tstr = real(None), synthetic(None)
        name = HEADLINE[fit.task]
        if not (np.isfinite(trtr) and np.isfinite(tstr)):
            return self.error(f"{name} is undefined on the holdout rows")
        if trtr <= 0:
            return self.error(f"the real-trained model has no skill ({name} {trtr:.3g} ≤ 0); the ratio is undefined")

        def ratio(weights: np.ndarray | None) -> float:
            base = real(weights)
            return synthetic(weights) / base if base > 0 else float("nan")

        ci = weighted_bootstrap_ci(ratio, fit.y["holdout"].size, rng, n_boot=boots) if boots else None
        details = {**describe(fit), "trtr": trtr, "tstr": tstr, "n_boot": boots, "bar": 0.9}
        return self.result(
            tstr / trtr,
            ci=ci,
            ci_level=0.95 if ci else None,
            details=details,
            message="; ".join(warnings_for(fit, synthetic=True)),
        )
