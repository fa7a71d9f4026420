"""Column kinds, schema inference and the YAML override.

Kinds: numeric, categorical, boolean, datetime, text (free text), identifier
(unique per row / key-like). Identifiers and free text are left out of the
distribution metrics and listed as such.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ._format import FALSE_WORDS, TRUE_WORDS
from .errors import BadInputError

__all__ = [
    "ColumnKind",
    "Schema",
    "SchemaFile",
    "infer_schema",
    "load_schema_file",
    "parse_schema",
    "coerce_frame",
    "timezone_mix",
]


class ColumnKind(str, Enum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IDENTIFIER = "identifier"


DISTRIBUTION_KINDS = (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.DATETIME)
_ID_NAME = re.compile(r"(^id$|_id$|^id_|uuid|guid|^key$|_key$|^ssn$)", re.IGNORECASE)
_TRUE = TRUE_WORDS
_FALSE = FALSE_WORDS
_ROW_NAME = re.compile(r"(^rownames?$|^row_?(num|number|index|no|id)?$|^index$|^unnamed: ?0$|^$)", re.IGNORECASE)
_MIN_ROWS_FOR_ID = 20
_MIN_ROWS_FOR_KEY = 50


class Schema(dict):
    """Ordered mapping column → ColumnKind, with helpers to select by kind."""

    def columns(self, *kinds: ColumnKind) -> list[str]:
        return [c for c, k in self.items() if k in kinds]

    def to_json(self) -> dict[str, str]:
        return {c: k.value for c, k in self.items()}

    @classmethod
    def from_mapping(cls, mapping: dict[str, str], *, source: str = "schema") -> Schema:
        out = cls()
        for column, kind in mapping.items():
            try:
                out[str(column)] = ColumnKind(str(kind).lower())
            except ValueError:
                known = ", ".join(k.value for k in ColumnKind)
                raise BadInputError(
                    f"column {column!r} has unknown kind {kind!r}; known kinds: {known}",
                    source=source,
                    column=str(column),
                ) from None
        return out


def infer_schema(
    frame: pd.DataFrame,
    overrides: dict[str, ColumnKind] | None = None,
    *,
    counts: dict[str, tuple[int, int]] | None = None,
    others: Sequence[pd.DataFrame] = (),
) -> Schema:
    """Infer a kind per column of ``frame`` (the real table); ``overrides`` win.

    ``others`` (the holdout) are real rows too: kinds are inferred from every real row, so a column
    that happens to be constant in a small training table is judged by all of its values.
    ``counts`` (column → (non-missing values, distinct values) of the whole real tables) stands in
    for the frames' own counts where they are samples of larger tables (``--engine spark``).
    """
    overrides = overrides or {}
    counts = counts or {}
    schema = Schema()
    for column in frame.columns:
        schema[column] = overrides.get(column) or _infer_kind(
            column, _real_values(frame, others, column), counts.get(column)
        )
    return schema


def _real_values(frame: pd.DataFrame, others: Sequence[pd.DataFrame], column: str) -> pd.Series:
    """The column's values over ``frame`` and ``others``, when their dtypes combine; else ``frame``'s.

    A numeric real column next to a holdout column read as text stays numeric here, so coercion
    names the holdout's bad values instead of the column silently becoming categorical.
    """
    series = frame[column]
    parts = [series] + [o[column] for o in others if column in o.columns]
    if len(parts) == 1:
        return series
    combined = pd.concat(parts, ignore_index=True)
    if pd.api.types.is_object_dtype(combined.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return series
    return combined


def is_id_name(name: str) -> bool:
    """True for names that look like keys (``id``, ``customer_id``, ``uuid``, ...)."""
    return bool(_ID_NAME.search(str(name)))


def _infer_kind(name: str, series: pd.Series, counts: tuple[int, int] | None = None) -> ColumnKind:
    values = series.dropna()
    if pd.api.types.is_bool_dtype(series.dtype):
        return ColumnKind.BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return ColumnKind.DATETIME
    if pd.api.types.is_numeric_dtype(series.dtype):
        uniques = values.unique()
        n, n_unique = counts or (len(values), len(uniques))
        # boolean only when both 0 and 1 occur: a count that is 0 in every row is still a count
        if n > 0 and set(np.asarray(uniques, dtype=float)) == {0.0, 1.0}:
            return ColumnKind.BOOLEAN
        if _is_integer_key(name, values, n, n_unique):
            return ColumnKind.IDENTIFIER
        return ColumnKind.NUMERIC
    return _infer_string_kind(name, values.astype(str), counts)


def _is_integer_key(name: str, values: pd.Series, n: int, n_unique: int) -> bool:
    """A unique integer per row that looks like a key: an id-like name, or (from
    ``_MIN_ROWS_FOR_KEY`` rows) values in file order or packed into a range at most twice the row
    count (row numbers, surrogate keys). A unique measurement (income, weight) spreads far wider.
    ``n``/``n_unique``: present and distinct values (of the whole table where ``values`` is a sample)."""
    if n < _MIN_ROWS_FOR_ID or n_unique != n or len(values) == 0:
        return False
    numbers = values.to_numpy(dtype=float)
    if not np.all(np.mod(numbers, 1) == 0):
        return False
    if is_id_name(name) or _ROW_NAME.search(str(name)):
        return True
    if n < _MIN_ROWS_FOR_KEY or len(values) < n:  # order and packing say nothing on a sample
        return False
    ordered = bool(np.all(np.diff(numbers) > 0))
    packed = float(numbers.max() - numbers.min()) + 1 <= 2 * n
    return ordered or packed


def _infer_string_kind(name: str, values: pd.Series, counts: tuple[int, int] | None = None) -> ColumnKind:
    if len(values) == 0:
        return ColumnKind.CATEGORICAL
    uniques = pd.Series(pd.unique(values.to_numpy()))  # string work on distinct values only
    n, n_unique = counts or (len(values), len(uniques))
    lowered = set(uniques.str.strip().str.lower().unique())
    if lowered <= (_TRUE | _FALSE) and lowered & _TRUE and lowered & _FALSE:
        return ColumnKind.BOOLEAN
    if _looks_like_datetime(uniques):
        return ColumnKind.DATETIME
    mean_words = values.head(2000).str.split().str.len().mean()
    if n >= _MIN_ROWS_FOR_ID and n_unique == n and (mean_words <= 2 or _ID_NAME.search(str(name))):
        return ColumnKind.IDENTIFIER
    if n >= _MIN_ROWS_FOR_ID and mean_words >= 4 and n_unique / n > 0.5:
        return ColumnKind.TEXT
    if n >= _MIN_ROWS_FOR_ID and n_unique / n > 0.95:
        return ColumnKind.IDENTIFIER
    return ColumnKind.CATEGORICAL


def _looks_like_datetime(values: pd.Series) -> bool:
    sample = values.head(200)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().all())


@dataclass(frozen=True)
class SchemaFile:
    """A parsed schema file: kind overrides and declared domains, per column."""

    kinds: dict[str, ColumnKind] = field(default_factory=dict)
    domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "schema"


_DOMAIN_KEYS = ("min", "max", "categories", "integral", "missing", "resolution")


def load_schema_file(path: str | Path) -> SchemaFile:
    """Read the one schema file format every command takes (``--schema``)::

        columns:
          age: {kind: numeric, min: 17, max: 90, integral: true}   # kind + declared domain
          workclass: {categories: [Private, Self-emp, ...]}         # domain only: the kind is inferred
          note: text                                               # kind only

    Kinds override inference (``evaluate``, ``gate``, ``generate``); declared domains (bounds,
    integrality, categories, whether missing occurs, datetime resolution in seconds) tell a
    generator what it may emit without reading the data (free under DP). A bare mapping without
    ``columns:`` is accepted too. Raises ``BadInputError`` naming the file and column.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError("schema file not found", source=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise BadInputError(f"not valid YAML{where}: {exc}".splitlines()[0], source=str(path)) from None
    return parse_schema(data, source=str(path))


def parse_schema(data: Any, *, source: str = "schema") -> SchemaFile:
    """Validate a schema mapping (the file's content, or a dict passed in Python)."""
    if isinstance(data, dict) and "columns" in data:
        data = data["columns"]
    if not isinstance(data, dict):
        raise BadInputError("expected a mapping 'columns: {name: kind or {kind, min, max, ...}}'", source=source)
    kinds: dict[str, ColumnKind] = {}
    domains: dict[str, dict[str, Any]] = {}
    for column, spec in data.items():
        name = str(column)
        spec = {"kind": spec} if isinstance(spec, (str, ColumnKind)) else spec
        if not isinstance(spec, dict):
            raise BadInputError(f"column {name!r}: expected a kind or a mapping", source=source, column=name)
        unknown = sorted(set(spec) - {"kind", *_DOMAIN_KEYS})
        if unknown:
            known = ", ".join(("kind", *_DOMAIN_KEYS))
            raise BadInputError(
                f"column {name!r}: unknown key(s) {', '.join(map(str, unknown))}; known: {known}",
                source=source,
                column=name,
            )
        if "kind" in spec:
            kind = spec["kind"].value if isinstance(spec["kind"], ColumnKind) else spec["kind"]
            kinds.update(Schema.from_mapping({name: kind}, source=source))
        domain = {k: v for k, v in spec.items() if k != "kind"}
        if domain:
            _check_domain(name, domain, kinds.get(name), source)
            domains[name] = domain
    return SchemaFile(kinds, domains, source)


def _check_domain(column: str, domain: dict[str, Any], kind: ColumnKind | None, source: str) -> None:
    def bad(message: str) -> BadInputError:
        return BadInputError(f"column {column!r}: {message}", source=source, column=column)

    if "categories" in domain:
        if not isinstance(domain["categories"], list) or not domain["categories"]:
            raise bad("categories must be a non-empty list")
        if kind is not None and kind not in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
            raise bad(f"categories are declared for a {kind.value} column")
    bounds = [k for k in ("min", "max") if k in domain]
    if bounds and kind is not None and kind not in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
        raise bad(f"{' and '.join(bounds)} declared for a {kind.value} column")
    if len(bounds) == 1:
        raise bad(f"declare both min and max (only {bounds[0]} given)")
    if bounds:
        low, high = domain["min"], domain["max"]
        try:
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and not isinstance(low, bool):
                ordered = float(low) <= float(high)
            else:
                ordered = pd.Timestamp(low) <= pd.Timestamp(high)
        except (TypeError, ValueError):
            raise bad(f"min and max must be numbers or dates, got {low!r} and {high!r}") from None
        if not ordered:
            raise bad(f"min ({low!r}) must not exceed max ({high!r})")
    for flag in ("integral", "missing"):
        if flag in domain and not isinstance(domain[flag], bool):
            raise bad(f"{flag} must be true or false, got {domain[flag]!r}")
    if "resolution" in domain and (
        isinstance(domain["resolution"], bool) or not isinstance(domain["resolution"], int) or domain["resolution"] < 1
    ):
        raise bad(f"resolution must be a whole number of seconds >= 1, got {domain['resolution']!r}")


def coerce_frame(frame: pd.DataFrame, schema: Schema, *, source: str) -> pd.DataFrame:
    """Return a copy with one canonical dtype per kind, so real and synthetic compare like for like.

    numeric → float64; datetime → datetime64[ns]; boolean → "True"/"False" strings;
    categorical, text, identifier → Python strings. Missing stays missing.
    """
    out = {}
    for column, kind in schema.items():
        series = frame[column]
        if kind is ColumnKind.NUMERIC:
            out[column] = _to_numeric(series, source=source, column=column)
        elif kind is ColumnKind.DATETIME:
            out[column] = _to_datetime(series, source=source, column=column)
        elif kind is ColumnKind.BOOLEAN:
            out[column] = _to_boolean(series, source=source, column=column)
        else:
            out[column] = _to_string(series)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _to_numeric(series: pd.Series, *, source: str, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(float)
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    bad = values.isna() & series.notna()
    if bad.any():
        raise BadInputError(
            f"column {column!r} should be numeric but has {int(bad.sum())} non-numeric value(s)",
            source=source,
            column=column,
        )
    if np.isinf(values.to_numpy()).any():
        raise BadInputError(
            f"column {column!r} has infinite values; replace them or mark them missing", source=source, column=column
        )
    return values.reset_index(drop=True)


def _to_datetime(series: pd.Series, *, source: str, column: str) -> pd.Series:
    """datetime64[ns], naive, in UTC: aware values converted to UTC, naive ones taken as UTC
    (``timezone_mix`` tells when both occur, for a note)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(series.dt, "tz", None) else series
        return values.astype("datetime64[ns]").reset_index(drop=True)
    values = pd.to_datetime(series, errors="coerce", format="mixed", utc=True)
    bad = values.isna() & series.notna()
    if bad.any():
        raise BadInputError(
            f"column {column!r} should hold dates but has {int(bad.sum())} unparsable value(s)",
            source=source,
            column=column,
        )
    return values.dt.tz_localize(None).astype("datetime64[ns]").reset_index(drop=True)


#: a UTC offset after a time of day: 10:00Z, 10:00:00+02:00, 10:00:00.5 -0500, 10:00 UTC
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?|UTC|GMT)$"


def timezone_mix(series: pd.Series) -> tuple[bool, bool]:
    """(has time-zone-aware values, has naive values) of a datetime column as read."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        aware = getattr(series.dt, "tz", None) is not None
        return aware, not aware and bool(series.notna().any())
    values = series.dropna()
    if values.empty:
        return False, False
    if values.map(lambda v: hasattr(v, "tzinfo")).all():
        aware_mask = values.map(lambda v: v.tzinfo is not None)
    else:
        aware_mask = values.astype(str).str.strip().str.contains(_OFFSET, regex=True)
    return bool(aware_mask.any()), bool((~aware_mask).any())


def _to_boolean(series: pd.Series, *, source: str, column: str) -> pd.Series:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapping = {**{t: "True" for t in _TRUE | {"1", "1.0"}}, **{f: "False" for f in _FALSE | {"0", "0.0"}}}
    labels = pd.Series(uniques.astype(str)).str.strip().str.lower().map(mapping)
    if labels.isna().any():
        raise BadInputError(
            f"column {column!r} should be boolean but has {int(labels.isna().sum())} distinct "
            "value(s) that are not true/false/yes/no/1/0",
            source=source,
            column=column,
        )
    table = np.append(labels.to_numpy(dtype=object), np.array([None], dtype=object))  # code -1 (missing) → None
    return pd.Series(table[codes], dtype=object)


def _to_string(series: pd.Series) -> pd.Series:
    mask = series.isna().to_numpy()
    if pd.api.types.is_float_dtype(series.dtype):
        # 3.0 and 3 are one category: render integral floats without the ".0"
        vals = series.to_numpy()
        text = np.where(
            np.mod(np.nan_to_num(vals), 1) == 0,
            pd.Series(np.nan_to_num(vals)).astype("int64").astype(str),
            series.astype(str),
        )
    else:
        text = series.astype(str).to_numpy()
    out = pd.Series(text, dtype=object)
    out[mask] = None
    return out
