"""privacy.nndr — synthetic rows that sit distinctly close to one real record: is it a training record
more often than chance says?"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..stats import wilson_interval
from ._base import Metric, MetricParams, RunContext, register_metric
from ._neighbours import MAX_HOLDOUT_REFERENCE, SYNTHETIC_QUERIES, PooledDetails, pooled_neighbours
from ._privacy_stats import excess_over_null

MAX_RATIO = 0.5


def nndr(distances: np.ndarray) -> np.ndarray:
    """d(1st) / d(2nd) per row; 1 when both are 0 (a row equal to two records singles out neither)."""
    first, second = distances[:, 0], distances[:, 1]
    return np.where(second > 0, first / np.where(second > 0, second, 1.0), 1.0)


@register_metric
class NearestNeighbourDistanceRatio(Metric):
    """NNDR: among synthetic rows that sit distinctly close to one real record, how much more often
    than chance that record is a training record.

    Training rows (all of them) and holdout rows are pooled. A synthetic row is *distinctive* when
    its nearest pooled real row is at most ``max_ratio`` (default 0.5) times as far as the second
    nearest — it sits on one particular record rather than in a crowd, the signature of a replayed
    record or outlier. Without memorisation the nearest row of a distinctive synthetic row is a
    training row with probability ``t / (t + h)`` (``details.null_share``), exactly as for
    ``privacy.dcr``. ``value`` is the excess over that chance level, as a share of all sampled
    synthetic rows (at most 3,000): ``(X − null·d) / (n (1 − null))`` for X training-nearest among d
    distinctive rows of n (linear below chance too, clipped at −1). Range [−1, 1]; 0 is ideal; either side
    is worse. 95% CI: Wilson interval of X / d, mapped the same way. Distances as
    ``_nn.ENCODING``. Reference: the NNDR of SynthEval and of Guillaudeux et al. (2022, npj Digital
    Medicine), turned into a pooled comparison so that it holds for any training : holdout ratio.
    """

    class Params(MetricParams):
        max_queries: int = Field(SYNTHETIC_QUERIES, ge=1, description="synthetic rows sampled as queries")
        max_reference: int = Field(MAX_HOLDOUT_REFERENCE, ge=2, description="holdout rows in the pooled reference")
        max_ratio: float = Field(
            MAX_RATIO, gt=0, lt=1, description="nearest / second-nearest distance at or below which a row counts"
        )

    class Details(PooledDetails):
        max_ratio: float = Field(gt=0, lt=1, description="distance ratio at or below which a row is distinctive")
        distinctive_rows: int = Field(ge=0, description="sampled synthetic rows that are distinctive")
        distinctive_share: float = Field(ge=0, le=1, description="distinctive_rows / synthetic_rows_used")
        nndr_mean: float = Field(ge=0, le=1, description="mean pooled distance ratio of the synthetic rows")
        nndr_p5: float = Field(ge=0, le=1, description="5th percentile of the pooled distance ratio")

    params: Params

    id = "privacy.nndr"
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
        "How much more often than chance a synthetic row that sits on one particular real record "
        "sits on a training record (0: chance)."
    )

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column to measure distances on")
        nn = pooled_neighbours(data, ctx, max_queries=self.params.max_queries, max_reference=self.params.max_reference)
        pooled = np.sort(np.hstack([nn.to_train, nn.to_holdout]), axis=1)[:, :2]
        ratio = nndr(pooled)
        distinctive = ratio <= self.params.max_ratio
        nearest_training = nn.to_train[:, 0] < nn.to_holdout[:, 0]
        n, d = ratio.size, int(distinctive.sum())
        x = float((nearest_training & distinctive).sum())
        effective = nn.effective_rows(distinctive)
        value, ci = excess_over_null(x, d, nn.null_share, n, effective=effective)
        share = x / d if d else nn.null_share
        return self.result(
            value,
            ci=ci,
            ci_level=0.95,
            details={
                "columns": data.columns(),
                **nn.sizes(),
                "null_share": nn.null_share,
                "share": share,
                "share_ci": wilson_interval(x / d * effective, effective) if d else (0.0, 1.0),
                "effective_rows": effective,
                "excess_share": share - nn.null_share,
                "max_ratio": self.params.max_ratio,
                "distinctive_rows": d,
                "distinctive_share": d / n,
                "nndr_mean": float(ratio.mean()),
                "nndr_p5": float(np.quantile(ratio, 0.05)),
            },
        )
