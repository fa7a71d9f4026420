"""privacy.nndr — nearest-neighbour distance ratio of synthetic rows, against training and holdout."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..stats import wilson_interval
from ._base import Metric, MetricParams, RunContext, register_metric
from ._nn import closer_share, knn, reference_sets

MAX_QUERIES = 1_000
MAX_REFERENCE = 100_000


def nndr(distances: np.ndarray) -> np.ndarray:
    """d(1st) / d(2nd) per row; 1 when both are 0 (a row equal to two records singles out neither)."""
    first, second = distances[:, 0], distances[:, 1]
    return np.where(second > 0, first / np.where(second > 0, second, 1.0), 1.0)


@register_metric
class NearestNeighbourDistanceRatio(Metric):
    """NNDR share: the share of synthetic rows whose nearest-neighbour distance ratio (closest over
    second-closest record) is lower against the training rows than against the holdout rows,
    training rows subsampled to the holdout's size; ties count half.

    A low ratio means a synthetic row sits next to one particular record rather than in a crowd —
    the signature of a replayed outlier. Range [0, 1]; 0.5 is ideal, higher is worse. Wilson 95% CI
    over the sampled synthetic rows (at most 1,000; counts in details); distances as
    ``_nn.ENCODING``. Details give mean and 5th-percentile ratios against each set. Reference: the
    NNDR of SynthEval and of Guillaudeux et al. (2022, npj Digital Medicine).
    """

    class Params(MetricParams):
        max_queries: int = Field(MAX_QUERIES, ge=1, description="synthetic rows sampled as queries")
        max_reference: int = Field(MAX_REFERENCE, ge=2, description="training and holdout reference rows, each")

    params: Params

    id = "privacy.nndr"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    ideal = 0.5
    ideal_tolerance = 0.1
    requires_holdout = True
    conformance_identical_is_ideal = False
    description = (
        "Share of synthetic rows that sit closer to one specific training record than to an unseen one (0.5: none)."
    )

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column to measure distances on")
        sets = reference_sets(
            data,
            rng,
            max_queries=self.params.max_queries,
            max_reference=self.params.max_reference,
        )
        if sets.train.shape[0] < 2:
            return self.skipped("needs at least 2 training and holdout rows")
        to_train = nndr(knn(sets.synthetic, sets.train, 2)[0])
        to_holdout = nndr(knn(sets.synthetic, sets.holdout, 2)[0])
        successes, n, ties = closer_share(to_train, to_holdout)
        return self.result(
            successes / n,
            ci=wilson_interval(successes, n),
            ci_level=0.95,
            details={
                **sets.details(),
                "ties": ties,
                "nndr_mean_training": float(to_train.mean()),
                "nndr_mean_holdout": float(to_holdout.mean()),
                "nndr_p5_training": float(np.quantile(to_train, 0.05)),
                "nndr_p5_holdout": float(np.quantile(to_holdout, 0.05)),
            },
        )
