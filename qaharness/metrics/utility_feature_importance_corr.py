"""utility.feature_importance_corr — do real- and synthetic-trained models rely on the same features?"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityError, UtilityParams, describe, get_fit, preconditions, warnings_for
from ._utility_importance import PERM_MAX_ROWS, PERM_REPEATS, importances


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


@register_metric
class FeatureImportanceCorrelation(Metric):
    """Spearman rank correlation between the feature importances of the real- and the
    synthetic-trained XGBoost models.

    Importance is permutation importance on the holdout (drop of the headline score when
    a feature is shuffled; at most 1,000 holdout rows, 2 shuffles, the same shuffles for
    both models); XGBoost's total gain is a second view (``details.spearman_gain``).
    Per-feature importances of both models are in ``details`` for side-by-side plots.
    Range [−1, 1]; higher is better; identical inputs give 1. Reference: permutation
    importance, Breiman 2001; scikit-learn ``permutation_importance``.
    """

    Params = UtilityParams
    params: UtilityParams

    id = "utility.feature_importance_corr"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (-1.0, 1.0)
    ideal_tolerance = 1e-9
    requires_holdout = True
    requires_target = True
    description = "Whether models trained on synthetic and on real data rely on the same features (1 = same order)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        skip = preconditions(self, data)
        if skip is not None:
            return skip
        try:
            fit = get_fit(data, self.params, ctx)
            fit.check_testable("holdout")
            real, synthetic = importances(fit, "real"), importances(fit, "synthetic")
        except UtilityError as exc:
            return self.error(str(exc))
        features = fit.encoder.features
        if len(features) < 2:
            return self.skipped(f"needs at least two features to rank; have {len(features)}")
        if np.ptp(real["permutation"]) == 0:
            return self.skipped("the real-trained model's permutation importances are all equal: nothing to rank")
        value = _spearman(real["permutation"], synthetic["permutation"])
        messages = warnings_for(fit, synthetic=True)
        if not np.isfinite(value):  # the synthetic-trained model relies on no feature at all
            value = 0.0
            messages.insert(
                0,
                "the synthetic-trained model's permutation importances are all equal (it relies "
                "on no feature); correlation set to 0",
            )
        details = {
            **describe(fit),
            "importance": "permutation",
            "spearman_gain": _nan_free(_spearman(real["gain"], synthetic["gain"])),
            "perm_max_rows": PERM_MAX_ROWS,
            "perm_repeats": PERM_REPEATS,
            "importances": {
                "feature": list(features),
                "permutation_real": real["permutation"].tolist(),
                "permutation_synthetic": synthetic["permutation"].tolist(),
                "gain_real": real["gain"].tolist(),
                "gain_synthetic": synthetic["gain"].tolist(),
            },
        }
        return self.result(value, details=details, message="; ".join(messages))


def _nan_free(value: float) -> float | None:
    return value if np.isfinite(value) else None
