"""``TableSummaries`` computed by Spark over the whole tables (only built-in Spark SQL on executors,
and Spark ML's JVM ``Bucketizer``: no Python runs there).

Each summary is one small aggregation whose result comes back to the driver through Arrow:
distinct values with counts per numeric column (raw values pulled and counted on the driver up to
``PULL_ROWS`` rows, else counted by Spark; the driver holds one column's at a time), category counts of
every categorical column in one grouping-sets pass, the association sufficient statistics of the
ranks (``_associations``), and row matches as joins on a 128-bit row hash (two seeded xxhash64 over
every column and its null flag): rows per distinct hash of the query table (grouped once per table
and persisted), left-joined to rows per distinct hash of each reference table, counted per match
profile, so the driver holds only that histogram (``summaries.RowMatches``)."""

from __future__ import annotations

import math
import uuid
import zlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

from ..ranks import RankMap
from ..schema import ColumnKind, Schema
from ..stats import distinct_counts
from ..summaries import AssociationStats, CategoryCounts, RowMatches, TableSummaries, ValueCounts
from ._associations import associations
from ._coerce import col as _col
from ._coerce import numeric_view
from ._spill import CountSpill

__all__ = ["SparkTable", "SparkSummaries"]

_NUMERIC = (ColumnKind.NUMERIC, ColumnKind.DATETIME)
_CATEGORICAL = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
#: up to this many numeric cells a table's value counts come back in one job (fewer, small jobs);
#: beyond, one column at a time, so the driver holds one column's distinct values at most
BATCH_CELLS = 2_000_000
#: numeric (not datetime) columns of tables up to this many rows come to the driver as raw values
#: through Arrow (8 bytes a row) and are counted there, ``PULL_CELLS`` values a job: on local[2] a
#: shuffle of ~n distinct values costs 5x a pull (``benchmarks/README.md``). Beyond, and for datetime
#: columns (few distinct values: their shuffle is small), Spark counts them (``_value_counts``)
PULL_ROWS = 50_000_000
PULL_CELLS = 16_000_000
#: bytes of value counts kept in the driver's memory for the run, the holdout's included
#: (``SparkSummaries._keep``); beyond, on local disk (``_spill``), read back in 0.02-0.9 s a 10M-row column
KEEP_BYTES = 256 << 20


@dataclass
class SparkTable:
    """One validated input: the coerced Spark DataFrame (schema columns only) and its counts."""

    name: str
    source: str
    frame: Any
    n_rows: int
    missing: dict[str, int]


class SparkSummaries(TableSummaries):
    """Summaries of Spark tables; the ``EvalInput`` frames beside them are samples."""

    frames_are_samples = True
    engine = "spark"

    def __init__(self, tables: Mapping[str, SparkTable], schema: Schema, environment: Mapping[str, str]):
        super().__init__({name: name for name in tables})
        self._persisted: list[Any] = []  # shared by every view: what ``release`` unpersists
        self._kept_bytes = [0]  # shared by every view: the value counts' bytes in the cache (``_keep``)
        self._spill = CountSpill()  # shared by every view: the value counts beyond KEEP_BYTES, on disk
        self._holdout_table = self._seats.get("holdout")
        self._tables = dict(tables)
        self._schema = schema
        self._environment = dict(environment)

    def environment(self) -> dict[str, str]:
        return dict(self._environment)

    def release(self) -> None:
        """Unpersist what the run persisted (a borrowed session outlives the run) and remove the
        spilled value counts."""
        while self._persisted:
            self._persisted.pop().unpersist()
        self._spill.clear()

    def spark_table(self, seat: str) -> SparkTable:
        return self._tables[self.table(seat)]

    def n_rows(self, seat: str) -> int:
        return self.spark_table(seat).n_rows

    def missing_counts(self, seat: str) -> dict[str, int]:
        return dict(self.spark_table(seat).missing)

    def n_unique(self, column: str, seat: str) -> int:
        kind = self._schema[column]
        if kind in _NUMERIC:
            return int(self.value_counts(column, seat).values.size)
        if kind in _CATEGORICAL:
            return len(self.category_counts(column, seat).present())
        from pyspark.sql import functions as F

        table = self.spark_table(seat)
        return self._cached(
            (table.name, "n_unique", column),
            lambda: int(table.frame.agg(F.count_distinct(_col(column))).collect()[0][0]),
        )

    def value_counts(self, column: str, seat: str) -> ValueCounts:
        table = self.spark_table(seat)
        key: Hashable = (table.name, "values", column)
        if key not in self._cache:
            spilled = self._spill.get(key)
            if spilled is not None:
                return spilled
            kind = self._schema[column]
            pending = [c for c in self._schema.columns(kind) if not self._counted((table.name, "values", c))]
            # the other columns come along only while they can be kept: counted and dropped, they are waste
            room = table.name == self._holdout_table or self._kept_bytes[0] < KEEP_BYTES or self._spill.has_room
            pending = [column, *[c for c in pending if c != column and room]]
            if kind is ColumnKind.NUMERIC and table.n_rows <= PULL_ROWS:
                counted = _pulled_value_counts(table, pending[: max(1, PULL_CELLS // max(table.n_rows, 1))])
            else:
                batch = pending if table.n_rows * len(pending) <= BATCH_CELLS else [column]
                counted = _value_counts(table, self._schema, batch)
            for name, counts in counted.items():
                self._keep((table.name, "values", name), counts)
            return counted[column]
        return self._cache[key]

    def _counted(self, key: tuple[str, str, str]) -> bool:
        return key in self._cache or key in self._spill

    def _keep(self, key: tuple[str, str, str], counts: ValueCounts) -> None:
        """Cache ``counts`` in memory while the kept value counts (the holdout's included) total at
        most ``KEEP_BYTES``; the holdout's always, past it too (every marginal baseline draw reads
        them). Beyond, they go to local disk (``_spill.CountSpill``, up to ``SPILL_BYTES``) and are read
        back from there: at 10M rows the three tables' continuous columns would hold 3.5 GB on the
        driver for the whole run, and counting a 10M-row column again costs ~4 s against 0.02-0.9 s to read it back."""
        size = counts.values.nbytes + counts.counts.nbytes
        if key[0] == self._holdout_table or self._kept_bytes[0] + size <= KEEP_BYTES:
            self._cache[key] = counts
            self._kept_bytes[0] += size
        else:
            self._spill.put(key, counts)

    def forget_value_counts(self) -> None:
        """Drop the real and synthetic value counts, in memory and on disk; the holdout's stay (later
        metrics' baseline draws read them). The sampled privacy metrics that follow never read them."""
        for key in [k for k in self._cache if _is_values_key(k) and k[0] != self._holdout_table]:
            counts = self._cache.pop(key)
            self._kept_bytes[0] -= counts.values.nbytes + counts.counts.nbytes
        self._spill.clear()  # never the holdout's: those stay in memory

    def rank_map(self, column: str, seat: str) -> RankMap:
        """``TableSummaries.rank_map``, kept (≤ 4,097 knots) when the value counts are not."""
        return self._cached(
            (self.table(seat), "rank_map", column), lambda: super(SparkSummaries, self).rank_map(column, seat)
        )

    def category_counts(self, column: str, seat: str) -> CategoryCounts:
        table = self.spark_table(seat)
        key: Hashable = (table.name, "categories", column)
        if key not in self._cache:
            columns = [c for c in self._schema.columns(*_CATEGORICAL)]
            if column not in columns:
                columns = [column]
            for name, counts in _category_counts(table.frame, columns).items():
                self._cache[(table.name, "categories", name)] = counts
        return self._cache[key]

    def associations(
        self, seat: str, numeric: Sequence[str], categories: Mapping[str, Sequence[str | None]]
    ) -> AssociationStats:
        table = self.spark_table(seat)
        key = (table.name, "associations", tuple(numeric), tuple((c, tuple(v)) for c, v in categories.items()))

        def build() -> AssociationStats:
            maps = [self.rank_map(c, seat) for c in numeric]
            return associations(table.frame, self._schema, list(numeric), categories, maps, table.missing)

        return self._cached(key, build)

    # -- the holdout baseline's row samples ------------------------------------------------------
    def _positioned(self, seat: str) -> Any:
        """The table with ``__qaharness_pos``: each row's position in the canonical order
        (``qaharness.summaries.canonical_order``), persisted so every draw reads one arrangement."""
        table = self.spark_table(seat)
        return self._cached((table.name, "positioned"), lambda: _positioned(table.frame, self._schema, self._persisted))

    def row_sample(self, seat: str, rows: np.ndarray) -> TableSummaries:
        """The drawn rows, joined in by position and brought to the driver (a baseline draw holds at
        most ``_draws.ROW_DRAW_MAX`` rows), summarised there by ``PandasSummaries``: one pass per
        draw, and the same arithmetic as the pandas engine's on the same rows."""
        from pyspark.sql import functions as F

        from .._draws import DrawnSeat
        from ..summaries import PandasSummaries

        rows = np.asarray(rows, dtype=np.int64)
        positions, repeats = np.unique(rows, return_counts=True)
        session = self.spark_table(seat).frame.sparkSession
        picks = session.createDataFrame(pd.DataFrame({_POS: positions}))
        columns = [_summary_view(c, kind).alias(f"c{i}") for i, (c, kind) in enumerate(self._schema.items())]
        picked = self._positioned(seat).join(F.broadcast(picks), _POS).select(_POS, *columns).toPandas()
        picked = picked.sort_values(_POS, kind="stable")
        assert np.array_equal(picked[_POS].to_numpy(dtype=np.int64), positions), "positions missing from the holdout"
        frame = picked.drop(columns=_POS).set_axis(list(self._schema), axis=1)
        frame = frame.iloc[np.repeat(np.arange(len(frame)), repeats)].reset_index(drop=True)
        # the name names the draw: a second metric asking for the same rows reads the same summaries
        name = f"{self.table(seat)}~sample{rows.size}:{zlib.crc32(rows.tobytes()):08x}"
        return DrawnSeat(self, PandasSummaries({name: frame}, self._schema, seats={"synthetic": name}))

    # -- row matches ----------------------------------------------------------------------------
    def _hashed(self, columns: Sequence[str], seat: str) -> Any:
        from pyspark.sql import functions as F

        parts = [x for c in columns for x in (_col(c), _col(c).isNull())]
        return self.spark_table(seat).frame.select(
            F.xxhash64(F.lit("qaharness:a"), *parts).alias("h1"), F.xxhash64(F.lit("qaharness:b"), *parts).alias("h2")
        )

    def _grouped_hashes(self, columns: Sequence[str], seat: str) -> Any:
        """Rows per distinct row hash of the table in ``seat``, persisted on disk: a table is a query or a
        reference of several match counts (the real table of three in a gate)."""
        from pyspark.sql import functions as F

        def build() -> Any:
            grouped = self._hashed(columns, seat).groupBy("h1", "h2").agg(F.count(F.lit(1)).alias("rows"))
            return _persist(grouped, self._persisted)

        return self._cached((self.table(seat), "grouped_hashes", tuple(columns)), build)

    def row_matches(self, columns: Sequence[str], query: str, references: Sequence[str] = ()) -> RowMatches:
        key = (self.table(query), "row_matches", tuple(columns), tuple(self.table(r) for r in references))
        return self._cached(key, lambda: self._row_matches(columns, query, references))

    def _row_matches(self, columns: Sequence[str], query: str, references: Sequence[str]) -> RowMatches:
        """Rows per distinct query hash, left-joined to rows per distinct hash of each reference,
        then counted per profile: the driver gets the histogram of profiles only."""
        from pyspark.sql import functions as F

        names = [f"r{i}" for i in range(len(references))]
        profiles = self._grouped_hashes(columns, query).withColumnRenamed("rows", "m")
        for name, reference in zip(names, references):
            profiles = profiles.join(
                self._grouped_hashes(columns, reference).withColumnRenamed("rows", name), ["h1", "h2"], "left"
            )
        counts = [F.coalesce(F.col(name), F.lit(0)).alias(name) for name in names]
        histogram = profiles.select("m", *counts).groupBy("m", *names).agg(F.count(F.lit(1)).alias("rows")).toPandas()
        matrix = histogram[names].to_numpy(dtype=np.int64).T.reshape(len(names), len(histogram))
        return RowMatches.of_profiles(histogram["m"].to_numpy(dtype=np.int64), matrix, histogram["rows"].to_numpy())


_POS = "__qaharness_pos"


def _summary_view(column: str, kind: ColumnKind) -> Any:
    """What the summaries read of a column, as the driver receives a baseline draw: numeric and
    datetime columns as ``numeric_view``, categorical and boolean ones as their string labels (the
    category counts' labels), other kinds only as present ("") or missing."""
    from pyspark.sql import functions as F

    if kind in _NUMERIC:
        return numeric_view(column, kind)
    if kind in _CATEGORICAL:
        return _col(column).cast("string")
    return F.when(_col(column).isNotNull(), F.lit(""))


def _persist(frame: Any, persisted: list[Any]) -> Any:
    """``frame`` persisted on disk (not in the driver's heap, which local mode shares with the executors),
    appended to ``persisted``. Spark finds cached data by query plan, so a plan over the same paths in a
    later run would read this run's copy — stale when the files changed and the run did not release:
    a run-unique literal column in the persisted plan keeps it this run's own."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    token = "__qaharness_run"
    kept = frame.withColumn(token, F.lit(uuid.uuid4().hex)).persist(StorageLevel.DISK_ONLY)
    persisted.append(kept)
    return kept.drop(token)


def _positioned(frame: Any, schema: Schema, persisted: list[Any]) -> Any:
    """``frame`` with each row's position in the canonical order, 0-based and contiguous.

    Sorted by the keys of ``qaharness.summaries.canonical_order`` (numeric values — Spark orders
    −0.0 with 0.0, as numpy does —, category labels as strings, missing last, then null flags);
    ``monotonically_increasing_id`` after the sort grows in sort order, and the per-partition row
    counts turn it into positions. Persisted (``_persist``): the arrangement of tied rows must not
    change between the count and the draws."""
    from pyspark.sql import functions as F

    keys = []
    for column, kind in schema.items():
        if kind in _NUMERIC:
            keys.append(numeric_view(column, kind).asc_nulls_last())
        elif kind in _CATEGORICAL:
            keys.append(_col(column).cast("string").asc_nulls_last())
        else:
            keys.append(_col(column).isNull().asc())
    ordered = frame.orderBy(*keys) if keys else frame
    with_id = _persist(ordered.withColumn("__qaharness_id", F.monotonically_increasing_id()), persisted)
    part = F.shiftright(F.col("__qaharness_id"), 33)
    sizes = with_id.groupBy(part.alias("p")).agg(F.count(F.lit(1)).alias("n")).toPandas().sort_values("p")
    offsets = np.concatenate([[0], np.cumsum(sizes["n"].to_numpy(dtype=np.int64))[:-1]])
    start: Any = F.lit(0)
    for p, offset in zip(sizes["p"].to_numpy(dtype=np.int64).tolist(), offsets.tolist()):
        start = F.when(part == F.lit(p), F.lit(int(offset))).otherwise(start)
    inner = F.col("__qaharness_id") - F.shiftleft(part, 33)
    return with_id.withColumn(_POS, (start + inner).cast("long")).drop("__qaharness_id")


def _value_counts(table: SparkTable, schema: Schema, columns: list[str]) -> dict[str, ValueCounts]:
    """Sorted distinct values and counts of each numeric column, in one job."""
    from pyspark.sql import functions as F

    entries = [F.struct(F.lit(i).alias("k"), numeric_view(c, schema[c]).alias("v")) for i, c in enumerate(columns)]
    stacked = table.frame.select(F.explode(F.array(*entries)).alias("e")).select("e.k", "e.v")
    counted = stacked.where(F.col("v").isNotNull()).groupBy("k", "v").count().toPandas()
    keys = counted["k"].to_numpy(dtype=int)
    values, counts = counted["v"].to_numpy(dtype=float), counted["count"].to_numpy(dtype=np.int64)
    out = {}
    for i, column in enumerate(columns):
        mine = keys == i
        order = np.argsort(values[mine], kind="stable")
        out[column] = ValueCounts(values[mine][order], counts[mine][order], table.missing[column])
    return out


def _is_values_key(key: Hashable) -> TypeGuard[tuple[str, str, str]]:
    return isinstance(key, tuple) and len(key) == 3 and key[1] == "values"


def _pulled_value_counts(table: SparkTable, columns: list[str]) -> dict[str, ValueCounts]:
    """Distinct values and counts of numeric columns from their raw values on the driver (one job).

    The Arrow batches become one float array per column, the column's batches are let go, and the
    array is sorted and counted in place (``distinct_counts(overwrite=True)``): the driver's transient
    is the raw column and a flag a value, about half of going through pandas and ``np.unique``'s copies."""
    pulled = table.frame.select(*[_col(c).cast("double").alias(f"c{i}") for i, c in enumerate(columns)]).toArrow()
    out = {}
    for column in columns:
        raw = pulled.column(0).to_numpy()  # nulls become NaN (missing): a new array; else a read-only view
        pulled = pulled.remove_column(0)  # the column's batches go once no view of them is left
        distinct, counts = distinct_counts(raw, overwrite=True)  # a read-only view is copied first
        out[column] = ValueCounts(distinct, counts, table.missing[column])
    return out


def _category_counts(frame: Any, columns: list[str]) -> dict[str, CategoryCounts]:
    """Counts per label (None = missing) of every column, in one grouping-sets pass."""
    from pyspark.sql import functions as F

    strings = [_col(c).cast("string").alias(f"c{i}") for i, c in enumerate(columns)]
    names = [f"c{i}" for i in range(len(columns))]
    grouped = frame.select(*strings).groupingSets([[n] for n in names], *names)
    rows = grouped.agg(F.count(F.lit(1)).alias("n"), *[F.grouping(n).alias(f"g{n}") for n in names]).toPandas()
    out = {}
    for column, name in zip(columns, names):
        mine = rows[rows[f"g{name}"] == 0]
        labels = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in mine[name]]
        out[column] = CategoryCounts.of(dict(zip(labels, mine["n"].astype(int).tolist())))
    return out
