"""Compact summaries of the tables, the only thing the exact metrics read.

KS, Jensen–Shannon, Wasserstein, coverage, missingness, the association differences, exact
matches, holdout overlap and the provenance tag share never need the rows themselves, only small summaries of
them: per column the sorted distinct values with their counts (``ValueCounts``), the category
counts (``CategoryCounts``), one table's association sufficient statistics
(``AssociationStats``), and one table's identical rows against others as a histogram of match
profiles (``RowMatches``). ``TableSummaries`` is that interface.
``PandasSummaries`` builds it from the in-memory frames of an ``EvalInput`` (the default engine);
``qaharness.spark`` builds it from Spark tables. The metrics finish the arithmetic from the
summaries with the same functions (``qaharness.stats``) whichever engine built them, so the two
engines agree to floating-point rounding.

Summaries are asked for by *seat* (``real``, ``synthetic``, ``holdout``); ``reseated`` puts
another table in a seat (the holdout baseline puts the holdout in the synthetic seat) and keeps
the cache, so a table summarised once is never summarised again in the run.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .ranks import RankMap
from .schema import ColumnKind, Schema
from .stats import distinct_counts

__all__ = [
    "ValueCounts",
    "CategoryCounts",
    "AssociationStats",
    "RowMatches",
    "TableSummaries",
    "PandasSummaries",
    "row_hashes",
    "as_float",
    "category_index",
    "canonical_order",
    "contingency_tables",
    "MAX_JOINT_CATEGORIES",
]

SEATS = ("real", "synthetic", "holdout")
#: categorical codes of all columns together up to this many: every pair's contingency table from one
#: co-occurrence matrix (≤ 4,000² counts, 128 MB); beyond, pair by pair
MAX_JOINT_CATEGORIES = 4_000


@dataclass(frozen=True)
class ValueCounts:
    """One numeric/datetime column of one table: sorted distinct non-missing values (float64,
    datetimes as nanoseconds since the epoch), how often each occurs, and the missing count."""

    values: np.ndarray
    counts: np.ndarray
    missing: int = 0

    @property
    def n(self) -> int:
        """Non-missing values."""
        return int(self.counts.sum())

    @property
    def pair(self) -> tuple[np.ndarray, np.ndarray]:
        return self.values, self.counts

    @classmethod
    def of(cls, values: np.ndarray) -> ValueCounts:
        """From raw float values, NaN = missing."""
        values = np.asarray(values, dtype=float)
        distinct, counts = distinct_counts(values)  # of a sorted copy, NaN left out
        return cls(distinct, counts, int(values.size - counts.sum()))


def _label_order(item: tuple[str | None, int]) -> tuple[int, int, str]:
    label, count = item
    return (-count, label is not None, label or "")


@dataclass(frozen=True)
class CategoryCounts:
    """One categorical/boolean column of one table: each label (None = missing) with its count,
    most frequent first, ties by label (missing first), so both engines list them alike."""

    labels: tuple[str | None, ...]
    counts: np.ndarray

    @classmethod
    def of(cls, counts: Mapping[str | None, int]) -> CategoryCounts:
        ordered = sorted(((k, int(v)) for k, v in counts.items() if v > 0), key=_label_order)
        return cls(tuple(k for k, _ in ordered), np.array([v for _, v in ordered], dtype=np.int64))

    def as_dict(self) -> dict[str | None, int]:
        return dict(zip(self.labels, self.counts.tolist()))

    def present(self) -> set[str]:
        """The non-missing labels."""
        return {label for label in self.labels if label is not None}

    def top(self, k: int) -> list[str | None]:
        """The ``k`` most frequent labels (missing may be one of them)."""
        return list(self.labels[:k])


@dataclass(frozen=True)
class AssociationStats:
    """Sufficient statistics of one table's pairwise associations (``fidelity.corr_diff``).

    Numeric/datetime values are replaced by their ranks within the table (``ranks.RankMap`` from the
    table's own value counts: mid-ranks scaled to (0, 1), missing stays missing), so the Pearson r
    of these sums is Spearman's ρ and the η is that of the ranks.
    For numeric columns i, j (``numeric`` order), over the rows where both are present:
    ``n[i, j]`` rows, ``sx[i, j]`` the sum of column i, ``sxx[i, j]`` the sum of its squares,
    ``sxy[i, j]`` the sum of the products. Categorical columns are coded by a fixed label list
    (code = position, anything else = one pooled code at the end): ``groups[c] = (count, total)``,
    per code (rows) and numeric column, the present values and the sum of their ranks; ``tables[(a, b)]`` the
    contingency table of the codes of a and b.
    """

    numeric: tuple[str, ...]
    n: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    groups: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    tables: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class RowMatches:
    """Identical rows of one table (the *query*) against reference tables, over some columns.

    A histogram of *match profiles*: every distinct query row has a multiplicity (how many query
    rows hold it) and a count in each reference table; ``rows[i]`` distinct query rows share the
    profile (``multiplicity[i]``, ``reference_counts[:, i]``). Profiles are sorted (multiplicity,
    then each reference's count), so both engines list them alike. Without references it is the
    histogram of the table's identical-row group sizes. What the exact-match statistics need
    (``qaharness.metrics._rows``): shares, cluster-robust variances (identical rows are one
    cluster) and the pooled attribution depend on the rows only through these profiles.
    """

    multiplicity: np.ndarray
    reference_counts: np.ndarray
    rows: np.ndarray

    @classmethod
    def of_profiles(cls, multiplicity: np.ndarray, reference_counts: np.ndarray, rows: np.ndarray) -> RowMatches:
        """From unsorted, distinct profiles (``reference_counts``: one row per reference)."""
        multiplicity = np.asarray(multiplicity, dtype=np.int64)
        reference_counts = np.asarray(reference_counts, dtype=np.int64)
        assert reference_counts.ndim == 2 and reference_counts.shape[1] == multiplicity.size
        order = np.lexsort((*reference_counts[::-1], multiplicity))
        return cls(multiplicity[order], reference_counts[:, order], np.asarray(rows, dtype=np.int64)[order])

    @classmethod
    def of(cls, query: np.ndarray, *references: np.ndarray) -> RowMatches:
        """From row keys (hashes) of the query table and of each reference table."""
        keys, multiplicity = np.unique(query, return_counts=True)
        counts = [_counts_at(keys, reference) for reference in references]
        profiles = np.column_stack([multiplicity, *counts]) if keys.size else np.empty((0, 1 + len(counts)), np.int64)
        distinct, rows = np.unique(profiles, axis=0, return_counts=True)
        return cls.of_profiles(distinct[:, 0], distinct[:, 1:].T, rows)

    @property
    def n_rows(self) -> int:
        """Rows of the query table."""
        return int((self.rows * self.multiplicity).sum())

    @property
    def distinct(self) -> int:
        """Distinct rows of the query table."""
        return int(self.rows.sum())

    def in_reference(self, *which: int) -> np.ndarray:
        """Per profile: its query rows equal some row of reference ``which`` (any of them; all when omitted)."""
        picked = self.reference_counts[list(which) if which else slice(None)]
        return (picked > 0).any(axis=0)

    def matched_rows(self, *which: int) -> int:
        """Query rows identical to some row of the references ``which`` (of any reference when omitted)."""
        return int((self.rows * self.multiplicity)[self.in_reference(*which)].sum())


def _counts_at(keys: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """How often each of the sorted distinct ``keys`` occurs in ``reference`` (0 where absent)."""
    values, counts = np.unique(reference, return_counts=True)
    if values.size == 0:
        return np.zeros(keys.size, dtype=np.int64)
    pos = np.minimum(np.searchsorted(values, keys), values.size - 1)
    return np.where(values[pos] == keys, counts[pos], 0).astype(np.int64)


class TableSummaries:
    """The summaries of the tables in the real, synthetic and holdout seats. Engines subclass it.

    ``frames_are_samples`` is True when the frames of the ``EvalInput`` these summaries belong to
    are samples of the tables summarised (the Spark engine); metrics that read the frames then
    run on the sample, and say so in their details.
    """

    frames_are_samples: ClassVar[bool] = False
    engine: ClassVar[str] = "pandas"

    def __init__(self, seats: Mapping[str, str] | None = None, cache: dict[Hashable, Any] | None = None):
        self._seats = dict(seats or {s: s for s in SEATS})
        self._cache: dict[Hashable, Any] = cache if cache is not None else {}

    def table(self, seat: str) -> str:
        """The name of the table sitting in ``seat``."""
        if seat not in self._seats:
            raise KeyError(f"no {seat} table in this input")
        return self._seats[seat]

    def has(self, seat: str) -> bool:
        return seat in self._seats

    def reseated(self, **seats: str) -> TableSummaries:
        """A view with other tables in some seats (``synthetic="holdout"``), sharing the cache."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._seats = {**self._seats, **seats}
        return clone

    def _cached(self, key: Hashable, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def forget_value_counts(self) -> None:
        """Drop the value counts kept for the real and synthetic tables: no later metric of the run
        reads them (``Metric.reads_value_counts``); asked again, they are counted again. A no-op here:
        the pandas engine holds the frames they come from anyway."""

    def environment(self) -> dict[str, str]:
        """What results.json's ``environment`` should add about the engine (nothing for pandas)."""
        return {}

    def non_missing(self, column: str, seat: str) -> int:
        """Present (non-missing) values of ``column``."""
        return self.n_rows(seat) - self.missing_counts(seat)[column]

    # -- the interface (every engine implements these, in terms of table names) -------------
    def n_rows(self, seat: str) -> int:
        raise NotImplementedError

    def missing_counts(self, seat: str) -> dict[str, int]:
        """Missing values per column (every column of the schema)."""
        raise NotImplementedError

    def n_unique(self, column: str, seat: str) -> int:
        """Distinct non-missing values of ``column``."""
        raise NotImplementedError

    def value_counts(self, column: str, seat: str) -> ValueCounts:
        raise NotImplementedError

    def category_counts(self, column: str, seat: str) -> CategoryCounts:
        raise NotImplementedError

    def associations(
        self, seat: str, numeric: Sequence[str], categories: Mapping[str, Sequence[str | None]]
    ) -> AssociationStats:
        raise NotImplementedError

    def rank_map(self, column: str, seat: str) -> RankMap:
        """The ranks of a numeric/datetime column within the table in ``seat``, from its value counts
        (``ranks.RankMap``): the one map both engines apply for the association statistics."""
        return RankMap.of(*self.value_counts(column, seat).pair)

    def row_matches(self, columns: Sequence[str], query: str, references: Sequence[str] = ()) -> RowMatches:
        """The ``query`` table's rows against each ``references`` table, identical over ``columns``
        (missing equals missing): ``RowMatches``, the histogram of match profiles."""
        raise NotImplementedError

    def canonical_order(self, seat: str) -> np.ndarray:
        """Row positions of the table in ``seat`` in canonical order (``canonical_order``)."""
        raise NotImplementedError

    def row_sample(self, seat: str, rows: np.ndarray) -> TableSummaries:
        """A view whose synthetic seat holds the rows of ``seat`` at the sorted positions ``rows`` of
        its canonical order (a position may repeat: a bootstrap). The holdout baseline's draws."""
        raise NotImplementedError


# -- helpers shared by the engines' builders ---------------------------------------------------
def as_float(series: pd.Series) -> np.ndarray:
    """Float values of a numeric or datetime column (datetimes as ns), missing as NaN."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = series.astype("int64").to_numpy(dtype=float)
        out[series.isna().to_numpy()] = np.nan
        return out
    return series.to_numpy(dtype=float)


def category_index(labels: Sequence[str | None]) -> dict[str | None, int]:
    """Code of each label (its position); every other value gets the pooled code ``len(labels)``."""
    return {label: i for i, label in enumerate(labels)}


def canonical_order(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Row positions that sort ``frame`` canonically: by every numeric/datetime column's value, then
    every categorical/boolean column's label (code point order), missing last, then where the other
    columns are missing. Rows tied on all of it are interchangeable for every summary a baseline
    reads, so a position in this order names the same row on every engine, whatever order it read
    the table in."""
    keys: dict[str, Any] = {}
    for i, (column, kind) in enumerate(schema.items()):
        series = frame[column]
        if numeric_kind(kind):
            keys[f"k{i}"] = as_float(series)
        elif kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
            keys[f"k{i}"] = [None if pd.isna(v) else str(v) for v in series.astype(object)]
        else:
            keys[f"k{i}"] = series.isna().to_numpy()
    if not keys:
        return np.arange(len(frame))
    table = pd.DataFrame(keys, index=pd.RangeIndex(len(frame)))
    ordered = table.sort_values(list(keys), na_position="last", kind="mergesort")
    return ordered.index.to_numpy()


def row_hashes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """64-bit hash per row over ``columns`` (frames share dtypes, so equal rows hash equal)."""
    return pd.util.hash_pandas_object(frame[list(columns)], index=False).to_numpy()


class PandasSummaries(TableSummaries):
    """Summaries computed from in-memory frames (the default engine). Frames are read-only."""

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame | None],
        schema: Schema,
        *,
        seats: Mapping[str, str] | None = None,
        cache: dict[Hashable, Any] | None = None,
    ):
        present = {name: frame for name, frame in frames.items() if frame is not None}
        super().__init__(seats or {s: s for s in present}, cache)
        self._frames = present
        self._frames_by_id = {id(frame): frame for frame in present.values()}
        self._schema = schema

    def _frame(self, seat: str) -> pd.DataFrame:
        return self._frames[self.table(seat)]

    def _key(self, seat: str, *parts: Hashable) -> tuple:
        return (id(self._frame(seat)), *parts)

    def _cached(self, key: Hashable, build, frames: Sequence[pd.DataFrame] | None = None):
        # the cache outlives a frame passed to ``with_synthetic``: keep the frames with the value and
        # check their identity, so a recycled id() can never return another frame's summary
        # (``frames``: every frame the value depends on; default the one whose id leads the key)
        if frames is None:
            frames = [self._frames_by_id.get(key[0])] if isinstance(key, tuple) else []
        entry = self._cache.get(key)
        if entry is None or len(entry[0]) != len(frames) or any(a is not b for a, b in zip(entry[0], frames)):
            entry = (tuple(frames), build())
            self._cache[key] = entry
        return entry[1]

    def n_rows(self, seat: str) -> int:
        return len(self._frame(seat))

    def missing_counts(self, seat: str) -> dict[str, int]:
        frame = self._frame(seat)
        return self._cached(self._key(seat, "missing"), lambda: {str(c): int(v) for c, v in frame.isna().sum().items()})

    def n_unique(self, column: str, seat: str) -> int:
        frame = self._frame(seat)
        return self._cached(self._key(seat, "n_unique", column), lambda: int(frame[column].nunique(dropna=True)))

    def value_counts(self, column: str, seat: str) -> ValueCounts:
        frame = self._frame(seat)
        return self._cached(self._key(seat, "values", column), lambda: ValueCounts.of(as_float(frame[column])))

    def category_counts(self, column: str, seat: str) -> CategoryCounts:
        frame = self._frame(seat)

        def build() -> CategoryCounts:
            counts = frame[column].value_counts(dropna=False)
            return CategoryCounts.of({(None if pd.isna(k) else str(k)): int(v) for k, v in counts.items()})

        return self._cached(self._key(seat, "categories", column), build)

    def associations(
        self, seat: str, numeric: Sequence[str], categories: Mapping[str, Sequence[str | None]]
    ) -> AssociationStats:
        key = self._key(seat, "associations", tuple(numeric), tuple((c, tuple(v)) for c, v in categories.items()))
        return self._cached(key, lambda: self._associations(seat, numeric, categories))

    def _associations(
        self, seat: str, numeric: Sequence[str], categories: Mapping[str, Sequence[str | None]]
    ) -> AssociationStats:
        frame = self._frame(seat)
        block = (
            np.column_stack([self.rank_map(c, seat).apply(as_float(frame[c])) for c in numeric])
            if numeric
            else np.empty((len(frame), 0))
        )
        missing = np.isnan(block)
        present = (~missing).astype(float)
        x = np.where(missing, 0.0, block)
        codes = {c: _codes(frame[c], labels) for c, labels in categories.items()}
        groups = {}
        if numeric:
            from scipy import sparse

            for c, code in codes.items():
                k = len(categories[c]) + 1
                one_hot = sparse.csr_matrix((np.ones(code.size), (code, np.arange(code.size))), shape=(k, code.size))
                groups[c] = (np.asarray(one_hot @ present), np.asarray(one_hot @ x))
        names = list(categories)
        by_index = contingency_tables([codes[c] for c in names], [len(categories[c]) + 1 for c in names])
        tables = {(names[i], names[j]): table for (i, j), table in by_index.items()}
        return AssociationStats(
            numeric=tuple(numeric),
            n=present.T @ present,
            sx=x.T @ present,
            sxx=(x * x).T @ present,
            sxy=x.T @ x,
            groups=groups,
            tables=tables,
        )

    def _hashes(self, columns: Sequence[str], seat: str) -> np.ndarray:
        frame = self._frame(seat)
        return self._cached(self._key(seat, "hashes", tuple(columns)), lambda: row_hashes(frame, columns))

    def row_matches(self, columns: Sequence[str], query: str, references: Sequence[str] = ()) -> RowMatches:
        seats = (query, *references)
        key = (*self._key(query, "row_matches", tuple(columns)), tuple(id(self._frame(s)) for s in seats))
        return self._cached(
            key, lambda: RowMatches.of(*(self._hashes(columns, s) for s in seats)), [self._frame(s) for s in seats]
        )

    def canonical_order(self, seat: str) -> np.ndarray:
        frame = self._frame(seat)
        return self._cached(self._key(seat, "canonical_order"), lambda: canonical_order(frame, self._schema))

    def row_sample(self, seat: str, rows: np.ndarray) -> TableSummaries:
        frame = self._frame(seat)
        sample = frame.iloc[self.canonical_order(seat)[rows]].reset_index(drop=True)
        name = f"{self.table(seat)}~sample{len(self._frames)}"
        frames = {**self._frames, name: sample}
        return PandasSummaries(frames, self._schema, seats={**self._seats, "synthetic": name}, cache=self._cache)


def contingency_tables(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> dict[tuple[int, int], np.ndarray]:
    """The contingency table of every pair (i < j) of code arrays (codes of column i in 0..sizes[i]-1).

    Vectorised: with the one-hot blocks O (rows × all codes), C = OᵀO holds every pair's table as a
    block, from one sparse product; pair by pair (``np.bincount``) when the codes together exceed
    ``MAX_JOINT_CATEGORIES``. Integer counts either way, so the tables are exact."""
    pairs = list(itertools.combinations(range(len(codes)), 2))
    if not pairs:
        return {}
    if sum(sizes) > MAX_JOINT_CATEGORIES:
        return {
            (i, j): np.bincount(codes[i] * sizes[j] + codes[j], minlength=sizes[i] * sizes[j]).reshape(-1, sizes[j])
            for i, j in pairs
        }
    from scipy import sparse

    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = codes[0].size
    onehot = sparse.csr_matrix(
        (
            np.ones(n * len(codes), dtype=np.int64),
            (np.tile(np.arange(n), len(codes)), np.concatenate([c + o for c, o in zip(codes, offsets[:-1])])),
        ),
        shape=(n, int(offsets[-1])),
    )
    joint = (onehot.T @ onehot).toarray()
    return {(i, j): joint[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]].copy() for i, j in pairs}


def _codes(series: pd.Series, labels: Sequence[str | None]) -> np.ndarray:
    """Codes of a categorical column by ``labels`` (missing matches a None label); others pooled."""
    index = category_index(labels)
    factor, uniques = pd.factorize(series, use_na_sentinel=True)  # missing → -1
    table = np.array([index.get(str(u), len(labels)) for u in uniques] + [index.get(None, len(labels))])
    return table[factor]


def numeric_kind(kind: ColumnKind) -> bool:
    return kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME)
