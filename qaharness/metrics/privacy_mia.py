"""privacy.mia — membership inference: can an attacker holding the synthetic data tell training rows
from unseen ones?"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from sklearn.metrics import roc_curve

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..stats import roc_auc
from ._base import Metric, MetricParams, RunContext, register_metric
from ._nn import ENCODING, MixedEncoder, knn, sample_indices

MAX_CANDIDATES = 1_000  # per class
MAX_REFERENCE = 100_000
N_BOOT = 200
_EPS = 1e-6


def _attack_scores(
    encoder: MixedEncoder, data: EvalInput, rng: np.random.Generator, n_per_class: int, max_reference: int
) -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
    """Labels (1 = member) and each attack's scores (higher = 'member')."""
    order = rng.permutation(len(data.holdout))
    non_members = data.holdout.iloc[np.sort(order[:n_per_class])]
    reference = data.holdout.iloc[np.sort(order[n_per_class:][:max_reference])]
    members = data.real.iloc[sample_indices(len(data.real), n_per_class, rng)]
    synthetic = data.synthetic.iloc[sample_indices(len(data.synthetic), max_reference, rng)]
    candidates = np.vstack([encoder.transform(members), encoder.transform(non_members)])
    to_synthetic = knn(candidates, encoder.transform(synthetic), 1)[0][:, 0]
    to_reference = knn(candidates, encoder.transform(reference), 1)[0][:, 0]
    labels = np.r_[np.ones(len(members), dtype=int), np.zeros(len(non_members), dtype=int)]
    scores = {
        "distance": -to_synthetic,
        "density_ratio": np.log(to_reference + _EPS) - np.log(to_synthetic + _EPS),
    }
    sizes = {
        "members": len(members),
        "non_members": len(non_members),
        "reference_rows": len(reference),
        "synthetic_rows_used": len(synthetic),
    }
    return labels, scores, sizes


def _weighted_auc(pos: np.ndarray, neg_sorted: np.ndarray, w_pos: np.ndarray, w_neg: np.ndarray) -> np.ndarray:
    """AUCs of many resamples at once: row r weights positives by w_pos[r], sorted negatives by w_neg[r]."""
    lo = np.searchsorted(neg_sorted, pos, "left")
    hi = np.searchsorted(neg_sorted, pos, "right")
    cum = np.concatenate([np.zeros((w_neg.shape[0], 1)), np.cumsum(w_neg, axis=1)], axis=1)
    wins = cum[:, lo] + 0.5 * (cum[:, hi] - cum[:, lo])
    return (w_pos * wins).sum(axis=1) / (w_pos.sum(axis=1) * w_neg.sum(axis=1))


def _bootstrap_max_auc(
    labels: np.ndarray, scores: dict[str, np.ndarray], rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile CI of the best attack's AUC, resampling members and non-members separately."""
    n_pos, n_neg = int((labels == 1).sum()), int((labels == 0).sum())
    w_pos = np.stack([np.bincount(rng.integers(0, n_pos, n_pos), minlength=n_pos) for _ in range(N_BOOT)])
    w_neg = np.stack([np.bincount(rng.integers(0, n_neg, n_neg), minlength=n_neg) for _ in range(N_BOOT)])
    best = np.full(N_BOOT, -np.inf)
    for score in scores.values():
        neg = score[labels == 0]
        order = np.argsort(neg, kind="stable")
        best = np.maximum(best, _weighted_auc(score[labels == 1], neg[order], w_pos, w_neg[:, order]))
    return float(np.quantile(best, 0.025)), float(np.quantile(best, 0.975))


@register_metric
class MembershipInference(Metric):
    """ROC-AUC of the stronger of two membership-inference attacks that hold the synthetic data.

    Candidates: training rows (members) and holdout rows (non-members), balanced, at most 1,000
    each. Attacks: (1) distance — a candidate closer to its nearest synthetic row is more likely a
    member; (2) DOMIAS-style density ratio (van Breugel et al., 2023) — log p_synthetic(x) /
    p_reference(x), densities from nearest-neighbour distances, reference = the other holdout rows.
    Distances as ``_nn.ENCODING``. Range [0, 1]; 0.5 (chance) is ideal, higher is worse.
    95% CI: stratified bootstrap (200 resamples) of the maximum of both AUCs. Details per attack:
    AUC, advantage (max TPR − FPR) and TPR at 1% FPR.
    """

    class Params(MetricParams):
        max_candidates: int = Field(MAX_CANDIDATES, ge=2, description="members and non-members, each")
        max_reference: int = Field(MAX_REFERENCE, ge=1, description="holdout reference rows for the density ratio")

    params: Params

    id = "privacy.mia"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    ideal = 0.5
    ideal_tolerance = 0.1
    requires_holdout = True
    conformance_identical_is_ideal = False
    description = "How well an attacker with the synthetic data tells training rows from unseen ones (0.5: not at all)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column to measure distances on")
        n_per_class = min(len(data.real), len(data.holdout) // 2, self.params.max_candidates)
        if n_per_class < 2:
            return self.skipped("needs at least 4 holdout rows (half candidates, half reference)")
        encoder = MixedEncoder(data.real, data.schema, data.columns())
        labels, scores, sizes = _attack_scores(encoder, data, rng, n_per_class, self.params.max_reference)
        attacks, curves = {}, {}
        for name, score in scores.items():
            fpr, tpr, _ = roc_curve(labels, score)
            curves[name] = _thin_curve(fpr, tpr)
            attacks[name] = {
                "auc": roc_auc(labels, score),
                "advantage": float(np.max(tpr - fpr)),
                "tpr_at_1pct_fpr": float(np.max(tpr[fpr <= 0.01], initial=0.0)),
            }
        best = max(attacks, key=lambda name: attacks[name]["auc"])
        return self.result(
            attacks[best]["auc"],
            ci=_bootstrap_max_auc(labels, scores, rng),
            ci_level=0.95,
            details={
                "best_attack": best,
                "attacks": attacks,
                **sizes,
                "encoding": ENCODING,
                "advantage": attacks[best]["advantage"],
                "tpr_at_1pct_fpr": attacks[best]["tpr_at_1pct_fpr"],
                "bootstrap_resamples": N_BOOT,
                "roc": curves[best],
            },
        )


def _thin_curve(fpr: np.ndarray, tpr: np.ndarray, points: int = 200) -> dict[str, list[float]]:
    """The ROC curve at most ``points`` points long (for the report's plot); the ends are kept."""
    keep = np.unique(np.linspace(0, fpr.size - 1, min(points, fpr.size)).round().astype(int))
    return {"fpr": [round(float(v), 5) for v in fpr[keep]], "tpr": [round(float(v), 5) for v in tpr[keep]]}
