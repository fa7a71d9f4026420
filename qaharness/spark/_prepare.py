"""``prepare_inputs`` for Spark: read, validate, infer the schema and coerce, then summarise and sample.

The checks and messages are the pandas engine's (``qaharness.inputs``): row minimum, same columns
as real, schema overrides, target and sensitive columns, coercion errors naming the column, the same
file twice or a holdout holding the training rows, and the overlap notes (``qaharness._overlap``). Schema
inference reads a sample of the real table with the whole table's counts for the decisions that
depend on them (identifier and free-text columns: distinct values per row).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._overlap import check_identity, overlap_notes
from ..errors import BadInputError
from ..inputs import (
    MIN_ROWS,
    TASKS,
    EvalInput,
    InputMarks,
    _check_same_columns,
    _check_target,
    _notes,
    _schema_overrides,
    _tag_notes,
)
from ..io import ReadLimits, Table
from ..results import InputInfo
from ..schema import Schema, infer_schema, is_id_name
from . import DEFAULT_SAMPLE_ROWS
from ._coerce import bad_aggregates, check_counts, coercion
from ._coerce import col as _col
from ._read import RawTable, read_source
from ._sample import draw_samples, table_seed
from ._summaries import SparkSummaries, SparkTable

__all__ = ["prepare"]

INFER_ROWS = 100_000


def prepare(
    session: Any,
    real: Any,
    synthetic: Any,
    holdout: Any = None,
    *,
    target: str | None = None,
    schema: Any = None,
    task: str | None = None,
    sensitive: tuple[str, ...] | list[str] = (),
    seed: int = 0,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    limits: ReadLimits | None = None,
) -> EvalInput:
    """Validated inputs whose summaries Spark computes and whose frames are stratified samples.

    ``limits``: the column cap applies; the byte cap does not (the tables are never read whole here).
    """
    if task is not None and task not in TASKS:
        raise BadInputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}", source="--task")
    if sample_rows < 1:
        raise BadInputError(f"must be a positive number of rows; got {sample_rows}", source="--spark-sample-rows")
    raws = {"real": read_source(session, real, "real"), "synthetic": read_source(session, synthetic, "synthetic")}
    if holdout is not None:
        raws["holdout"] = read_source(session, holdout, "holdout")
    for raw in raws.values():
        (limits or ReadLimits()).check_columns(len(raw.frame.columns), raw.source)
    reference = [str(c) for c in raws["real"].frame.columns]
    for name in ("synthetic", "holdout"):
        if name in raws:
            _check_same_columns(reference, _columns_only(raws[name]), name)
    overrides = _schema_overrides(schema, reference)
    _check_target(target, reference, raws["real"].source)
    for column in sensitive:
        _check_target(column, reference, raws["real"].source, option="--sensitive")
    inferred = _infer(raws["real"], _row_count(raws["real"]), overrides, seed, holdout=raws.get("holdout"))
    tables: dict[str, SparkTable] = {}
    real_facts: dict[str, int] = {}
    for name, raw in raws.items():
        tables[name], facts = _coerced(raw, inferred, with_range=name == "real")
        real_facts = facts if name == "real" else real_facts
    counts = {name: table.n_rows for name, table in tables.items()}
    environment = {"engine": "spark", "spark": session.version, "spark_master": str(session.sparkContext.master)}
    summaries = SparkSummaries(tables, inferred, environment)
    infos = {
        name: InputInfo(source=raw.source, sha256=raw.sha256, rows=counts[name], columns=len(raw.frame.columns))
        for name, raw in raws.items()
    }
    check_identity(summaries, infos, list(inferred))  # row matches by hash joins, kept for exact_match
    frames, sample = draw_samples(summaries, inferred, size=sample_rows, seed=seed, target=target)
    tags = {name: raw.tags for name, raw in raws.items() if raw.tags is not None}
    notes = _notes(real_facts, inferred) + [n for n in [raws["synthetic"].manifest_note] if n] + _tag_notes(tags)
    notes += overlap_notes(summaries, inferred)
    notes.append(
        f"engine spark ({environment['spark_master']}): exact metrics on the whole tables; sample-based metrics "
        f"on stratified samples of at most {sample_rows:,} rows per table (seed {seed}; details.sample)"
    )
    return EvalInput(
        frames["real"],
        frames["synthetic"],
        inferred,
        frames.get("holdout"),
        target,
        task,
        tuple(sensitive),
        infos,
        tuple(notes),
        synthetic_manifest=raws["synthetic"].manifest,
        synthetic_tags=raws["synthetic"].tags,
        input_marks={
            name: InputMarks(counts[name], raw.tags, raw.manifest, raw.manifest_note)
            for name, raw in raws.items()
            if name != "synthetic"
        },
        _summaries=summaries,
        sample=sample,
    )


def _columns_only(raw: RawTable) -> Table:
    return Table(pd.DataFrame(columns=[str(c) for c in raw.frame.columns]), raw.source, raw.sha256)


def _row_count(raw: RawTable, rows: int | None = None) -> int:
    rows = int(raw.frame.count()) if rows is None else rows
    if rows == 0:
        raise BadInputError(f"{raw.name} table has a header but no rows", source=raw.source)
    if rows < MIN_ROWS:
        raise BadInputError(f"{raw.name} table has {rows} row; at least {MIN_ROWS} are needed", source=raw.source)
    return rows


def _infer(raw: RawTable, n_rows: int, overrides: dict, seed: int, holdout: RawTable | None = None) -> Schema:
    """``infer_schema`` on a sample of the real rows, with whole-table counts where they decide.

    Real rows are the real table and, where its Spark types are the real table's, the holdout
    (as the pandas engine infers from both)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    frame = raw.frame
    if holdout is not None and holdout.frame.schema == frame.schema:
        frame = frame.unionByName(holdout.frame)
        n_rows += _row_count(holdout)
    dtypes = {f.name: f.dataType for f in frame.schema.fields}
    readable = [
        _col(c).cast("double").alias(c)
        if isinstance(t, T.DecimalType)
        else (_col(c).cast("timestamp").alias(c) if isinstance(t, T.DateType) else _col(c))
        for c, t in dtypes.items()
    ]
    fraction = min(1.0, 1.2 * INFER_ROWS / n_rows)
    sample = frame.select(*readable).where(F.rand(table_seed(seed, "infer")) < fraction).limit(INFER_ROWS).toPandas()
    deciding = [
        c
        for c, t in dtypes.items()
        if c not in overrides and (isinstance(t, T.StringType) or (isinstance(t, T.IntegralType) and is_id_name(c)))
    ]
    counts: dict[str, tuple[int, int]] = {}
    if deciding and n_rows > len(sample):
        counts = _distinct_counts(frame, deciding)
    return infer_schema(sample, overrides, counts=counts)


def _distinct_counts(frame: Any, columns: list[str]) -> dict[str, tuple[int, int]]:
    """(non-missing, distinct) per column of the whole table. HyperLogLog (2 % error) first; exact
    counts only where the share of distinct values is within reach of an inference threshold (0.5,
    0.95, 1 per row): below 0.3 the estimate cannot change the kind, and exact counting is costly."""
    from pyspark.sql import functions as F

    row = frame.agg(
        *[F.count(_col(c)).alias(f"n{i}") for i, c in enumerate(columns)],
        *[F.approx_count_distinct(_col(c), 0.02).alias(f"a{i}") for i, c in enumerate(columns)],
    ).collect()[0]
    counts = {c: (int(row[f"n{i}"]), int(row[f"a{i}"])) for i, c in enumerate(columns)}
    high = [c for c, (n, approx) in counts.items() if n and approx >= 0.3 * n]
    if high:
        exact = frame.agg(*[F.count_distinct(_col(c)).alias(f"u{i}") for i, c in enumerate(high)]).collect()[0]
        counts.update({c: (counts[c][0], int(exact[f"u{i}"])) for i, c in enumerate(high)})
    return counts


def _coerced(raw: RawTable, schema: Schema, *, with_range: bool) -> tuple[SparkTable, dict[str, int]]:
    """The table in canonical types, validated in one pass; for real also a 0/1/2 stand-in for distinct
    values per column (all missing / constant / varying) for the input notes."""
    from pyspark.sql import functions as F

    dtypes = {f.name: f.dataType for f in raw.frame.schema.fields}
    coercions = []
    for column, kind in schema.items():
        try:
            coercions.append(coercion(column, kind, dtypes[column]))
        except BadInputError as exc:
            raise BadInputError(str(exc), source=raw.source, column=column) from None
    raw_of = {c.column: _col(c.column) for c in coercions}
    aggs = [F.count(F.lit(1)).alias("rows"), *bad_aggregates(coercions, raw_of)]
    aggs += [F.count(F.when(c.value.isNull(), 1)).alias(f"m:{c.column}") for c in coercions]
    if with_range:
        aggs += [F.min(c.value).alias(f"lo:{c.column}") for c in coercions]
        aggs += [F.max(c.value).alias(f"hi:{c.column}") for c in coercions]
    row = raw.frame.agg(*aggs).collect()[0].asDict()  # one pass: rows, bad values, missing counts, ranges
    recount = [c for c in coercions if c.distinct_bad and row.get(f"bad:{c.column}")]
    if recount:  # a boolean's message counts its distinct bad values: a second pass, only where there are some
        row.update(raw.frame.agg(*bad_aggregates(recount, raw_of, distinct=True)).collect()[0].asDict())
    n_rows = _row_count(raw, int(row["rows"]))
    check_counts(coercions, {k: int(v or 0) for k, v in row.items() if k.startswith(("bad:", "inf:"))}, raw.source)
    coerced = raw.frame.select(*[c.expr for c in coercions])
    missing = {c: int(row[f"m:{c}"]) for c in schema}
    facts: dict[str, int] = {}
    if with_range:
        for c in schema:
            facts[c] = 0 if missing[c] == n_rows else (1 if row[f"lo:{c}"] == row[f"hi:{c}"] else 2)
    return SparkTable(raw.name, raw.source, coerced, n_rows, missing), facts
