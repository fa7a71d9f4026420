"""privacy.dcr — distance to closest record: is a synthetic row's nearest real row a training row more
often than chance says?"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..stats import wilson_interval
from ._base import Metric, MetricParams, RunContext, register_metric
from ._neighbours import MAX_HOLDOUT_REFERENCE, SYNTHETIC_QUERIES, PooledDetails, pooled_neighbours
from ._privacy_stats import excess_over_null


class Histogram(BaseModel):
    """Shares of synthetic rows per distance bin (for the report's plot)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    edges: list[float] = Field(description="bin edges, from 0 to the 99th percentile of all distances")
    train: list[float] = Field(description="share of synthetic rows per bin, distance to the nearest training row")
    holdout: list[float] = Field(description="share of synthetic rows per bin, distance to the nearest holdout row")


@register_metric
class DistanceToClosestRecord(Metric):
    """DCR: how much more often than chance a synthetic row's nearest real row is a training row.

    Training rows (all of them) and holdout rows are pooled; for each sampled synthetic row (at
    most 3,000) the nearest pooled row is found. Without memorisation it is a training row with
    probability ``t / (t + h)`` (``details.null_share``), whatever the ratio of the sizes. ``value``
    is the excess of the observed share over that chance level: ``(share − null) / (1 − null)``
    (0 = chance, 1 = every synthetic row sits on a training row: roughly the memorised share of
    rows); below chance the same linear scale, clipped at −1 (synthetic rows drawn to the holdout:
    the generator saw it). Range [−1, 1]; 0 is ideal; either side is worse (``Goal.TARGET``).
    95% CI: Wilson interval of the share, mapped the same way. Rows equally near a training and a
    holdout row count as the share of training rows among the real rows at that distance.
    Distances use ``_nn.ENCODING`` (scaled numerics + one-hot, Euclidean). Details give the raw share,
    the 5th-percentile and median distances and a histogram. Reference: the DCR share of MOSTLY AI's
    QA report (L2 on an encoding, equal-size sets); SDMetrics uses range-normalised Gower instead.
    """

    class Params(MetricParams):
        max_queries: int = Field(SYNTHETIC_QUERIES, ge=1, description="synthetic rows sampled as queries")
        max_reference: int = Field(MAX_HOLDOUT_REFERENCE, ge=1, description="holdout rows in the pooled reference")

    class Details(PooledDetails):
        ties: int = Field(ge=0, description="synthetic rows whose nearest training and holdout rows are equally far")
        dcr_p5_synthetic_to_training: float = Field(ge=0, description="5th percentile DCR, synthetic to training")
        dcr_p5_holdout_to_training: float = Field(ge=0, description="5th percentile DCR, holdout rows to training")
        dcr_p5_below_holdout: bool = Field(description="synthetic rows' 5th percentile below the holdout rows'")
        holdout_rows_for_p5: int = Field(ge=1, description="holdout rows whose distance to training was measured")
        dcr_median_synthetic_to_training: float = Field(ge=0, description="median DCR, synthetic to training")
        dcr_median_synthetic_to_holdout: float = Field(ge=0, description="median distance, synthetic to holdout")
        share_exact_zero_to_training: float = Field(ge=0, le=1, description="synthetic rows at distance 0 of training")
        histogram: Histogram = Field(description="distance histograms for the report")

    params: Params

    id = "privacy.dcr"
    family = Family.PRIVACY
    goal = Goal.TARGET
    bounds = (-1.0, 1.0)
    ideal = 0.0
    ideal_tolerance = 0.2
    requires_holdout = True
    conformance_identical_is_ideal = False
    #: the conformance suite's ideal input: synthetic = fresh real rows of the same population
    #: (honest data; synthetic = real is a full copy, the worst case)
    conformance_input = "honest"
    conformance_defect = "copy"
    description = (
        "How much more often than chance a synthetic row's nearest real row is a training row "
        "(0: chance, 1: every row sits on a training row)."
    )

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column to measure distances on")
        nn = pooled_neighbours(data, ctx, max_queries=self.params.max_queries, max_reference=self.params.max_reference)
        n = nn.train_score.size
        successes = float(nn.train_score.sum())
        effective = nn.effective_rows()
        value, ci = excess_over_null(successes, n, nn.null_share, effective=effective)
        to_train, to_holdout = nn.to_train[:, 0], nn.to_holdout[:, 0]
        p5_synthetic = float(np.quantile(to_train, 0.05))
        p5_holdout = float(np.quantile(nn.holdout_to_train, 0.05))
        return self.result(
            value,
            ci=ci,
            ci_level=0.95,
            details={
                "columns": data.columns(),
                **nn.sizes(),
                "null_share": nn.null_share,
                "share": successes / n,
                "share_ci": wilson_interval(successes / n * effective, effective),
                "effective_rows": effective,
                "excess_share": successes / n - nn.null_share,
                "ties": nn.ties,
                "dcr_p5_synthetic_to_training": p5_synthetic,
                "dcr_p5_holdout_to_training": p5_holdout,
                "dcr_p5_below_holdout": bool(p5_synthetic < p5_holdout),
                "holdout_rows_for_p5": int(nn.holdout_to_train.size),
                "dcr_median_synthetic_to_training": float(np.median(to_train)),
                "dcr_median_synthetic_to_holdout": float(np.median(to_holdout)),
                "share_exact_zero_to_training": float(np.mean(to_train <= 1e-12)),
                "histogram": _histogram(to_train, to_holdout),
            },
        )


def _histogram(to_train: np.ndarray, to_holdout: np.ndarray, bins: int = 30) -> dict:
    """Shares of synthetic rows per DCR bin, to training vs to holdout (for the report's plot)."""
    top = float(np.quantile(np.concatenate([to_train, to_holdout]), 0.99)) or 1.0
    edges = np.linspace(0.0, top, bins + 1)

    def shares(values: np.ndarray) -> list[float]:
        counts = np.histogram(np.clip(values, 0.0, top), bins=edges)[0]
        return [round(float(c) / values.size, 6) for c in counts]

    return {"edges": [round(float(e), 6) for e in edges], "train": shares(to_train), "holdout": shares(to_holdout)}
