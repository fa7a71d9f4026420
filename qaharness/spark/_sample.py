"""Stratified samples of the Spark tables, for the metrics whose method is sample-based.

Every row draws u = rand(seed) (one seed per table, from the run seed); a stratum h (a class of the
target; the whole table without a categorical target) of N_h rows gets m_h rows by proportional
allocation (largest remainders, so the m_h sum to the sample size). Spark keeps the rows with
u below a fraction a little above m_h / N_h, the driver keeps the m_h smallest u per stratum (a
simple random sample of the stratum) and orders the sample by u. ``rand(seed)`` is a function of
the partitioning, so the same files read with the same Spark settings give the same sample.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..schema import ColumnKind, Schema, coerce_frame
from ._summaries import SparkSummaries, SparkTable

__all__ = ["draw_samples", "allocate", "METHOD"]

METHOD = "proportional stratified simple random sample (Spark rand(seed), smallest draws per stratum)"
_U = "__qaharness_u"


def table_seed(seed: int, name: str) -> int:
    return int(np.random.default_rng([int(seed), zlib.crc32(f"spark.sample.{name}".encode())]).integers(2**31 - 1))


def allocate(totals: Mapping[Any, int], size: int) -> dict[Any, int]:
    """Rows per stratum proportional to ``totals``, summing to min(size, total) (largest remainders)."""
    total = sum(totals.values())
    size = min(size, total)
    exact = {k: size * n / total for k, n in totals.items()}
    quota = {k: math.floor(v) for k, v in exact.items()}
    order = sorted(totals, key=lambda k: (-(exact[k] - quota[k]), str(k)))
    for k in order[: size - sum(quota.values())]:
        quota[k] += 1
    return quota


def draw_samples(
    summaries: SparkSummaries, schema: Schema, *, size: int, seed: int, target: str | None
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """A sample of every table (``seat → frame`` in the pandas engine's dtypes) and what it is."""
    strata = target if target is not None and schema[target] in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) else None
    frames, rows, population = {}, {}, {}
    for seat in ("real", "synthetic", "holdout"):
        if not summaries.has(seat):
            continue
        table = summaries.spark_table(seat)
        totals = summaries.category_counts(strata, seat).as_dict() if strata else {None: table.n_rows}
        sample = _draw(table, totals, size, table_seed(seed, table.name), strata)
        frames[seat] = coerce_frame(sample, schema, source=table.source)
        rows[seat], population[seat] = len(sample), table.n_rows
    info = {"rows": rows, "population_rows": population, "seed": int(seed), "stratified_by": strata, "method": METHOD}
    return frames, info


def _draw(table: SparkTable, totals: dict[Any, int], size: int, seed: int, strata: str | None) -> pd.DataFrame:
    from pyspark.sql import functions as F

    drawn = table.frame.withColumn(_U, F.rand(seed))
    if size >= table.n_rows:
        return _ordered(drawn.toPandas())
    quota = allocate(totals, size)
    margin = {k: min(1.0, (q + 6 * math.sqrt(q) + 20) / totals[k]) if q else 0.0 for k, q in quota.items()}
    while True:
        fraction: Any = F.lit(margin.get(None, 0.0))
        if strata is not None:
            fraction = F.lit(0.0)
            for label, f in margin.items():
                fraction = F.when(F.col(f"`{strata}`").eqNullSafe(F.lit(label)), F.lit(f)).otherwise(fraction)
        kept = drawn.where(F.col(_U) < fraction).toPandas()
        parts, short = [], []
        for label, q in quota.items():
            mine = kept if strata is None else kept[_matches(kept[strata], label)]
            mine = mine.sort_values(_U, kind="stable").head(q)
            if len(mine) < q and margin[label] < 1.0:
                short.append(label)
            parts.append(mine)
        if not short:
            return _ordered(pd.concat(parts, ignore_index=True))
        for label in short:  # a draw below its expectation by 6 sigma: widen that stratum and draw again
            margin[label] = min(1.0, 2 * margin[label])


def _matches(series: pd.Series, label: Any) -> pd.Series:
    return series.isna() if label is None else series == label


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(_U, kind="stable").drop(columns=[_U]).reset_index(drop=True)
