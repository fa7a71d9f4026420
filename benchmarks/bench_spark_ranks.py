"""Where the per-code rank sums of corr_diff spend their time on Spark, variant by variant.

    .venv/bin/python benchmarks/bench_spark_ranks.py [--data /tmp/qaharness-bench-spark] [--rows 1000000]

Reads the real table of ``bench_spark.py`` (generate it with that script first), builds the rank maps
and the pooled category codes as corr_diff does, and times on ``local[2]`` (``spark.driver.memory=1g``,
warm JVM, best of two):

* ``ranks``: the ranks of the numeric columns alone (``_associations._ranked``: Bucketizer + one broadcast
  join per column), summed: the frame the moments job reads;
* ``ranks + codes``: the same with the categorical codes carried through the joins, summed;
* ``per-code``: the engine's per-code job (grouping sets over the codes on the ranked frame);
* ``per-code, narrow persisted``: the codes and values persisted on disk first, then the per-code job;
* ``per-code, ranked persisted``: the ranked frame with the codes persisted on disk, then the job;
* ``per-code, arrays``: rank lookups from array columns of one broadcast one-row cross join;
* ``per-code, 5 x 5 blocks``: the job over blocks of at most five numeric and five categorical columns.

Every variant's sums are checked equal to the engine's. Results: benchmarks/README.md ("Spark").
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np


def _per_code(frame, keys, z):
    from pyspark.sql import functions as F

    sums = [F.count(x).alias(f"n{j}") for j, x in enumerate(z)] + [F.sum(x).alias(f"s{j}") for j, x in enumerate(z)]
    table = frame.groupingSets([[k] for k in keys], *keys).agg(*sums).toPandas()
    return table.sort_values(keys).reset_index(drop=True)


def _ranked_by_arrays(frame, keep, maps):
    """``_ranked`` with the maps as array columns of one broadcast row instead of one join per column."""
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from qaharness.spark._associations import _RANKED

    values = Bucketizer(
        splitsArray=[[-math.inf, *m.knots.tolist(), math.inf] for m in maps],
        inputCols=[f"{_RANKED}v{j}" for j in range(len(maps))],
        outputCols=[f"{_RANKED}b{j}" for j in range(len(maps))],
        handleInvalid="keep",
    ).transform(frame)
    fields, row = [], []
    for j, m in enumerate(maps):
        for part, array in zip("kasef", (m.knots, m.at, m.start, m.end, m.following)):
            fields.append(T.StructField(f"{_RANKED}{part}{j}", T.ArrayType(T.DoubleType(), False), False))
            row.append([float(x) for x in array])
    values = values.crossJoin(F.broadcast(frame.sparkSession.createDataFrame([tuple(row)], T.StructType(fields))))
    ranks = []
    for j in range(len(maps)):
        x, b = F.col(f"{_RANKED}v{j}"), F.col(f"{_RANKED}b{j}").cast("int") - F.lit(1)
        knot, at, start, end, following = (F.get(F.col(f"{_RANKED}{part}{j}"), b) for part in "kasef")
        between = start + (end - start) * (x - knot) / (following - knot)
        ranks.append(F.when(x.isNull(), F.lit(None).cast("double")).when(x == knot, at).otherwise(between))
    names = [f"{_RANKED}r{j}" for j in range(len(maps))]
    return values.select(*keep, *[r.alias(n) for r, n in zip(ranks, names)]), [F.col(n) for n in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/tmp/qaharness-bench-spark"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from qaharness.metrics.fidelity_corr_diff import MAX_CATEGORIES
    from qaharness.schema import ColumnKind
    from qaharness.spark import SparkOptions, spark_inputs
    from qaharness.spark._associations import _RANKED, _ranked, code_expression
    from qaharness.spark._coerce import numeric_view

    paths = [str(args.data / f"{name}-{args.rows}x20.parquet") for name in ("real", "synthetic", "holdout")]
    options = SparkOptions(master="local[2]", conf={"spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "8"})
    with spark_inputs(*paths, options=options) as data:
        summaries, schema = data.summaries(), data.schema
        numeric = [c for c in data.columns() if schema[c] in (ColumnKind.NUMERIC, ColumnKind.DATETIME)]
        cats = [c for c in data.columns() if c not in numeric]
        labels = {c: summaries.category_counts(c, "real").top(MAX_CATEGORIES - 1) for c in cats}
        maps = {c: summaries.rank_map(c, "real") for c in numeric}
        frame = summaries.spark_table("real").frame

        def source(nums, categoricals):
            keys = [f"k{a}" for a in range(len(categoricals))]
            codes = [code_expression(c, labels[c]).alias(k) for c, k in zip(categoricals, keys)]
            views = [numeric_view(c, schema[c]).cast("double").alias(f"{_RANKED}v{j}") for j, c in enumerate(nums)]
            return frame.select(*codes, *views), keys, [maps[c] for c in nums]

        def engine_per_code():
            selected, keys, ms = source(numeric, cats)
            ranked, z = _ranked(selected, [F.col(k) for k in keys], ms)
            return _per_code(ranked, keys, z)

        def plain(with_codes):
            selected, keys, ms = source(numeric, cats if with_codes else [])
            ranked, z = _ranked(selected, [F.col(k) for k in keys], ms)
            return ranked.agg(*[F.sum(x) for x in z], *[F.sum(k) for k in keys]).collect()

        def persisted(rank_first):
            selected, keys, ms = source(numeric, cats)
            frame_to_store, z = _ranked(selected, [F.col(k) for k in keys], ms) if rank_first else (selected, [])
            stored = frame_to_store.persist(StorageLevel.DISK_ONLY)
            started = time.perf_counter()
            stored.count()
            written = time.perf_counter() - started
            if rank_first:
                ranked = stored
            else:
                ranked, z = _ranked(stored, [F.col(k) for k in keys], ms)
            out = _per_code(ranked, keys, z)
            stored.unpersist()
            return out, written

        def arrays():
            selected, keys, ms = source(numeric, cats)
            ranked, z = _ranked_by_arrays(selected, [F.col(k) for k in keys], ms)
            return _per_code(ranked, keys, z)

        def blocks():
            parts = []
            for i in range(0, len(numeric), 5):
                for a in range(0, len(cats), 5):
                    selected, keys, ms = source(numeric[i : i + 5], cats[a : a + 5])
                    ranked, z = _ranked(selected, [F.col(k) for k in keys], ms)
                    parts.append(_per_code(ranked, keys, z))
            return parts

        def best(fn):
            times, out = [], None
            for _ in range(2):
                started = time.perf_counter()
                out = fn()
                times.append(time.perf_counter() - started)
            return min(times), out

        print(f"{args.rows:,} rows: {len(numeric)} numeric × {len(cats)} categorical columns")
        frame.count()
        t_ranks, _ = best(lambda: plain(False))
        t_codes, _ = best(lambda: plain(True))
        t_engine, want = best(engine_per_code)
        print(f"ranks {t_ranks:.1f} s   ranks + codes {t_codes:.1f} s   per-code (engine) {t_engine:.1f} s")
        for name, fn in (("narrow persisted", lambda: persisted(False)), ("ranked persisted", lambda: persisted(True))):
            seconds, (got, written) = best(fn)
            same = np.allclose(got.to_numpy(float), want.to_numpy(float), rtol=0, atol=0, equal_nan=True)
            print(f"per-code, {name}: {seconds:.1f} s (writing {written:.1f} s)   same sums: {same}")
        seconds, got = best(arrays)
        same = np.allclose(got.to_numpy(float), want.to_numpy(float), rtol=0, atol=0, equal_nan=True)
        print(f"per-code, arrays: {seconds:.1f} s   same sums: {same}")
        seconds, _ = best(blocks)
        print(f"per-code, 5 x 5 blocks: {seconds:.1f} s")


if __name__ == "__main__":
    main()
