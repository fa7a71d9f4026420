"""Identity and overlap of the input tables, checked once at the boundary (``inputs.prepare_inputs``).

- The same file (equal sha256 of the bytes, or the same DuckDB query result) passed for two of
  real, synthetic and holdout is a usage error: ``BadInputError`` (exit 2) naming both.
- Real and holdout holding the same rows (the same multiset of rows, in any order) is bad input:
  every privacy comparison and every holdout baseline assumes the holdout is real data the
  generator never saw.
- Rows shared beyond chance are named in the run's notes: holdout rows identical to training rows
  more often than training rows equal one another (a leaky split; judged by the metric
  ``privacy.holdout_overlap``), and synthetic rows identical to holdout rows more often than
  holdout rows equal training rows (the generator may have seen the holdout). Synthetic rows
  identical to training rows are the metric ``privacy.exact_match``'s business.

DataFrames handed to the Python API are compared by rows only, so ``evaluate(real, real.copy())``
(a full copy, which the privacy metrics judge) still runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import BadInputError
from .results import InputInfo
from .schema import ColumnKind, Schema

__all__ = ["check_identity", "overlap_notes"]

_PAIRS = (("real", "holdout"), ("real", "synthetic"), ("synthetic", "holdout"))
#: z-score above which a shared-row excess is named in the notes
NOTE_Z = 3.0


def _is_file(source: str) -> bool:
    return not source.startswith("<")  # DataFrames are "<real DataFrame>", files and duckdb: queries are not


def check_identity(frames: dict[str, pd.DataFrame], infos: dict[str, InputInfo]) -> None:
    """Refuse the same file twice, and a holdout holding exactly the training rows."""
    for a, b in _PAIRS:
        if a not in infos or b not in infos:
            continue
        first, second = infos[a], infos[b]
        if _is_file(first.source) and _is_file(second.source) and first.sha256 == second.sha256:
            raise BadInputError(
                f"{a} and {b} are the same file (sha256 {first.sha256[:12]}…): {second.source}; pass the "
                f"{b} table separately",
                source=second.source,
            )
    holdout = frames.get("holdout")
    if holdout is not None and len(holdout) == len(frames["real"]):
        columns = list(frames["real"].columns)
        real_rows = np.sort(pd.util.hash_pandas_object(frames["real"][columns], index=False).to_numpy())
        holdout_rows = np.sort(pd.util.hash_pandas_object(holdout[columns], index=False).to_numpy())
        if np.array_equal(real_rows, holdout_rows):
            raise BadInputError(
                f"holdout holds exactly the rows of real ({infos['real'].source}): the holdout must be real rows "
                "the generator never saw, kept apart from its training data",
                source=infos["holdout"].source,
            )


def overlap_notes(frames: dict[str, pd.DataFrame], schema: Schema) -> list[str]:
    """Notes naming rows shared between inputs beyond what duplicates inside the real data explain."""
    holdout = frames.get("holdout")
    columns = [c for c in schema if schema[c] is not ColumnKind.IDENTIFIER]
    if holdout is None or not columns:
        return []
    from .metrics._rows import leave_one_out_excess, matched_share
    from .summaries import RowMatches, row_hashes

    real, held, synthetic = (row_hashes(frames[n], columns) for n in ("real", "holdout", "synthetic"))
    held_in_real = RowMatches.of(held, real)
    notes = []
    value, (low, _), info = leave_one_out_excess(held_in_real, RowMatches.of(real))
    if low > 0 and _significant(value, low):
        notes.append(
            f"holdout: {info['matched_share']:.1%} of its rows are identical to training rows, where duplicates "
            f"inside training explain {info['chance_share']:.1%}: the holdout may not be unseen data "
            "(privacy.holdout_overlap judges this)"
        )
    shared, variance = matched_share(RowMatches.of(synthetic, held))
    chance, chance_variance = matched_share(held_in_real)
    spread = float(np.sqrt(variance + chance_variance))
    if shared - chance > NOTE_Z * spread and shared > chance:
        notes.append(
            f"synthetic: {shared:.1%} of its rows are identical to holdout rows, where unseen rows match "
            f"training rows {chance:.1%} of the time: the generator may have seen the holdout"
        )
    return notes


def _significant(value: float, low: float) -> bool:
    """An excess whose 95% lower bound is positive and that clears NOTE_Z standard errors."""
    se = (value - low) / 1.959963984540054
    return se == 0 or value > NOTE_Z * se
