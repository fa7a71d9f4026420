"""``TableSummaries`` computed by Spark over the whole tables (only built-in Spark SQL on executors,
and Spark ML's JVM ``Bucketizer``: no Python runs there).

Each summary is one small aggregation whose result comes back to the driver through Arrow:
distinct values with counts per numeric column (the driver holds one column's at a time: 16 bytes
per distinct value), category counts of every categorical column in one grouping-sets pass, the
association sufficient statistics of the ranks in three passes (each numeric value's rank by a
``Bucketizer`` lookup of its table's rank knots and a broadcast join with the map; pairwise sums; per-category
sums; every contingency table in one grouping-sets pass), and row matches as joins on a 128-bit row
hash (two seeded xxhash64 over every column and its null flag): rows per distinct hash of the query
table, left-joined to rows per distinct hash of each reference table, counted per match profile, so
the driver holds only that histogram (``summaries.RowMatches``).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..ranks import RankMap
from ..schema import ColumnKind, Schema
from ..summaries import AssociationStats, CategoryCounts, RowMatches, TableSummaries, ValueCounts
from ._coerce import numeric_view

__all__ = ["SparkTable", "SparkSummaries", "code_expression"]

_NUMERIC = (ColumnKind.NUMERIC, ColumnKind.DATETIME)
_CATEGORICAL = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
#: up to this many numeric cells a table's value counts come back in one job (fewer, small jobs);
#: beyond, one column at a time, so the driver holds one column's distinct values at most
BATCH_CELLS = 2_000_000


@dataclass
class SparkTable:
    """One validated input: the coerced Spark DataFrame (schema columns only) and its counts."""

    name: str
    source: str
    frame: Any
    n_rows: int
    missing: dict[str, int]


def _col(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


def code_expression(column: str, labels: Sequence[str | None]) -> Any:
    """Integer code of a categorical column by ``labels`` (``qaharness.summaries.category_index``).

    A CASE chain, not a map lookup: Spark builds a literal map per row, and grouping sets evaluate
    the codes once per set — three times slower on the benchmark tables.
    """
    from pyspark.sql import functions as F

    col = _col(column)
    pooled = len(labels)
    code: Any = F.lit(pooled)
    for i, label in reversed(list(enumerate(labels))):
        code = F.when(col.isNull() if label is None else col == F.lit(label), F.lit(i)).otherwise(code)
    return code


class SparkSummaries(TableSummaries):
    """Summaries of Spark tables; the ``EvalInput`` frames beside them are samples."""

    frames_are_samples = True
    engine = "spark"

    def __init__(self, tables: Mapping[str, SparkTable], schema: Schema, environment: Mapping[str, str]):
        super().__init__({name: name for name in tables})
        self._persisted: list[Any] = []  # shared by every view: what ``release`` unpersists
        self._tables = dict(tables)
        self._schema = schema
        self._environment = dict(environment)

    def environment(self) -> dict[str, str]:
        return dict(self._environment)

    def release(self) -> None:
        """Unpersist what the run persisted (a borrowed session outlives the run)."""
        while self._persisted:
            self._persisted.pop().unpersist()

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
            numeric = [c for c in self._schema.columns(*_NUMERIC)]
            batch = numeric if column in numeric and table.n_rows * len(numeric) <= BATCH_CELLS else [column]
            for name, counts in _value_counts(table, self._schema, batch).items():
                self._cache[(table.name, "values", name)] = counts
        return self._cache[key]

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
            return _associations(table.frame, self._schema, list(numeric), categories, maps)

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

    def row_matches(self, columns: Sequence[str], query: str, references: Sequence[str] = ()) -> RowMatches:
        key = (self.table(query), "row_matches", tuple(columns), tuple(self.table(r) for r in references))
        return self._cached(key, lambda: self._row_matches(columns, query, references))

    def _row_matches(self, columns: Sequence[str], query: str, references: Sequence[str]) -> RowMatches:
        """Rows per distinct query hash, left-joined to rows per distinct hash of each reference,
        then counted per profile: the driver gets the histogram of profiles only."""
        from pyspark.sql import functions as F

        def grouped(seat: str, name: str) -> Any:
            return self._hashed(columns, seat).groupBy("h1", "h2").agg(F.count(F.lit(1)).alias(name))

        names = [f"r{i}" for i in range(len(references))]
        profiles = grouped(query, "m")
        for name, reference in zip(names, references):
            profiles = profiles.join(grouped(reference, name), ["h1", "h2"], "left")
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


def _positioned(frame: Any, schema: Schema, persisted: list[Any]) -> Any:
    """``frame`` with each row's position in the canonical order, 0-based and contiguous.

    Sorted by the keys of ``qaharness.summaries.canonical_order`` (numeric values — Spark orders
    −0.0 with 0.0, as numpy does —, category labels as strings, missing last, then null flags);
    ``monotonically_increasing_id`` after the sort grows in sort order, and the per-partition row
    counts turn it into positions. Persisted (on disk: not in the driver's heap, which local mode
    shares with the executors; appended to ``persisted``): the arrangement of tied rows must not
    change between the count and the draws."""
    from pyspark import StorageLevel
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
    with_id = ordered.withColumn("__qaharness_id", F.monotonically_increasing_id()).persist(StorageLevel.DISK_ONLY)
    persisted.append(with_id)
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


_RANKED = "__qaharness_rank_"  # prefix of the helper columns of ``_ranked``


def _ranked(frame: Any, schema: Schema, numeric: list[str], maps: Sequence[RankMap]) -> tuple[Any, list[Any]]:
    """``frame`` with each numeric column's rank (``ranks.RankMap.apply`` as Spark SQL): a ``Bucketizer``
    finds each value's knot (a binary search over [−∞, knots…, +∞]: bucket b = knot b − 1, 0-based), a
    broadcast join on b reads that knot's row of the map; null stays null. Returns the frame and the rank
    columns. (Literal arrays instead of the join cost the optimiser seconds per array and query.)"""
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    views = [numeric_view(c, schema[c]).cast("double").alias(f"{_RANKED}v{j}") for j, c in enumerate(numeric)]
    values = frame.select(F.col("*"), *views)
    usable = [j for j, m in enumerate(maps) if m.knots.size]
    if usable:
        values = Bucketizer(
            splitsArray=[[-math.inf, *maps[j].knots.tolist(), math.inf] for j in usable],
            inputCols=[f"{_RANKED}v{j}" for j in usable],
            outputCols=[f"{_RANKED}b{j}" for j in usable],
            handleInvalid="keep",
        ).transform(values)
    ranks = []
    for j, rank_map in enumerate(maps):
        if j not in usable:
            ranks.append(F.lit(None).cast("double").alias(f"{_RANKED}r{j}"))
            continue
        names = [f"{_RANKED}{part}{j}" for part in ("k", "a", "s", "e", "f")]
        table = pd.DataFrame(
            dict(zip(names, (rank_map.knots, rank_map.at, rank_map.start, rank_map.end, rank_map.following)))
        ).assign(**{f"{_RANKED}b{j}": np.arange(1, rank_map.knots.size + 1, dtype=float)})
        values = values.join(F.broadcast(frame.sparkSession.createDataFrame(table)), f"{_RANKED}b{j}", "left")
        x, knot, at, start, end, following = (F.col(f"{_RANKED}v{j}"), *(F.col(n) for n in names))
        between = start + (end - start) * (x - knot) / (following - knot)
        rank = F.when(x.isNull(), F.lit(None).cast("double")).when(x == knot, at).otherwise(between)
        ranks.append(rank.alias(f"{_RANKED}r{j}"))
    return values.select(F.col("*"), *ranks), [F.col(f"{_RANKED}r{j}") for j in range(len(maps))]


def _moments(frame: Any, z: list[Any]) -> tuple[np.ndarray, ...]:
    """n, sx, sxx, sxy (``AssociationStats``) over pairwise-complete rows, in one pass."""
    from pyspark.sql import functions as F

    p = len(z)
    aggs, slots = [], []
    for i, j in itertools.product(range(p), repeat=2):
        if i > j:
            continue
        both = z[i].isNotNull() & z[j].isNotNull()
        for name, expr in (
            ("n", F.count(F.when(both, 1))),
            ("sx", F.sum(F.when(both, z[i]))),
            ("sxT", F.sum(F.when(both, z[j]))),
            ("sxx", F.sum(F.when(both, z[i] * z[i]))),
            ("sxxT", F.sum(F.when(both, z[j] * z[j]))),
            ("sxy", F.sum(F.when(both, z[i] * z[j]))),
        ):
            aggs.append(expr.alias(f"{name}_{i}_{j}"))
            slots.append((name, i, j))
    row = frame.agg(*aggs).collect()[0]
    out = {name: np.zeros((p, p)) for name in ("n", "sx", "sxx", "sxy")}
    for name, i, j in slots:
        value = float(row[f"{name}_{i}_{j}"] or 0.0)
        target, a, b = (name.removesuffix("T"), j, i) if name.endswith("T") else (name, i, j)
        out[target][a, b] = value
        if name in ("n", "sxy"):
            out[name][j, i] = value
    return out["n"], out["sx"], out["sxx"], out["sxy"]


def _associations(
    frame: Any,
    schema: Schema,
    numeric: list[str],
    categories: Mapping[str, Sequence[str | None]],
    maps: Sequence[RankMap],
) -> AssociationStats:
    """``AssociationStats`` of one table: ranks by ``maps`` (``_ranked``), then three jobs (pairwise
    sums; per-code sums in one grouping-sets job; every contingency table in one grouping-sets job)."""
    from pyspark.sql import functions as F

    ranked, z = _ranked(frame, schema, numeric, maps) if numeric else (frame, [])
    n, sx, sxx, sxy = _moments(ranked, z) if numeric else (np.zeros((0, 0)),) * 4
    cats = list(categories)
    coded = ranked.select(
        *[code_expression(c, categories[c]).alias(f"k{a}") for a, c in enumerate(cats)],
        *[v.alias(f"z{j}") for j, v in enumerate(z)],
    )
    keys = [f"k{a}" for a in range(len(cats))]
    groups: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if numeric and cats:
        sums = [F.count(f"z{j}").alias(f"n{j}") for j in range(len(z))] + [
            F.sum(f"z{j}").alias(f"s{j}") for j in range(len(z))
        ]
        rows = coded.groupingSets([[k] for k in keys], *keys).agg(*sums, *[F.grouping(k).alias(f"g{k}") for k in keys])
        table = rows.toPandas()
        for a, c in enumerate(cats):
            mine = table[table[f"gk{a}"] == 0]
            count = np.zeros((len(categories[c]) + 1, len(z)))
            total = np.zeros_like(count)
            codes = mine[f"k{a}"].to_numpy(dtype=int)
            count[codes] = mine[[f"n{j}" for j in range(len(z))]].to_numpy(dtype=float)
            total[codes] = mine[[f"s{j}" for j in range(len(z))]].fillna(0.0).to_numpy(dtype=float)
            groups[c] = (count, total)
    tables: dict[tuple[str, str], np.ndarray] = {}
    pairs = list(itertools.combinations(range(len(cats)), 2))
    if pairs:
        rows = coded.groupingSets([[keys[a], keys[b]] for a, b in pairs], *keys).agg(
            F.count(F.lit(1)).alias("n"), *[F.grouping(k).alias(f"g{k}") for k in keys]
        )
        table = rows.toPandas()
        for a, b in pairs:
            flags = (table[f"gk{a}"] == 0) & (table[f"gk{b}"] == 0)
            others = [f"gk{c}" for c in range(len(cats)) if c not in (a, b)]
            if others:
                flags &= (table[others] == 1).all(axis=1)
            mine = table[flags]
            counts = np.zeros((len(categories[cats[a]]) + 1, len(categories[cats[b]]) + 1), dtype=np.int64)
            counts[mine[f"k{a}"].to_numpy(dtype=int), mine[f"k{b}"].to_numpy(dtype=int)] = mine["n"].to_numpy(
                dtype=np.int64
            )
            tables[(cats[a], cats[b])] = counts
    return AssociationStats(tuple(numeric), n, sx, sxx, sxy, groups, tables)
