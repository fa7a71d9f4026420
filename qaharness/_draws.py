"""The holdout baseline's draws as summaries (``engine.baseline_inputs``), the same on every engine.

Up to ``ROW_DRAW_MAX`` synthetic rows a draw is rows: holdout rows at drawn positions of its
canonical order, summarised like any table (the pandas engine slices its frame; Spark joins the
positions to the sorted holdout and brings the rows to the driver, ``SparkSummaries.row_sample``,
where ``PandasSummaries`` summarises them: one pass per draw, the same arithmetic as pandas).

Above it, a per-column metric (KS, JS, Wasserstein, coverage, missingness) reads only one
column's distribution of the draw, and the distribution of that is known exactly from the holdout's
value counts: a row draw with replacement gives each column's counts a multinomial over the
holdout's counts, one without replacement a multivariate hypergeometric. ``MarginalDraw`` draws
those on the driver, per column from its own generator, with no pass over the rows. Each column is
exact in distribution; only the dependence between columns within one draw is lost, which moves
the worst-column baseline by a few per cent (benchmarks/README.md, "Baseline draws"). Association
statistics need rows together: a metric with ``baseline_joint`` draws ``ROW_DRAW_MAX`` rows and the
engine rescales its value root-n to the synthetic size (``draw_scale``).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from .schema import ColumnKind, Schema
from .summaries import AssociationStats, CategoryCounts, RowMatches, TableSummaries, ValueCounts

__all__ = ["ROW_DRAW_MAX", "BaselineMethod", "MarginalDraw", "DrawnSeat", "draw_counts", "draw_scale"]

#: how a baseline's draws are made (``engine.baseline_plan``, ``details.baseline_method``)
BaselineMethod = Literal["holdout", "rows", "marginals", "rows_capped"]

#: synthetic sizes up to this: baseline draws are rows (what the calibration grid, ≤ 40k rows, measured);
#: above: per-column marginal draws, and joint metrics' draws capped at this many rows
ROW_DRAW_MAX = 200_000
#: a marginal draw keeps a numeric column's drawn counts up to this many distinct values (``MarginalDraw``)
KEEP_VALUES = 65_536
_NUMERIC = (ColumnKind.NUMERIC, ColumnKind.DATETIME)
_CATEGORICAL = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)


def draw_counts(counts: np.ndarray, size: int, replace: bool, rng: np.random.Generator) -> np.ndarray:
    """How often each category occurs among ``size`` rows drawn from rows with these ``counts``."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if counts.size == 0 or total == 0:
        return np.zeros(counts.size, dtype=np.int64)
    if replace:
        return rng.multinomial(size, counts / total).astype(np.int64)
    return rng.multivariate_hypergeometric(counts, size, method="marginals").astype(np.int64)


def draw_scale(n_real: int, n_synthetic: int, n_holdout: int, rows: int, replace: bool) -> float:
    """Factor taking a draw of ``rows`` holdout rows to an honest synthetic table of ``n_synthetic``.

    Real vs such a draw varies with 1/n_real + 1/rows (+ 1/n_holdout with replacement: the draw
    re-draws the holdout, itself a draw); real vs honest synthetic with 1/n_real + 1/n_synthetic.
    For a statistic whose noise scales with the square root of that variance, the square root of
    the ratio. ``rows == n_synthetic`` with replacement is ``engine.bootstrap_scale``."""
    honest = 1 / n_real + 1 / n_synthetic
    drawn = 1 / n_real + 1 / rows + (1 / n_holdout if replace else 0.0)
    return math.sqrt(honest / drawn)


class MarginalDraw(TableSummaries):
    """Per-column summaries of ``size`` rows drawn from the table in ``base``'s ``seat``, answered in
    the synthetic seat: each column's counts drawn from that table's counts (missing as a category)
    by a generator of its own (``entropy`` + the column's name), so the order metrics ask in does not
    matter and every engine, holding the same counts, draws the same numbers."""

    def __init__(
        self, base: TableSummaries, seat: str, schema: Schema, size: int, replace: bool, entropy: Sequence[int]
    ):
        digest = zlib.crc32(str(list(entropy)).encode())
        super().__init__({"synthetic": f"{base.table(seat)}~marginals{size}:{digest:08x}"})
        self._base, self._seat, self._schema = base, seat, schema
        self._size, self._replace, self._entropy = size, replace, [int(e) for e in entropy]
        self._columns: dict[str, ValueCounts | CategoryCounts | int] = {}
        self._missing: dict[str, int] = {}  # of the numeric draws not kept

    def _rng(self, column: str) -> np.random.Generator:
        return np.random.default_rng([*self._entropy, zlib.crc32(column.encode())])

    def _column(self, column: str) -> ValueCounts | CategoryCounts | int:
        """The drawn column: value counts, category counts, or (other kinds) its missing count. A numeric
        draw of more than ``KEEP_VALUES`` distinct values is drawn again when asked again (its own
        generator gives the same counts) rather than kept: a run keeps every draw for all its metrics,
        and ten draws of a 10M-row table's continuous columns would hold gigabytes."""
        if column in self._columns:
            return self._columns[column]
        kind, base, seat = self._schema[column], self._base, self._seat
        if kind in _NUMERIC:
            held = base.value_counts(column, seat)
            drawn = draw_counts(np.append(held.counts, held.missing), self._size, self._replace, self._rng(column))
            keep = drawn[:-1] > 0
            counts = ValueCounts(held.values[keep], drawn[:-1][keep], int(drawn[-1]))
            if counts.values.size <= KEEP_VALUES:
                self._columns[column] = counts
            else:
                self._missing[column] = counts.missing
            return counts
        if kind in _CATEGORICAL:
            labels = base.category_counts(column, seat)
            drawn = draw_counts(labels.counts, self._size, self._replace, self._rng(column))
            self._columns[column] = CategoryCounts.of(dict(zip(labels.labels, drawn.tolist())))
        else:
            missing = base.missing_counts(seat)[column]
            held_counts = np.array([base.n_rows(seat) - missing, missing])
            self._columns[column] = int(draw_counts(held_counts, self._size, self._replace, self._rng(column))[1])
        return self._columns[column]

    def _own(self, seat: str) -> None:
        if seat != "synthetic":
            raise KeyError(f"a marginal draw has only the synthetic seat, not {seat}")

    def n_rows(self, seat: str) -> int:
        self._own(seat)
        return self._size

    def missing_counts(self, seat: str) -> dict[str, int]:
        self._own(seat)
        out = {}
        for column in self._schema:
            if column in self._missing:
                out[column] = self._missing[column]
                continue
            drawn = self._column(column)
            if isinstance(drawn, ValueCounts):
                out[column] = drawn.missing
            elif isinstance(drawn, CategoryCounts):
                out[column] = drawn.as_dict().get(None, 0)
            else:
                out[column] = drawn
        return out

    def value_counts(self, column: str, seat: str) -> ValueCounts:
        self._own(seat)
        drawn = self._column(column)
        assert isinstance(drawn, ValueCounts), f"{column} is not a numeric or datetime column"
        return drawn

    def category_counts(self, column: str, seat: str) -> CategoryCounts:
        self._own(seat)
        drawn = self._column(column)
        assert isinstance(drawn, CategoryCounts), f"{column} is not a categorical or boolean column"
        return drawn

    def n_unique(self, column: str, seat: str) -> int:
        self._own(seat)
        drawn = self._column(column)
        if isinstance(drawn, ValueCounts):
            return int(drawn.values.size)
        if isinstance(drawn, CategoryCounts):
            return len(drawn.present())
        raise NotImplementedError(f"a marginal draw has no distinct values of {column} (kind {self._schema[column]})")

    def associations(self, seat: str, numeric: Sequence[str], categories: Mapping[str, Sequence[str | None]]) -> Any:
        raise NotImplementedError(
            "a marginal draw has no rows to associate: a metric that reads associations sets baseline_joint"
        )


class DrawnSeat(TableSummaries):
    """``base``'s summaries with ``drawn``'s synthetic seat (a draw) in the synthetic seat.

    The other seats are ``base``'s. Row matches between the draw and another table are refused:
    the two may hash rows differently (the Spark engine's draw is summarised by pandas)."""

    frames_are_samples = True  # the frame beside a draw is not what these summaries describe

    def __init__(self, base: TableSummaries, drawn: TableSummaries):
        name = drawn.table("synthetic")
        seats = {seat: base.table(seat) for seat in ("real", "holdout") if base.has(seat)}
        super().__init__({**seats, "synthetic": name})
        self._base, self._drawn, self._name = base, drawn, name

    def _route(self, seat: str) -> tuple[TableSummaries, str]:
        table = self.table(seat)
        if table == self._name:
            return self._drawn, "synthetic"
        return self._base.reseated(**{seat: table}), seat

    def environment(self) -> dict[str, str]:
        return self._base.environment()

    def n_rows(self, seat: str) -> int:
        owner, seat = self._route(seat)
        return owner.n_rows(seat)

    def missing_counts(self, seat: str) -> dict[str, int]:
        owner, seat = self._route(seat)
        return owner.missing_counts(seat)

    def n_unique(self, column: str, seat: str) -> int:
        owner, seat = self._route(seat)
        return owner.n_unique(column, seat)

    def value_counts(self, column: str, seat: str) -> ValueCounts:
        owner, seat = self._route(seat)
        return owner.value_counts(column, seat)

    def category_counts(self, column: str, seat: str) -> CategoryCounts:
        owner, seat = self._route(seat)
        return owner.category_counts(column, seat)

    def associations(
        self, seat: str, numeric: Sequence[str], categories: Mapping[str, Sequence[str | None]]
    ) -> AssociationStats:
        owner, seat = self._route(seat)
        return owner.associations(seat, numeric, categories)

    def row_matches(self, columns: Sequence[str], query: str, references: Sequence[str] = ()) -> RowMatches:
        seats = (query, *references)
        if self._name in {self.table(s) for s in seats}:
            raise NotImplementedError("row matches against a baseline draw are not computed")
        return self._base.reseated(**{s: self.table(s) for s in seats}).row_matches(columns, query, references)

    def canonical_order(self, seat: str) -> np.ndarray:
        owner, seat = self._route(seat)
        return owner.canonical_order(seat)

    def row_sample(self, seat: str, rows: np.ndarray) -> TableSummaries:
        owner, seat = self._route(seat)
        return owner.row_sample(seat, rows)
