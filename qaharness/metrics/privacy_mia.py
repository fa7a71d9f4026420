"""privacy.mia — membership inference: can an attacker holding the synthetic data tell training rows
from unseen ones?"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.metrics import roc_curve

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..stats import roc_auc
from ._base import Metric, MetricDetails, MetricParams, RunContext, register_metric
from ._neighbours import RealEncoding, real_encoding, synthetic_encoding
from ._nn import ENCODING, knn, sample_indices

MAX_CANDIDATES = 1_000  # per class
MAX_REFERENCE = 100_000
N_BOOT = 200
MIN_PER_CLASS = 10  # below this the AUC's interval spans most of [0, 1]
_EPS = 1e-6


def _attack_scores(
    real: RealEncoding, synthetic: np.ndarray, rng: np.random.Generator, n_per_class: int, max_reference: int
) -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
    """Labels (1 = member) and each attack's scores (higher = 'member')."""
    assert real.holdout is not None
    order = rng.permutation(real.holdout.shape[0])
    non_members = real.holdout[np.sort(order[:n_per_class])]
    reference = real.holdout[np.sort(order[n_per_class:][:max_reference])]
    members = real.train[sample_indices(real.train.shape[0], n_per_class, rng)]
    candidates = np.vstack([members, non_members])
    to_synthetic = knn(candidates, synthetic, 1)[0][:, 0]
    to_reference = knn(candidates, reference, 1)[0][:, 0]
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


class Attack(BaseModel):
    """One membership attack's performance."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    auc: float = Field(ge=0, le=1, description="ROC-AUC, members vs non-members")
    advantage: float = Field(ge=0, le=1, description="max over thresholds of TPR − FPR")
    tpr_at_1pct_fpr: float = Field(ge=0, le=1, description="true-positive rate at a 1% false-positive rate")


class Roc(BaseModel):
    """The best attack's ROC curve, thinned to at most 200 points (ends kept)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    fpr: list[float] = Field(description="false-positive rates, ascending")
    tpr: list[float] = Field(description="true-positive rates")


@register_metric
class MembershipInference(Metric):
    """ROC-AUC of the stronger of two membership-inference attacks that hold the synthetic data.

    Candidates: training rows (members) and holdout rows (non-members), balanced, at most 1,000
    each. Attacks: (1) distance — a candidate closer to its nearest synthetic row is more likely a
    member; (2) DOMIAS-style density ratio (van Breugel et al., 2023) — log p_synthetic(x) /
    p_reference(x), densities from nearest-neighbour distances, reference = the other holdout rows.
    Distances as ``_nn.ENCODING``. Range [0, 1]; 0.5 (chance) is ideal and either side is worse
    (``Goal.TARGET``: below 0.5 the attack works backwards, which an attacker can flip).
    95% CI: stratified bootstrap (200 resamples) of the maximum of both AUCs. Details per attack:
    AUC, advantage (max TPR − FPR) and TPR at 1% FPR.
    """

    class Params(MetricParams):
        max_candidates: int = Field(MAX_CANDIDATES, ge=2, description="members and non-members, each")
        max_reference: int = Field(MAX_REFERENCE, ge=1, description="holdout reference rows for the density ratio")

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        best_attack: str = Field(description="the attack with the higher AUC (the headline)")
        attacks: dict[str, Attack] = Field(description="every attack's AUC, advantage and TPR at 1% FPR")
        members: int = Field(ge=1, description="training rows among the candidates")
        non_members: int = Field(ge=1, description="holdout rows among the candidates")
        reference_rows: int = Field(ge=0, description="other holdout rows: the density-ratio reference")
        synthetic_rows_used: int = Field(ge=1, description="synthetic rows the attacks search")
        encoding: str = Field(ENCODING, description="how rows are turned into vectors for distances")
        advantage: float = Field(ge=0, le=1, description="the best attack's advantage")
        tpr_at_1pct_fpr: float = Field(ge=0, le=1, description="the best attack's TPR at 1% FPR")
        bootstrap_resamples: int = Field(ge=1, description="stratified bootstrap resamples of the CI")
        roc: Roc = Field(description="the best attack's ROC curve (for the report)")

    params: Params

    id = "privacy.mia"
    family = Family.PRIVACY
    goal = Goal.TARGET
    bounds = (0.0, 1.0)
    ideal = 0.5
    ideal_tolerance = 0.1
    requires_holdout = True
    conformance_identical_is_ideal = False
    #: the conformance suite's ideal input: synthetic = fresh real rows of the same population
    #: (honest data; synthetic = real is a full copy, the worst case)
    conformance_input = "honest"
    conformance_defect = "copy"
    description = "How well an attacker with the synthetic data tells training rows from unseen ones (0.5: not at all)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column to measure distances on")
        assert data.holdout is not None
        n_per_class = min(len(data.real), len(data.holdout) // 2, self.params.max_candidates)
        if n_per_class < MIN_PER_CLASS:
            reason = (
                f"needs at least {2 * MIN_PER_CLASS} holdout rows (half non-member candidates, half reference) "
                f"for an AUC interval that can decide; has {len(data.holdout)}"
            )
            return self.skipped(reason, details={"insufficient_evidence": True})
        _, synthetic = synthetic_encoding(data, ctx, self.params.max_reference)
        labels, scores, sizes = _attack_scores(
            real_encoding(data, ctx), synthetic, rng, n_per_class, self.params.max_reference
        )
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
