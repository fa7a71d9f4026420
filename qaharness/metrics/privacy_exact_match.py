"""privacy.exact_match — synthetic rows that are verbatim copies of training rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import wilson_interval
from ._base import Metric, RunContext, register_metric
from ._nn import sample_indices


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """64-bit hash per row over ``columns`` (frames share dtypes, so equal rows hash equal)."""
    return pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()


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

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        columns = [c for c in data.schema if data.schema[c] is not ColumnKind.IDENTIFIER]
        if not columns:
            return self.skipped("every column is an identifier")
        synthetic = row_hashes(data.synthetic, columns)
        real = row_hashes(data.real, columns)
        copies = int(np.isin(synthetic, real).sum())
        n = synthetic.size
        details = {
            "columns": columns,
            "synthetic_rows": n,
            "copies_of_training_rows": copies,
            "synthetic_duplicate_rate": 1.0 - np.unique(synthetic).size / n,
            "real_duplicate_rate": 1.0 - np.unique(real).size / real.size,
        }
        baseline = None
        if data.holdout is not None:
            holdout = row_hashes(data.holdout, columns)
            baseline = float(np.isin(synthetic, holdout).mean())
            same_size = real[sample_indices(real.size, holdout.size, rng)]
            details.update(
                {
                    "share_identical_to_holdout": baseline,
                    "share_identical_to_training_subsample": float(np.isin(synthetic, same_size).mean()),
                    "training_subsample_rows": int(same_size.size),
                    "holdout_rows": int(holdout.size),
                }
            )
        return self.result(copies / n, ci=wilson_interval(copies, n), ci_level=0.95, baseline=baseline, details=details)
