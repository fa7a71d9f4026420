"""privacy.exact_match — synthetic rows that are verbatim copies of training rows, beyond chance."""

from __future__ import annotations

import numpy as np
from pydantic import ConfigDict, Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, MetricDetails, RunContext, register_metric
from ._rows import duplicate_share, leave_one_out_excess, match_columns, matched_share, pooled_attribution


@register_metric
class ExactMatch(Metric):
    """Excess share of synthetic rows that are verbatim copies of training rows, beyond what chance
    coincidences of real rows explain (all columns but identifiers).

    With a holdout: each synthetic row identical to ``a`` training and ``b`` holdout rows is
    attributed to training by a / (a + b); without memorisation that averages t / (t + h) whatever
    the sizes, and a row common in the population weighs nothing. ``value`` = the excess over that
    chance level as a share of all synthetic rows (1 = every synthetic row copies a training row
    no holdout row equals; below chance the same linear scale, clipped at −1). Without a holdout the chance
    level is training's own leave-one-out duplicate share. Range [−1, 1]; 0 is ideal; lower is
    better. 95% CI: normal, from the null (hypergeometric) variance, or the clustered variances
    without a holdout. ``baseline``: the holdout in the synthetic seat — the share of holdout rows
    identical to a training row beyond training's own duplicates (0 for a clean split; see
    ``privacy.holdout_overlap``). Details give the raw shares. Computed from row-match summaries
    over the whole tables (``summary_based``: exact under every engine). Reference: the "identical
    match share" of SynthEval and MOSTLY AI's QA report, made size-fair by the pooled attribution.
    """

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        method: str = Field(description="pooled attribution (with a holdout) or leave-one-out duplicates (without)")
        columns: list[str] = Field(description="columns compared (identifiers left out)")
        synthetic_rows: int = Field(ge=1, description="synthetic rows compared (all of them)")
        copies_of_training_rows: int = Field(ge=0, description="synthetic rows identical to a training row")
        share_identical_to_training: float = Field(ge=0, le=1, description="copies_of_training_rows / synthetic_rows")
        chance_share: float = Field(ge=0, le=1, description="training rows identical to another training row")
        synthetic_duplicate_rate: float = Field(ge=0, le=1, description="synthetic rows identical to another one")
        real_duplicate_rate: float = Field(ge=0, le=1, description="1 − distinct training rows / training rows")
        holdout_rows: int | None = Field(None, ge=1, description="holdout rows compared")
        share_identical_to_holdout: float | None = Field(
            None, ge=0, le=1, description="synthetic rows identical to a holdout row"
        )
        holdout_share_identical_to_training: float | None = Field(
            None, ge=0, le=1, description="holdout rows identical to a training row"
        )
        matched_rows: int | None = Field(None, ge=0, description="synthetic rows identical to any real row")
        training_only_rows: int | None = Field(
            None, ge=0, description="synthetic rows identical to a training row and to no holdout row"
        )

    id = "privacy.exact_match"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (-1.0, 1.0)
    ideal = 0.0
    ideal_tolerance = 0.02
    conformance_identical_is_ideal = False
    #: the conformance suite's ideal input: synthetic = fresh real rows of the same population
    #: (honest data; synthetic = real is a full copy, the worst case)
    conformance_input = "honest"
    conformance_defect = "copy"
    description = "Excess share of synthetic rows that are exact copies of a training row, beyond chance matches."
    summary_based = True
    reads_value_counts = False

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        columns = match_columns(data)
        if not columns:
            return self.skipped("every column is an identifier")
        summaries = data.summaries()
        references = ("real",) if data.holdout is None else ("real", "holdout")
        synthetic = summaries.row_matches(columns, "synthetic", references)
        real = summaries.row_matches(columns, "real")
        copies = synthetic.matched_rows(0)
        details: dict = {
            "columns": columns,
            "synthetic_rows": synthetic.n_rows,
            "copies_of_training_rows": copies,
            "share_identical_to_training": copies / synthetic.n_rows,
            "chance_share": duplicate_share(real)[0],
            "synthetic_duplicate_rate": 1.0 - synthetic.distinct / synthetic.n_rows,
            "real_duplicate_rate": 1.0 - real.distinct / real.n_rows,
        }
        if data.holdout is None:
            value, ci, _ = leave_one_out_excess(synthetic, real)
            details["method"] = "leave-one-out duplicates of training (no holdout)"
            return self.result(value, ci=ci, ci_level=0.95, details=details)
        holdout = summaries.row_matches(columns, "holdout", ("real",))
        value, ci, info = pooled_attribution(synthetic, real.n_rows, holdout.n_rows)
        baseline = leave_one_out_excess(holdout, real)[0]
        details.update(
            method="pooled attribution over training and holdout",
            holdout_rows=holdout.n_rows,
            share_identical_to_holdout=matched_share(synthetic, 1)[0],
            holdout_share_identical_to_training=matched_share(holdout, 0)[0],
            **info,
        )
        return self.result(value, ci=ci, ci_level=0.95, baseline=baseline, details=details)
