"""Identity and overlap of the input tables, checked once at the boundary (``inputs.prepare_inputs``,
``spark._prepare.prepare``), from the row-match summaries, so both engines judge alike.

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

from collections.abc import Sequence

import numpy as np

from .errors import BadInputError
from .results import InputInfo
from .schema import ColumnKind, Schema
from .summaries import RowMatches, TableSummaries

__all__ = ["check_identity", "overlap_notes"]

_PAIRS = (("real", "holdout"), ("real", "synthetic"), ("synthetic", "holdout"))
#: z-score above which a shared-row excess is named in the notes
NOTE_Z = 3.0


def _is_file(source: str) -> bool:
    return not source.startswith("<")  # DataFrames are "<real DataFrame>", files and duckdb: queries are not


def check_identity(summaries: TableSummaries, infos: dict[str, InputInfo], columns: Sequence[str]) -> None:
    """Refuse the same file twice, and a holdout holding exactly the training rows (over ``columns``).

    Engine-neutral: the rows are compared through ``summaries.row_matches`` (the pandas engine's row
    hashes, Spark's hash joins), so both engines refuse the same inputs with the same message."""
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
    if summaries.has("holdout") and summaries.n_rows("holdout") == summaries.n_rows("real"):
        # the same multiset of rows: every distinct holdout row occurs in real as often as in the holdout
        matches = summaries.row_matches(columns, "holdout", ("real",))
        if np.array_equal(matches.reference_counts[0], matches.multiplicity):
            raise BadInputError(
                f"holdout holds exactly the rows of real ({infos['real'].source}): the holdout must be real rows "
                "the generator never saw, kept apart from its training data",
                source=infos["holdout"].source,
            )


def overlap_notes(summaries: TableSummaries, schema: Schema) -> list[str]:
    """Notes naming rows shared between inputs beyond what duplicates inside the real data explain.

    The row matches are the ones ``privacy.exact_match`` and ``privacy.holdout_overlap`` read (all
    columns but identifiers), so the run computes them once."""
    columns = [c for c in schema if schema[c] is not ColumnKind.IDENTIFIER]
    if not summaries.has("holdout") or not columns:
        return []
    from .metrics._rows import leave_one_out_excess, matched_share

    held_in_real = summaries.row_matches(columns, "holdout", ("real",))
    notes = []
    value, (low, _), info = leave_one_out_excess(held_in_real, summaries.row_matches(columns, "real"))
    if low > 0 and _significant(value, low):
        notes.append(
            f"holdout: {info['matched_share']:.1%} of its rows are identical to training rows, where duplicates "
            f"inside training explain {info['chance_share']:.1%}: the holdout may not be unseen data "
            "(privacy.holdout_overlap judges this)"
        )
    shared, variance = matched_share(_against(summaries.row_matches(columns, "synthetic", ("real", "holdout")), 1))
    chance, chance_variance = matched_share(held_in_real)
    spread = float(np.sqrt(variance + chance_variance))
    if shared - chance > NOTE_Z * spread and shared > chance:
        notes.append(
            f"synthetic: {shared:.1%} of its rows are identical to holdout rows, where unseen rows match "
            f"training rows {chance:.1%} of the time: the generator may have seen the holdout"
        )
    return notes


def _against(matches: RowMatches, which: int) -> RowMatches:
    """The query's row matches against reference ``which`` alone (profiles merged where they now agree)."""
    profiles = np.column_stack([matches.multiplicity, matches.reference_counts[which]])
    if profiles.size == 0:
        return RowMatches.of_profiles(matches.multiplicity, matches.reference_counts[[which]], matches.rows)
    distinct, inverse = np.unique(profiles, axis=0, return_inverse=True)
    rows = np.bincount(inverse.ravel(), weights=matches.rows, minlength=len(distinct)).astype(np.int64)
    return RowMatches.of_profiles(distinct[:, 0], distinct[:, 1:].T, rows)


def _significant(value: float, low: float) -> bool:
    """An excess whose 95% lower bound is positive and that clears NOTE_Z standard errors."""
    se = (value - low) / 1.959963984540054
    return se == 0 or value > NOTE_Z * se
