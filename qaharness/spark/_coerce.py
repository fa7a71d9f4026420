"""``qaharness.schema.coerce_frame`` as Spark column expressions, with the same validation messages.

One canonical Spark type per kind: numeric → double (NaN is missing, −0.0 is 0.0), datetime →
timestamp (UTC), boolean → the strings "True"/"False", categorical/text/identifier → strings
(integral floats without ".0"). Each coercion also yields a "bad" predicate (a present value that
does not convert), counted in one pass per table before any metric runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._format import FALSE_WORDS, TRUE_WORDS
from ..errors import BadInputError
from ..schema import ColumnKind

__all__ = ["Coercion", "coercion", "numeric_view", "check_counts"]

_TRUE = sorted(TRUE_WORDS | {"1", "1.0"})
_FALSE = sorted(FALSE_WORDS | {"0", "0.0"})


@dataclass
class Coercion:
    """How one column becomes its kind: the expression, the bad-value predicate (None: cannot fail),
    whether bad values are counted as distinct values (booleans), and whether to count infinities."""

    column: str
    kind: ColumnKind
    value: Any  # the coerced column, not aliased
    bad: Any = None
    distinct_bad: bool = False
    infinite: Any = None

    @property
    def expr(self) -> Any:
        return self.value.alias(self.column)


def coercion(column: str, kind: ColumnKind, dtype: Any) -> Coercion:
    """The coercion of raw ``column`` (Spark type ``dtype``) to ``kind``."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    raw = col(column)
    if isinstance(dtype, (T.ArrayType, T.MapType, T.StructType, T.BinaryType)):
        raise BadInputError(
            f"column {column!r} has Spark type {dtype.simpleString()}, which qaharness cannot compare; "
            "cast it to a number, string or timestamp, or leave it out",
            column=column,
        )
    if kind is ColumnKind.NUMERIC:
        return _numeric(column, raw, dtype, F, T)
    if kind is ColumnKind.DATETIME:
        return _datetime(column, raw, dtype, F, T)
    if kind is ColumnKind.BOOLEAN:
        return _boolean(column, raw, dtype, F, T)
    return Coercion(column, kind, _string(raw, dtype, F, T))


def _numeric(column: str, raw: Any, dtype: Any, F: Any, T: Any) -> Coercion:
    if isinstance(dtype, T.BooleanType):
        value = F.when(raw, F.lit(1.0)).when(~raw, F.lit(0.0))
    elif isinstance(dtype, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        value = (F.unix_micros(raw.cast("timestamp")) * 1000).cast("double")
    else:
        value = raw.try_cast("double")  # a malformed string becomes null (counted as bad), ANSI mode or not
    clean = F.when(F.isnan(value), F.lit(None).cast("double")).otherwise(value + F.lit(0.0))
    bad = raw.isNotNull() & value.isNull() if isinstance(dtype, T.StringType) else None
    infinite = F.abs(value) == F.lit(float("inf"))
    return Coercion(column, ColumnKind.NUMERIC, clean, bad, infinite=infinite)


def _datetime(column: str, raw: Any, dtype: Any, F: Any, T: Any) -> Coercion:
    if isinstance(dtype, T.TimestampType):
        value = raw
    elif isinstance(dtype, (T.TimestampNTZType, T.DateType)):
        value = raw.cast("timestamp")  # wall clock read as UTC, like the pandas engine's naive datetimes
    elif isinstance(dtype, T.StringType):
        value = F.try_to_timestamp(raw)
    elif isinstance(dtype, T.NumericType):
        value = F.timestamp_micros((raw.cast("double") / 1000).try_cast("long"))  # pandas reads numbers as ns
    else:
        value = F.lit(None).cast("timestamp")
    return Coercion(column, ColumnKind.DATETIME, value, raw.isNotNull() & value.isNull())


def _boolean(column: str, raw: Any, dtype: Any, F: Any, T: Any) -> Coercion:
    present = raw.isNotNull()
    if isinstance(dtype, T.BooleanType):
        value = F.when(raw, F.lit("True")).when(~raw, F.lit("False"))
    else:
        if isinstance(dtype, T.NumericType):
            number = raw.cast("double")
            present = present & ~F.isnan(number)  # NaN is missing, as in pandas
            text = F.when(~F.isnan(number), number.cast("string"))
        else:
            text = F.lower(F.trim(raw.cast("string")))
        value = F.when(text.isin(_TRUE), F.lit("True")).when(text.isin(_FALSE), F.lit("False"))
    return Coercion(column, ColumnKind.BOOLEAN, value, present & value.isNull(), distinct_bad=True)


def _string(raw: Any, dtype: Any, F: Any, T: Any) -> Any:
    if isinstance(dtype, T.StringType):
        return raw
    if isinstance(dtype, T.BooleanType):
        return F.when(raw, F.lit("True")).when(~raw, F.lit("False"))
    if isinstance(dtype, (T.FloatType, T.DoubleType, T.DecimalType)):
        value = raw.cast("double")
        return (
            F.when(F.isnan(value), F.lit(None).cast("string"))
            .when(value == F.floor(value), value.try_cast("long").cast("string"))
            .otherwise(value.cast("string"))
        )
    if isinstance(dtype, T.DateType):
        return raw.cast("timestamp").cast("string")
    return raw.cast("string")


def col(name: str) -> Any:
    """The column ``name`` of a Spark frame, quoted: a name with dots or spaces is one column."""
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


def numeric_view(column: str, kind: ColumnKind) -> Any:
    """A coerced numeric/datetime column as float64 values (datetimes as ns since the epoch)."""
    from pyspark.sql import functions as F

    value = col(column)
    if kind is ColumnKind.DATETIME:
        return (F.unix_micros(value) * 1000).cast("double")
    return value


def bad_aggregates(coercions: list[Coercion], raw_of: dict[str, Any], *, distinct: bool = False) -> list[Any]:
    """Aggregates counting, per coercion, bad values (and infinities) — aliased ``bad:COL`` / ``inf:COL``.

    ``distinct``: the distinct bad values where the message counts those (booleans), and nothing else.
    A distinct count in the validation pass would make Spark expand every row once per such column,
    so the pass counts bad values plainly and a second pass, only over columns that have some, counts
    them distinct (``_prepare._coerced``)."""
    from pyspark.sql import functions as F

    out = []
    for c in coercions:
        if c.bad is not None and (c.distinct_bad or not distinct):
            counted = F.when(c.bad, raw_of[c.column].cast("string"))
            agg = F.count_distinct(counted) if distinct else F.count(counted)
            out.append(agg.alias(f"bad:{c.column}"))
        if c.infinite is not None and not distinct:
            out.append(F.count(F.when(c.infinite, 1)).alias(f"inf:{c.column}"))
    return out


def check_counts(coercions: list[Coercion], counts: dict[str, int], source: str) -> None:
    """Raise the pandas engine's error for the first column with bad or infinite values."""
    for c in coercions:
        bad, infinite = counts.get(f"bad:{c.column}", 0), counts.get(f"inf:{c.column}", 0)
        if bad and c.kind is ColumnKind.NUMERIC:
            message = f"column {c.column!r} should be numeric but has {bad} non-numeric value(s)"
        elif bad and c.kind is ColumnKind.DATETIME:
            message = (
                f"column {c.column!r} should hold dates but has {bad} unparsable value(s) "
                "(the Spark engine parses ISO 8601 text; store dates as Parquet timestamps)"
            )
        elif bad and c.kind is ColumnKind.BOOLEAN:
            message = (
                f"column {c.column!r} should be boolean but has {bad} distinct value(s) that are not "
                "true/false/yes/no/1/0"
            )
        elif infinite:
            message = f"column {c.column!r} has infinite values; replace them or mark them missing"
        else:
            continue
        raise BadInputError(message, source=source, column=c.column)
