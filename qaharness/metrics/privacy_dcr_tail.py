"""privacy.dcr_tail — the memorisation tail: more synthetic rows right next to a training row than unseen
real rows come?"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats as _sps

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, MetricDetails, MetricParams, RunContext, register_metric
from ._neighbours import HOLDOUT_QUERIES, SYNTHETIC_QUERIES, TIE_TOLERANCE, pooled_neighbours
from ._nn import ENCODING
from ._privacy_stats import beta_binomial_sf, newcombe_difference

QUANTILE = 0.01
REPORTED_QUANTILES = (0.01, 0.05)


class Tail(BaseModel):
    """The tail test at one quantile of the holdout rows' distances to training."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    quantile: float = Field(gt=0, lt=1, description="the requested quantile q")
    effective_quantile: float = Field(
        gt=0, le=1, description="k / (m + 1): the expected share below the k-th of m holdout distances"
    )
    threshold_distance: float = Field(ge=0, description="the k-th smallest holdout distance to training")
    synthetic_below: int = Field(ge=0, description="synthetic rows closer to training than the threshold")
    share_below: float = Field(ge=0, le=1, description="synthetic_below / synthetic rows used")
    excess: float = Field(ge=-1, le=1, description="share_below − effective_quantile")
    ci_low: float = Field(ge=-1, le=1, description="lower end of the Newcombe 95% interval of excess")
    ci_high: float = Field(ge=-1, le=1, description="upper end of the Newcombe 95% interval of excess")
    p_value: float = Field(ge=0, le=1, description="one-sided exact p-value (beta-binomial null)")


@register_metric
class DistanceTail(Metric):
    """Memorisation tail: the excess share of synthetic rows closer to a training row than the
    closest ``quantile`` (default 1%) of unseen real rows come.

    The distance of each sampled holdout row (at most 2,000) to its nearest training row (all of
    them) is the yardstick of how close unseen data comes by chance; ``threshold_distance`` is the
    k-th smallest, k = round(q (m + 1)). A generator that did not memorise puts a share of about
    k / (m + 1) ≈ q of its rows (at most 3,000 sampled) below it; near-copies of training rows land
    below it almost all. ``value`` = share below − k / (m + 1). Range [−1, 1]; 0 is ideal; lower is
    better (fewer rows near training than unseen data is no risk). 95% CI: Newcombe's hybrid
    interval from the Wilson interval of the synthetic share and the beta interval of the
    threshold's coverage (Beta(k, m − k + 1), so a small holdout widens it). ``p_value``: exact
    one-sided test, synthetic count ~ BetaBinomial(n, k, m − k + 1) when synthetic and holdout rows
    are alike. Equal distances are ordered at random (seeded), so ties (duplicates in discrete data)
    keep the test exact. Details repeat the test at the 1% and 5% quantiles. Distances as
    ``_nn.ENCODING``, shared with ``privacy.dcr``.
    """

    class Params(MetricParams):
        quantile: float = Field(QUANTILE, gt=0, lt=0.5, description="quantile of the holdout distances to training")
        max_queries: int = Field(SYNTHETIC_QUERIES, ge=1, description="synthetic rows sampled")
        holdout_queries: int = Field(HOLDOUT_QUERIES, ge=1, description="holdout rows whose distance is the yardstick")

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        encoding: str = Field(ENCODING, description="how rows are turned into vectors for distances")
        quantile: float = Field(gt=0, lt=0.5, description="the quantile the headline uses")
        synthetic_rows_used: int = Field(ge=1, description="synthetic rows sampled")
        holdout_rows_used: int = Field(ge=1, description="holdout rows whose distance to training was measured")
        training_rows_used: int = Field(ge=1, description="training rows searched (all of them)")
        p_value: float = Field(ge=0, le=1, description="one-sided exact p-value of the headline quantile")
        tails: dict[str, Tail] = Field(description="the test at each reported quantile (key: q1 = 1%, q5 = 5%, ...)")

    params: Params

    id = "privacy.dcr_tail"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (-1.0, 1.0)
    ideal = 0.0
    ideal_tolerance = 0.05
    requires_holdout = True
    conformance_identical_is_ideal = False
    #: the conformance suite's ideal input: synthetic = fresh real rows of the same population
    #: (honest data; synthetic = real is a full copy, the worst case)
    conformance_input = "honest"
    conformance_defect = "copy"
    description = (
        "Excess share of synthetic rows closer to a training row than the closest 1% of unseen real rows "
        "come (0: no more than chance)."
    )

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column to measure distances on")
        nn = pooled_neighbours(
            data, ctx, max_queries=self.params.max_queries, holdout_queries=self.params.holdout_queries
        )
        m = nn.holdout_to_train.size
        if m + 1 < 1 / self.params.quantile:
            needed = int(np.ceil(1 / self.params.quantile)) - 1
            reason = (
                f"a holdout of {m} rows cannot resolve the {self.params.quantile:.0%} quantile of unseen rows' "
                f"distance to training (needs at least {needed} rows)"
            )
            return self.skipped(reason, details={"insufficient_evidence": True})
        synthetic = _ranked(nn.to_train[:, 0], rng)
        holdout = np.sort(_ranked(nn.holdout_to_train, rng))
        quantiles = dict.fromkeys((self.params.quantile, *REPORTED_QUANTILES))
        tails = {tail_key(q): tail_test(synthetic, holdout, q, nn.holdout_to_train) for q in quantiles}
        head = tails[tail_key(self.params.quantile)]
        return self.result(
            head.excess,
            ci=(head.ci_low, head.ci_high),
            ci_level=0.95,
            details={
                "quantile": self.params.quantile,
                "synthetic_rows_used": int(synthetic.size),
                "holdout_rows_used": int(holdout.size),
                "training_rows_used": nn.n_train,
                "p_value": head.p_value,
                "tails": {k: v.model_dump() for k, v in tails.items()},
            },
        )


def tail_key(quantile: float) -> str:
    """The details key of a quantile: q1 for 1%, q5 for 5%, q2.5 for 2.5% (rules read details.tails.q1.ci_high)."""
    return f"q{quantile * 100:g}"


def _ranked(distances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distances made tie-free: rounded to the tie tolerance, plus a random fraction of one step."""
    steps = np.floor(distances / TIE_TOLERANCE + 0.5)
    return steps + rng.random(distances.size)


def tail_test(synthetic: np.ndarray, holdout_sorted: np.ndarray, quantile: float, holdout_raw: np.ndarray) -> Tail:
    """The tail test on tie-free ranks: synthetic ranks vs the k-th smallest holdout rank."""
    n, m = synthetic.size, holdout_sorted.size
    k = int(min(m, max(1, round(quantile * (m + 1)))))
    threshold = holdout_sorted[k - 1]
    below = int((synthetic < threshold).sum())
    coverage = k / (m + 1)
    beta = _sps.beta(k, m - k + 1)
    excess, ci = newcombe_difference(below, n, coverage, (float(beta.ppf(0.025)), float(beta.ppf(0.975))))
    return Tail(
        quantile=quantile,
        effective_quantile=coverage,
        threshold_distance=float(np.sort(holdout_raw)[k - 1]),
        synthetic_below=below,
        share_below=below / n,
        excess=excess,
        ci_low=ci[0],
        ci_high=ci[1],
        p_value=min(1.0, beta_binomial_sf(below, n, k, m - k + 1)),
    )
