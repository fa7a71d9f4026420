"""privacy.exact_match — synthetic rows that are verbatim copies of training rows."""

from __future__ import annotations

import numpy as np

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import wilson_interval
from ..summaries import row_hashes
from ._base import Metric, RunContext, register_metric

__all__ = ["ExactMatch", "row_hashes"]


@register_metric
class ExactMatch(Metric):
    """Share of synthetic rows identical to a training row (all columns but identifiers).

    Range [0, 1]; lower is better; 0 is ideal. Wilson 95% CI over the synthetic rows. The baseline
    is the share identical to a holdout row; details also give it against a random training
    subsample of the holdout's size (same-size comparison), and the duplicate rate inside the
    synthetic and inside the real table. Identifier columns are left out because a generator
    that replays records usually re-draws their keys. Reference: the "identical match share" of
    SynthEval and MOSTLY AI's QA report.
    """

    id = "privacy.exact_match"
    family = Family.PRIVACY
    goal = Goal.MINIMIZE
    bounds = (0.0, 1.0)
    ideal = 0.0
    conformance_identical_is_ideal = False  # synthetic = real is a full copy: the worst case
    description = "Share of synthetic rows that are exact copies of a training row."
    summary_based = True

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        columns = [c for c in data.schema if data.schema[c] is not ColumnKind.IDENTIFIER]
        if not columns:
            return self.skipped("every column is an identifier")
        summaries = data.summaries()
        copies = summaries.matching_rows(columns, "synthetic", "real")
        n, n_real = summaries.n_rows("synthetic"), summaries.n_rows("real")
        details = {
            "columns": columns,
            "synthetic_rows": n,
            "copies_of_training_rows": copies,
            "synthetic_duplicate_rate": 1.0 - summaries.distinct_rows(columns, "synthetic") / n,
            "real_duplicate_rate": 1.0 - summaries.distinct_rows(columns, "real") / n_real,
        }
        baseline = None
        if data.holdout is not None:
            n_holdout = summaries.n_rows("holdout")
            baseline = summaries.matching_rows(columns, "synthetic", "holdout") / n
            same_size, subsample_rows = summaries.matching_rows_subsample(columns, "synthetic", "real", n_holdout, rng)
            details.update(
                {
                    "share_identical_to_holdout": baseline,
                    "share_identical_to_training_subsample": same_size / n,
                    "training_subsample_rows": subsample_rows,
                    "holdout_rows": n_holdout,
                }
            )
        return self.result(copies / n, ci=wilson_interval(copies, n), ci_level=0.95, baseline=baseline, details=details)
