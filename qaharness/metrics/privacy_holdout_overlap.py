"""privacy.holdout_overlap — holdout rows that also occur in training, beyond what duplicates explain."""

from __future__ import annotations

import numpy as np
from pydantic import ConfigDict, Field

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ._base import Metric, MetricDetails, RunContext, register_metric
from ._rows import leave_one_out_excess, match_columns


@register_metric
class HoldoutOverlap(Metric):
    """Excess share of holdout rows identical to a training row, beyond the rate at which training
    rows equal one another (all columns but identifiers).

    Every privacy comparison assumes the holdout holds real rows the generator never saw, drawn
    like the training rows. Then a holdout row equals some training row about as often as a
    training row equals another one (training's leave-one-out duplicate share, the chance rate at
    that size). A leaky split — the same records on both sides — shows as an excess. Range [−1, 1];
    0 is ideal; lower is better. 95% CI: normal, from the two shares' cluster-robust variances
    (identical rows count as one cluster). Identical tables are refused earlier, at the boundary.
    Computed from row-match summaries over the whole tables (``summary_based``: exact under every
    engine).
    """

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        columns: list[str] = Field(description="columns compared (identifiers left out)")
        holdout_rows: int = Field(ge=1, description="holdout rows compared")
        training_rows: int = Field(ge=1, description="training rows compared")
        holdout_rows_in_training: int = Field(ge=0, description="holdout rows identical to a training row")
        matched_share: float = Field(ge=0, le=1, description="holdout_rows_in_training / holdout_rows")
        chance_share: float = Field(ge=0, le=1, description="training rows identical to another training row")

    id = "privacy.holdout_overlap"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (-1.0, 1.0)
    ideal = 0.0
    ideal_tolerance = 0.05
    requires_holdout = True
    summary_based = True
    reads_value_counts = False
    description = (
        "Excess share of holdout rows that also occur in training, beyond chance duplicates (0: a clean split)."
    )

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        columns = match_columns(data)
        if not columns:
            return self.skipped("every column is an identifier")
        summaries = data.summaries()
        real, holdout = summaries.row_matches(columns, "real"), summaries.row_matches(columns, "holdout", ("real",))
        value, ci, info = leave_one_out_excess(holdout, real)
        return self.result(
            value,
            ci=ci,
            ci_level=0.95,
            details={
                "columns": columns,
                "holdout_rows": holdout.n_rows,
                "training_rows": real.n_rows,
                "holdout_rows_in_training": holdout.matched_rows(0),
                **info,
            },
        )
