"""The association sufficient statistics of one Spark table (``summaries.AssociationStats``) in three
jobs: the pairwise sums of the ranks (``_moments``), per-code sums of the ranks, and every contingency
table from the raw codes (``_contingency``). Ranks come from each column's ``ranks.RankMap`` by a
``Bucketizer`` and a broadcast join (``_ranked``): the same arithmetic as ``RankMap.apply``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..ranks import RankMap
from ..schema import Schema
from ..summaries import AssociationStats
from ._coerce import col as _col
from ._coerce import numeric_view

__all__ = ["associations", "code_expression"]


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


_RANKED = "__qaharness_rank_"  # prefix of the helper columns of ``_ranked``


def _ranked(frame: Any, keep: list[Any], maps: Sequence[RankMap]) -> tuple[Any, list[Any]]:
    """``keep`` and each numeric column's rank (``ranks.RankMap.apply`` as Spark SQL), from ``frame``
    holding the columns' values as ``{_RANKED}v{j}``: a ``Bucketizer`` finds each value's knot (a binary
    search over [−∞, knots…, +∞]: bucket b = knot b − 1, 0-based), a broadcast join on the integer b
    reads that knot's row of the map, and the rank replaces the knot's columns at once, so the frame
    stays narrow (whole-stage code generation stops beyond ``spark.sql.codegen.maxFields``); null stays
    null. Returns the frame and the rank columns. (Literal arrays instead of the joins cost the
    optimiser seconds per array and query; double join keys cost 3x integer ones.)"""
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    usable = [j for j, m in enumerate(maps) if m.knots.size]
    values = frame
    if usable:
        values = Bucketizer(
            splitsArray=[[-math.inf, *maps[j].knots.tolist(), math.inf] for j in usable],
            inputCols=[f"{_RANKED}v{j}" for j in usable],
            outputCols=[f"{_RANKED}b{j}" for j in usable],
            handleInvalid="keep",
        ).transform(values)
    values = values.select(
        *keep,
        *[F.col(f"{_RANKED}v{j}") for j in range(len(maps))],
        *[F.col(f"{_RANKED}b{j}").cast("int").alias(f"{_RANKED}b{j}") for j in usable],
    )
    ranks = [f"{_RANKED}r{j}" for j in range(len(maps))]
    for j, rank_map in enumerate(maps):
        x = F.col(f"{_RANKED}v{j}")
        if j not in usable:
            values = values.withColumn(ranks[j], F.lit(None).cast("double")).drop(x)
            continue
        names = [f"{_RANKED}{part}{j}" for part in ("k", "a", "s", "e", "f")]
        table = pd.DataFrame(
            dict(zip(names, (rank_map.knots, rank_map.at, rank_map.start, rank_map.end, rank_map.following)))
        ).assign(**{f"{_RANKED}b{j}": np.arange(1, rank_map.knots.size + 1, dtype=np.int32)})
        values = values.join(F.broadcast(frame.sparkSession.createDataFrame(table)), f"{_RANKED}b{j}", "left")
        knot, at, start, end, following = (F.col(n) for n in names)
        between = start + (end - start) * (x - knot) / (following - knot)
        rank = F.when(x.isNull(), F.lit(None).cast("double")).when(x == knot, at).otherwise(between)
        done = [c for c in values.columns if c not in (*names, f"{_RANKED}v{j}", f"{_RANKED}b{j}")]
        values = values.select(*[F.col(c) for c in done], rank.alias(ranks[j]))
    return values, [F.col(r) for r in ranks]


#: columns with missing values up to which ``_moments`` groups rows by their pattern of present ranks
#: (at most 2^12 = 4,096 groups come back); beyond, one pass of conditional sums per pair
MAX_PATTERN_BITS = 12


def _moments(frame: Any, z: list[Any], may_miss: Sequence[bool]) -> tuple[np.ndarray, ...]:
    """n, sx, sxx, sxy (``AssociationStats``) over pairwise-complete rows, in one pass: rows grouped by
    their pattern of present ranks (one bit per column that has missing values), with the count, sums
    and cross-products of the present ones per pattern; a pair's sums are those of the patterns holding
    both (p + p(p + 1)/2 plain sums instead of six conditional ones per pair)."""
    from pyspark.sql import functions as F

    p = len(z)
    bits = [i for i in range(p) if may_miss[i]]
    if len(bits) > MAX_PATTERN_BITS:
        return _conditional_moments(frame, z)
    pattern = sum((F.when(z[i].isNotNull(), F.lit(1 << b)).otherwise(F.lit(0)) for b, i in enumerate(bits)), F.lit(0))
    pairs = [(i, j) for i in range(p) for j in range(i, p)]
    aggs = [F.count(F.lit(1)).alias("n"), *[F.sum(z[i]).alias(f"s{i}") for i in range(p)]]
    aggs += [F.sum(z[i] * z[j]).alias(f"p{i}_{j}") for i, j in pairs]
    table = frame.groupBy(pattern.alias("pattern")).agg(*aggs).toPandas().fillna(0.0)
    codes = table["pattern"].to_numpy(dtype=np.int64)
    present = np.ones((len(table), p))  # patterns × columns
    for b, i in enumerate(bits):
        present[:, i] = (codes >> b) & 1
    rows = table["n"].to_numpy(dtype=float)
    sums = table[[f"s{i}" for i in range(p)]].to_numpy(dtype=float)
    squares = np.stack([table[f"p{i}_{i}"].to_numpy(dtype=float) for i in range(p)], axis=1)
    n = present.T @ (present * rows[:, None])
    sx = (present * sums).T @ present  # sx[i, j]: the sum of z_i over rows where z_i and z_j are present
    sxx = (present * squares).T @ present
    sxy = np.zeros((p, p))
    for i, j in pairs:
        both = (present[:, i] * present[:, j]) > 0
        sxy[i, j] = sxy[j, i] = float(table[f"p{i}_{j}"].to_numpy(dtype=float)[both].sum())
    return n, sx, sxx, sxy


def _conditional_moments(frame: Any, z: list[Any]) -> tuple[np.ndarray, ...]:
    """``_moments`` as six sums per pair, each over the rows where both ranks are present."""
    from pyspark.sql import functions as F

    p = len(z)
    aggs, slots = [], []
    for i, j in itertools.combinations_with_replacement(range(p), 2):
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


def associations(
    frame: Any,
    schema: Schema,
    numeric: list[str],
    categories: Mapping[str, Sequence[str | None]],
    maps: Sequence[RankMap],
    missing: Mapping[str, int],
) -> AssociationStats:
    """``AssociationStats`` of one table in three jobs: the pairwise sums of the ranks (``_ranked``,
    ``_moments``), per-code sums of the ranks (one grouping-sets job), and every contingency table
    from the raw codes (``_contingency``)."""
    from pyspark.sql import functions as F

    cats = list(categories)
    keys = [f"k{a}" for a in range(len(cats))]
    codes = [code_expression(c, categories[c]).alias(k) for c, k in zip(cats, keys)]
    views = [numeric_view(c, schema[c]).cast("double").alias(f"{_RANKED}v{j}") for j, c in enumerate(numeric)]
    p = len(numeric)
    n, sx, sxx, sxy = (np.zeros((0, 0)),) * 4
    groups: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if numeric:
        ranked, z = _ranked(frame.select(*views), [], maps)
        n, sx, sxx, sxy = _moments(ranked, z, [missing[c] > 0 for c in numeric])
    if numeric and cats:
        coded, z = _ranked(frame.select(*codes, *views), [F.col(k) for k in keys], maps)
        sums = [F.count(z[j]).alias(f"n{j}") for j in range(p)] + [F.sum(z[j]).alias(f"s{j}") for j in range(p)]
        rows = coded.groupingSets([[k] for k in keys], *keys).agg(*sums, *[F.grouping(k).alias(f"g{k}") for k in keys])
        table = rows.toPandas()
        for a, c in enumerate(cats):
            mine = table[table[f"gk{a}"] == 0]
            count = np.zeros((len(categories[c]) + 1, p))
            total = np.zeros_like(count)
            at = mine[f"k{a}"].to_numpy(dtype=int)
            count[at] = mine[[f"n{j}" for j in range(p)]].to_numpy(dtype=float)
            total[at] = mine[[f"s{j}" for j in range(p)]].fillna(0.0).to_numpy(dtype=float)
            groups[c] = (count, total)
    tables = _contingency(frame.select(*codes), [len(categories[c]) + 1 for c in cats])
    named = {(cats[a], cats[b]): counts for (a, b), counts in tables.items()}
    return AssociationStats(tuple(numeric), n, sx, sxx, sxy, groups, named)


def _contingency(coded: Any, sizes: list[int]) -> dict[tuple[int, int], np.ndarray]:
    """Every pair's contingency table of the integer codes ``k0…`` (``sizes`` codes each), in one job:
    each row contributes one key per pair (the pair's offset + its cell), exploded and counted."""
    from pyspark.sql import functions as F

    pairs = list(itertools.combinations(range(len(sizes)), 2))
    if not pairs:
        return {}
    offsets = np.concatenate([[0], np.cumsum([sizes[a] * sizes[b] for a, b in pairs])]).astype(np.int64)
    cells = [
        F.lit(int(offset)) + F.col(f"k{a}").cast("long") * F.lit(sizes[b]) + F.col(f"k{b}")
        for offset, (a, b) in zip(offsets, pairs)
    ]
    counted = coded.select(F.explode(F.array(*cells)).alias("cell")).groupBy("cell").count().toPandas()
    flat = np.zeros(int(offsets[-1]), dtype=np.int64)
    flat[counted["cell"].to_numpy(dtype=np.int64)] = counted["count"].to_numpy(dtype=np.int64)
    return {(a, b): flat[offsets[i] : offsets[i + 1]].reshape(sizes[a], sizes[b]) for i, (a, b) in enumerate(pairs)}
