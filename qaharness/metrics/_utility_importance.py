"""Feature importances and the leakage guard for the utility pillar.

* ``importances(fit, side)`` — permutation importance on the holdout (the drop in the
  headline score when one feature's values are shuffled, mean of ``PERM_REPEATS`` shuffles;
  Breiman 2001, scikit-learn's ``permutation_importance``) and XGBoost's total gain.
  Permutations and the holdout sample (at most ``PERM_MAX_ROWS`` rows) come from
  ``model_seed``, so the real- and the synthetic-trained model are probed with exactly the
  same shuffles; one stacked prediction per feature keeps memory at rows × repeats.
* ``leakage(fit)`` — for each feature alone, a lookup model fitted on real (the target's
  rate/mean per category, or per one of 100 real-quantile bins) scored on the holdout:
  ROC-AUC (binary), balanced accuracy (multiclass) or R² (regression). A feature at or
  above ``LEAK_THRESHOLD`` predicts the target almost perfectly by itself — typically a
  post-outcome column that should not be a feature (model-development guidance).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._utility_scores import HEADLINE, prepared_auc, prepared_r2, prepared_scores

if TYPE_CHECKING:
    from ._utility import UtilityFit

__all__ = ["importances", "leakage", "PERM_MAX_ROWS", "PERM_REPEATS", "LEAK_THRESHOLD"]

#: holdout rows and shuffles per feature: more of both shrink the chance importances of a model with no
#: skill (a shuffled target's agreement on 2,000 Adult rows fell from 0.42-0.58 at 1,000 × 2 to 0.32-0.41)
PERM_MAX_ROWS = 2_000
PERM_REPEATS = 5
LEAK_THRESHOLD = 0.99
LEAK_BINS = 100


def _perm_plan(fit: UtilityFit) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    def make():
        rng = np.random.default_rng([fit.model_seed, 2])
        n = fit.y["holdout"].size
        rows = np.sort(rng.choice(n, PERM_MAX_ROWS, replace=False)) if n > PERM_MAX_ROWS else np.arange(n)
        shuffles = [[rng.permutation(rows.size) for _ in range(PERM_REPEATS)] for _ in fit.encoder.features]
        return rows, shuffles

    return fit._once(("perm_plan",), make)


def importances(fit: UtilityFit, side: str) -> dict[str, np.ndarray]:
    """{"permutation": mean headline drop per feature, "gain": total gain per feature}."""

    def make() -> dict[str, np.ndarray]:
        rows, shuffles = _perm_plan(fit)
        x, y = fit.x["holdout"][rows], fit.y["holdout"][rows]
        name = HEADLINE[fit.task]

        def score(block: np.ndarray) -> float:
            return prepared_scores(fit.task, y, block, fit.k)[name](None)

        base = score(fit.predict(side, "holdout", x=x))
        drops = np.empty((len(shuffles), PERM_REPEATS))
        for j, repeats in enumerate(shuffles):  # one prediction per feature: every shuffle of it stacked
            copies = []
            for order in repeats:
                shuffled = x.copy()
                shuffled[:, j] = x[order, j]
                copies.append(shuffled)
            predictions = np.split(fit.predict(side, "holdout", x=np.concatenate(copies)), len(copies))
            drops[j] = [base - score(block) for block in predictions]
        finite = np.isfinite(drops)  # a shuffle can leave the score undefined (e.g. R² of a constant)
        counts = finite.sum(axis=1)
        permutation = np.where(counts > 0, np.where(finite, drops, 0.0).sum(axis=1) / np.maximum(counts, 1), 0.0)
        gains = fit.booster(side).get_score(importance_type="total_gain")
        gain = np.array([_number(gains.get(f"f{j}", 0.0)) for j in range(len(fit.encoder.features))])
        return {"permutation": permutation, "gain": gain}

    return fit._once(("importances", side), make)


def _number(value: float | list[float]) -> float:
    """XGBoost's score: one number per feature (a list only for vector leaves, which we never fit)."""
    return float(sum(value)) if isinstance(value, list) else float(value)


def _feature_codes(fit: UtilityFit, j: int) -> tuple[np.ndarray, np.ndarray, int]:
    real, holdout = fit.x["real"][:, j].astype(float), fit.x["holdout"][:, j].astype(float)
    column = fit.encoder.features[j]
    if fit.encoder._numeric(column):
        finite = real[~np.isnan(real)]
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, LEAK_BINS + 1)[1:-1])) if finite.size else np.array([])

        def codes(v: np.ndarray) -> np.ndarray:
            out = np.searchsorted(edges, v, side="right")
            out[np.isnan(v)] = edges.size + 1
            return out

        return codes(real), codes(holdout), edges.size + 2
    n = len(fit.encoder.categories[column]) + 2  # categories, pooled other, missing
    fill = lambda v: np.where(np.isnan(v), n - 1, v).astype(np.int64)  # noqa: E731
    return fill(real), fill(holdout), n


def _single_feature_score(fit: UtilityFit, j: int) -> float:
    real_codes, holdout_codes, n = _feature_codes(fit, j)
    y_real, y_holdout = fit.y["real"], fit.y["holdout"]
    counts = np.bincount(real_codes, minlength=n).astype(float)
    if fit.task == "regression":
        sums = np.bincount(real_codes, weights=y_real, minlength=n)
        means = np.where(counts > 0, sums / np.maximum(counts, 1), y_real.mean())
        return prepared_r2(y_holdout, means[holdout_codes])(None)
    table = np.zeros((n, fit.k))
    np.add.at(table, (real_codes, y_real), 1.0)
    prior = np.bincount(y_real, minlength=fit.k) / y_real.size
    rates = (table + prior) / (counts[:, None] + 1.0)  # one pseudo-row of the prior per code
    if fit.task == "binary":
        return prepared_auc(y_holdout, rates[holdout_codes, 1])(None)
    predicted = np.argmax(rates[holdout_codes], axis=1)
    recalls = [np.mean(predicted[y_holdout == c] == c) for c in np.unique(y_holdout)]
    return float(np.mean(recalls))


def leakage(fit: UtilityFit, threshold: float = LEAK_THRESHOLD) -> list[dict[str, float | str]]:
    """Features that alone predict the target almost perfectly (real → holdout), best first."""

    def make() -> list[dict[str, float | str]]:
        if fit.y["holdout"].size < 2 or (fit.classes and np.unique(fit.y["holdout"]).size < 2):
            return []
        score_name = {"binary": "roc_auc", "multiclass": "balanced_accuracy", "regression": "r2"}[fit.task]
        found: list[dict[str, float | str]] = []
        for j, column in enumerate(fit.encoder.features):
            value = _single_feature_score(fit, j)
            if np.isfinite(value) and value >= threshold:
                found.append({"column": column, score_name: round(float(value), 4)})
        return sorted(found, key=lambda d: -float(d[score_name]))

    return fit._once(("leakage", threshold), make)
