"""File formats behind ``qaharness.provenance``: Parquet metadata, CSV tag columns, sidecars, fingerprints.

Private: import from ``qaharness.provenance``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._atomic import atomic_file, write_text
from ._format import FALSE_WORDS, TRUE_WORDS
from .errors import BadInputError
from .io import _detect_encoding, _open_bytes, _sniff_delimiter, fingerprint_frame

TAG_COLUMN = "_qaharness_provenance"
TAG_PREFIX = "synthetic:"
METADATA_KEY = "qaharness.provenance"
_BOOLEAN_WORDS = {**dict.fromkeys(TRUE_WORDS, 1), **dict.fromkeys(FALSE_WORDS, 0)}


def data_fingerprint(frame: pd.DataFrame) -> str:
    """``fingerprint_frame`` of ``frame`` in canonical dtypes, without the provenance tag column.

    Canonical, and exact: integers (and floats whose every value is integral and below 2^63 in
    size) as nullable Int64, so an int64 above 2^53 changed by one changes the fingerprint; other
    numbers as float64; booleans — also text columns holding only true/false/yes/no/t/f/y/n, which
    DuckDB's CSV reader turns into booleans — as Int64 0/1; datetimes as naive datetime64[ns] (UTC);
    everything else as str objects (missing = None). So a DataFrame and the same table written to
    CSV or Parquet and read back by ``read_table`` give the same fingerprint; column names and row
    order count.
    """
    return fingerprint_frame(canonical_frame(frame))


def canonical_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (tag column left out) in the canonical dtypes of ``data_fingerprint``."""
    columns = [c for c in frame.columns if c != TAG_COLUMN]
    return pd.DataFrame(
        {str(c): _canonical_column(frame[c]) for c in columns},
        index=pd.RangeIndex(len(frame)),
        columns=[str(c) for c in columns],
    )


_INT64_SPAN = float(2**63)


def _exact_integers(values: pd.Series) -> pd.Series | None:
    """Int64 when every non-missing value is an integer that int64 holds exactly, else None."""
    dtype = values.dtype
    if pd.api.types.is_integer_dtype(dtype):
        if pd.api.types.is_unsigned_integer_dtype(dtype) and len(values) and values.max() >= 2**63:
            return None
        return values.astype("Int64")
    if not pd.api.types.is_float_dtype(dtype):
        return None
    array = values.to_numpy(dtype="float64", na_value=np.nan)
    present = array[~np.isnan(array)]
    if present.size and not (np.all(np.isfinite(present)) and np.all(np.abs(present) < _INT64_SPAN)):
        return None
    if present.size and not np.all(np.mod(present, 1) == 0):
        return None
    out = pd.array(np.where(np.isnan(array), 0, array).astype("int64"), dtype="Int64")
    out[np.isnan(array)] = pd.NA
    return pd.Series(out)


def _canonical_column(series: pd.Series) -> pd.Series:
    dtype = series.dtype
    values = series.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(dtype):
        return values.astype("Int64")
    if pd.api.types.is_numeric_dtype(dtype):
        exact = _exact_integers(values)
        if exact is not None:
            return exact
        if pd.api.types.is_unsigned_integer_dtype(dtype):  # above int64: exact as text
            return values.astype(str).astype(object)
        return values.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return values.astype("datetime64[ns]")
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)  # missing → -1
    if len(uniques) <= 8:
        words = [_BOOLEAN_WORDS.get(str(u).strip().lower()) for u in uniques]
        if words and None not in words:
            table = np.append(np.array(words, dtype="int64"), 0)[codes]
            out = pd.array(table, dtype="Int64")
            out[codes < 0] = pd.NA
            return pd.Series(out)
    labels = np.array([u if isinstance(u, str) else str(u) for u in uniques] + [None], dtype=object)
    return pd.Series(labels[codes], dtype=object)


def tag_counts(frame: pd.DataFrame) -> dict[str, int] | None:
    """Counts of tag values in ``frame`` (missing tags under ''); None without a tag column."""
    if TAG_COLUMN not in frame.columns:
        return None
    values = frame[TAG_COLUMN].astype(object).where(frame[TAG_COLUMN].notna(), "").astype(str)
    return {str(k): int(v) for k, v in values.value_counts(sort=False).items()}


def split_tags(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int] | None]:
    """``frame`` without the tag column (a new frame; the input is untouched) and its tag counts."""
    counts = tag_counts(frame)
    return (frame if counts is None else frame.drop(columns=[TAG_COLUMN])), counts


def sidecar_path(path: str | Path) -> Path:
    return Path(str(path) + ".provenance.json")


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return "other"


def tag_parquet(path: Path, manifest_json: str, tag: str | None) -> None:
    """Rewrite the Parquet file with the manifest in its metadata and the tag column set (or removed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if TAG_COLUMN in table.column_names:
        table = table.drop_columns([TAG_COLUMN])
    if tag is not None:
        table = table.append_column(TAG_COLUMN, pa.array([tag] * table.num_rows, pa.string()))
    metadata = dict(table.schema.metadata or {})
    metadata.pop(b"pandas", None)  # its column list would no longer match
    metadata[METADATA_KEY.encode()] = manifest_json.encode()
    with atomic_file(path, source=str(path)) as handle:
        pq.write_table(table.replace_schema_metadata(metadata), handle)


def tag_csv(path: Path, tag: str | None) -> None:
    """Rewrite the CSV with the tag column set to ``tag`` on every row (removed when None)."""
    head = _open_bytes(path)
    if path.suffix.lower() == ".gz":
        raise BadInputError("cannot add a tag column to a compressed CSV; use --no-column", source=str(path))
    encoding = _detect_encoding(path, head)
    text = head.decode(encoding, errors="replace")
    delimiter = _sniff_delimiter(text)
    newline = "\r\n" if "\r\n" in text.split("\n", 1)[0] + "\n" else "\n"
    with open(path, newline="", encoding=encoding) as src, atomic_file(path, source=str(path)) as raw:
        dst = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(src, delimiter=delimiter)
        writer = csv.writer(dst, delimiter=delimiter, lineterminator=newline)
        header = next(reader)
        index = header.index(TAG_COLUMN) if TAG_COLUMN in header else None
        writer.writerow(_with_tag(header, index, TAG_COLUMN if tag else None))
        for row in reader:
            if row:
                writer.writerow(_with_tag(row, index, tag))
        dst.flush()
        dst.detach()  # the atomic writer closes the file


def _with_tag(row: list[str], index: int | None, value: str | None) -> list[str]:
    if index is not None:
        row = row[:index] + row[index + 1 :]
    return [*row, value] if value is not None else row


def atomic_write_text(path: Path, text: str) -> None:
    write_text(path, text, source=str(path))


def read_manifest_data(path: str | Path) -> dict[str, Any] | None:
    """The raw manifest JSON attached to ``path`` (None when there is none).

    Raises ``BadInputError`` when the file is missing or the manifest is not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError("file not found", source=str(path))
    raw: bytes | str | None = None
    if file_kind(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY.encode())
        except (OSError, ValueError) as exc:
            raise BadInputError(f"cannot read Parquet metadata: {str(exc).splitlines()[0]}", source=str(path)) from None
    elif sidecar_path(path).is_file():
        raw = sidecar_path(path).read_text(encoding="utf-8")
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadInputError("provenance manifest is not valid JSON", source=str(path)) from None
    if not isinstance(data, dict):
        raise BadInputError("provenance manifest is not a JSON object", source=str(path))
    return data
