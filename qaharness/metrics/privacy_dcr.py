"""privacy.dcr — distance to closest record: are synthetic rows closer to training rows than to unseen ones?"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..stats import wilson_interval
from ._base import Metric, MetricParams, RunContext, register_metric
from ._nn import closer_share, knn, reference_sets

MAX_QUERIES = 3_000
MAX_REFERENCE = 100_000
HOLDOUT_QUERIES = 1_000  # holdout rows whose DCR to training sets the 5th-percentile yardstick


@register_metric
class DistanceToClosestRecord(Metric):
    """DCR share: the share of synthetic rows whose nearest training row is closer than their
    nearest holdout row, training rows subsampled to the holdout's size (ties count half).

    Range [0, 1]; 0.5 is ideal (a synthetic row is as close to data the generator never saw as to
    its training data); higher means rows sit on training records. Wilson 95% CI over the sampled
    synthetic rows (at most 3,000; references at most 100,000 rows each; the counts are in
    details). Distances use ``_nn.ENCODING`` (scaled numerics + one-hot, Euclidean). Details also
    give the 5th-percentile DCR of synthetic rows to the training set beside the same percentile
    for holdout rows (how close unseen real rows come). Reference: the DCR share of MOSTLY AI's
    QA report (L2 on an encoding); SDMetrics uses range-normalised Gower instead.
    """

    class Params(MetricParams):
        max_queries: int = Field(MAX_QUERIES, ge=1, description="synthetic rows sampled as queries")
        max_reference: int = Field(MAX_REFERENCE, ge=1, description="training and holdout reference rows, each")

    params: Params

    id = "privacy.dcr"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    ideal = 0.5
    ideal_tolerance = 0.1
    requires_holdout = True
    conformance_identical_is_ideal = False
    description = "Share of synthetic rows closer to a training row than to any unseen real row (0.5: no memorisation)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column to measure distances on")
        sets = reference_sets(
            data,
            rng,
            max_queries=self.params.max_queries,
            max_reference=self.params.max_reference,
            holdout_queries=HOLDOUT_QUERIES,
        )
        to_train = knn(sets.synthetic, sets.train, 1)[0][:, 0]
        to_holdout = knn(sets.synthetic, sets.holdout, 1)[0][:, 0]
        successes, n, ties = closer_share(to_train, to_holdout)
        holdout_to_train = knn(sets.holdout_queries, sets.train, 1)[0][:, 0]
        p5_synthetic = float(np.quantile(to_train, 0.05))
        p5_holdout = float(np.quantile(holdout_to_train, 0.05))
        return self.result(
            successes / n,
            ci=wilson_interval(successes, n),
            ci_level=0.95,
            details={
                **sets.details(),
                "ties": ties,
                "ties_count": "half",
                "dcr_p5_synthetic_to_training": p5_synthetic,
                "dcr_p5_holdout_to_training": p5_holdout,
                "dcr_p5_below_holdout": bool(p5_synthetic < p5_holdout),
                "holdout_rows_for_p5": int(sets.holdout_queries.shape[0]),
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
