"""utility.feature_importance_corr — do real- and synthetic-trained models rely on the same features?"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field
from scipy import stats

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, RunContext, register_metric
from ._utility import UtilityError, UtilityParams, get_fit
from ._utility_importance import PERM_MAX_ROWS, PERM_REPEATS, importances
from ._utility_results import (
    UtilityDetails,
    barely_beats_chance,
    describe,
    dropped_notes,
    preconditions,
    real_skill,
    warnings_for,
)


def _positive(values: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(values, dtype=float), 0.0, None)


def importance_agreement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Σ min(r_i, s_i) / Σ r_i over importances clipped at 0: the share of the real model's
    importance that the synthetic model reproduces, feature by feature.

    A feature neither model relies on weighs nearly nothing, however many there are; a synthetic
    model with no skill (all importances near 0) reproduces nothing; a larger importance than the
    real model's counts only up to the real one.
    """
    r, s = _positive(real), _positive(synthetic)
    if r.sum() <= 0:
        raise ValueError("the real model relies on no feature")
    return float(np.minimum(r, s).sum() / r.sum())


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    value = float(stats.spearmanr(a, b).statistic)
    return value if np.isfinite(value) else None


@register_metric
class FeatureImportanceCorrelation(Metric):
    """Agreement of the feature importances of the real- and the synthetic-trained XGBoost models,
    weighted by importance: Σ min(r_i, s_i) / Σ r_i over their permutation importances clipped at 0 —
    the share of the real model's importance that the synthetic model reproduces, feature by feature.

    Importance is permutation importance on the holdout (drop of the headline score when a feature
    is shuffled; at most 2,000 holdout rows, 5 shuffles, the same shuffles for both models; the real
    model is the size-matched one of ``utility.trtr``). Unlike a rank correlation over all features,
    features neither model relies on carry no weight, so noise columns cannot make a shuffled target
    agree, and a synthetic model with no skill reproduces none of the real importance. The plain
    Spearman correlations of permutation importance and XGBoost's total gain
    are in ``details.spearman`` / ``details.spearman_gain``; per-feature importances for side-by-side
    plots in ``details.importances``. When the real model barely beats chance there is nothing to
    agree with: ``skipped`` with ``details.insufficient_evidence``. Range [0, 1]; higher is better;
    identical inputs give 1. Reference: permutation importance, Breiman 2001; scikit-learn
    ``permutation_importance``.
    """

    class Details(UtilityDetails):
        importance: Literal["permutation"] = Field(description="the importance compared")
        weighting: str = Field(description="how the agreement weighs features")
        spearman: float | None = Field(description="Spearman correlation of the permutation importances")
        spearman_gain: float | None = Field(description="Spearman correlation of XGBoost's total gain")
        perm_max_rows: int = Field(ge=1, description="holdout rows the permutations are scored on")
        perm_repeats: int = Field(ge=1, description="shuffles per feature")
        importances: dict[str, list[str] | list[float]] = Field(
            description="feature, permutation_real, permutation_synthetic, gain_real, gain_synthetic"
        )

    Params = UtilityParams
    params: UtilityParams

    id = "utility.feature_importance_corr"
    family = Family.UTILITY
    goal = Goal.MAXIMIZE
    bounds = (0.0, 1.0)
    ideal_tolerance = 1e-9
    conformance_defect = "shuffled_target"
    requires_holdout = True
    requires_target = True
    description = "Whether models trained on synthetic and on real data rely on the same features (1 = alike)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        skip = preconditions(self, data)
        if skip is not None:
            return skip
        try:
            fit = get_fit(data, self.params, ctx)
            fit.check_testable("holdout")
            skill = real_skill(fit)
            real, synthetic = importances(fit, "real"), importances(fit, "synthetic")
            details = describe(fit)
        except UtilityError as exc:
            return self.error(str(exc))
        features = fit.encoder.features
        if len(features) < 2:
            return self.skipped(f"needs at least two features to compare; have {len(features)}")
        if skill.barely_beats_chance:
            return barely_beats_chance(self, skill)
        if _positive(real["permutation"]).sum() <= 0:
            return self.skipped(
                "the real-trained model relies on no feature (no permutation importance above 0): nothing to compare",
                details={"insufficient_evidence": True},
            )
        value = importance_agreement(real["permutation"], synthetic["permutation"])
        messages = warnings_for(fit, synthetic=True)
        if _positive(synthetic["permutation"]).sum() <= 0:
            messages.insert(0, "the synthetic-trained model relies on no feature (no importance above 0); agreement 0")
        details.update(
            importance="permutation",
            weighting="sum of min(real, synthetic) over importances clipped at 0, divided by the real sum",
            spearman=_spearman(real["permutation"], synthetic["permutation"]),
            spearman_gain=_spearman(real["gain"], synthetic["gain"]),
            perm_max_rows=PERM_MAX_ROWS,
            perm_repeats=PERM_REPEATS,
            importances={
                "feature": list(features),
                "permutation_real": real["permutation"].tolist(),
                "permutation_synthetic": synthetic["permutation"].tolist(),
                "gain_real": real["gain"].tolist(),
                "gain_synthetic": synthetic["gain"].tolist(),
            },
        )
        return self.result(value, details=details, message="; ".join(messages), notes=dropped_notes(fit))
