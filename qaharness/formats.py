"""Table formats (F-115): which file names qaharness reads and writes, the writers, and the YAML reader.

Read (``qaharness.io.read_table``) and written (``write_table``, used by ``qaharness generate`` and
``qaharness.provenance.write_tagged``): CSV/TSV, Parquet, JSON (an array of objects), JSON Lines,
YAML (a list of mappings) and XLSX (the first sheet). Writers are atomic (``qaharness._atomic``: a
fresh temporary file beside the target, never a planted symlink, then a rename) and lossless for
what the readers give back: floats keep every digit (``repr``), missing values are ``null`` / an
empty cell, datetimes ISO 8601.

Read back, JSON and YAML text columns whose every value is an ISO 8601 date or timestamp become
datetimes (as DuckDB's CSV reader does), so a table written in any of these formats and read again
has the fingerprint of the original — except XLSX floats, which openpyxl writes with 16 significant
digits (Excel itself keeps 15): the 17th digit of a float can change there.

XLSX cells are always values, never formulas: a text starting with ``=`` is stored as text
(spreadsheet formula injection), and a table longer than Excel's 1,048,575 data rows is refused.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from ._atomic import atomic_file, make_folder
from .errors import BadInputError

__all__ = ["OUTPUT_FORMATS", "output_format", "write_table", "read_yaml", "records", "parse_iso_datetimes"]

#: file-name endings → output format
OUTPUT_FORMATS: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".xlsx": "xlsx",
}
XLSX_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, one of them the header
XLSX_MAX_TEXT = 32_767
#: an ISO 8601 date or naive timestamp, as ``records`` writes them (time zones stay text)
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$")


def output_format(path: str | Path, option: str = "--out") -> str:
    """The format ``path``'s name asks for; ``BadInputError`` naming the known endings otherwise."""
    name = Path(path).name.lower()
    for suffix, kind in OUTPUT_FORMATS.items():
        if name.endswith(suffix):
            return kind
    raise BadInputError(f"unknown output format; use one of {', '.join(OUTPUT_FORMATS)}", source=f"{option} {path}")


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` in the format its name asks for, atomically; returns the path."""
    path = Path(path)
    kind = output_format(path)
    if kind == "xlsx" and len(frame) > XLSX_MAX_ROWS:
        raise BadInputError(
            f"{len(frame):,} rows do not fit one XLSX sheet ({XLSX_MAX_ROWS:,} at most); write Parquet or CSV",
            source=str(path),
        )
    make_folder(path.parent, source=str(path))
    try:
        with atomic_file(path, source=str(path)) as handle:
            _WRITERS[kind](frame, handle)
    except ValueError as exc:  # a value the format cannot hold (pyarrow's ArrowInvalid is one too)
        raise BadInputError(f"cannot write {kind}: {str(exc).splitlines()[0]}", source=str(path)) from None
    return path


def _write_parquet(frame: pd.DataFrame, handle: BinaryIO) -> None:
    frame.to_parquet(handle, index=False)


def _write_csv(frame: pd.DataFrame, handle: BinaryIO, sep: str = ",") -> None:
    handle.write(frame.to_csv(index=False, sep=sep).encode("utf-8"))


def _text(handle: BinaryIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(handle, encoding="utf-8", newline="\n", write_through=True)


def _write_json(frame: pd.DataFrame, handle: BinaryIO) -> None:
    text = _text(handle)
    text.write("[\n")
    for index, row in enumerate(records(frame)):
        text.write((",\n" if index else "") + json.dumps(row, ensure_ascii=False, allow_nan=False))
    text.write("\n]\n")
    text.detach()


def _write_jsonl(frame: pd.DataFrame, handle: BinaryIO) -> None:
    text = _text(handle)
    for row in records(frame):
        text.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
    text.detach()


def _write_yaml(frame: pd.DataFrame, handle: BinaryIO) -> None:
    import yaml

    text = _text(handle)
    yaml.safe_dump(list(records(frame)), text, allow_unicode=True, sort_keys=False, width=1 << 16)
    text.detach()


def _write_xlsx(frame: pd.DataFrame, handle: BinaryIO) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")

    def cell(value: Any) -> Any:
        """Text always as text, even when it starts with '=': a value, never a formula."""
        if not isinstance(value, str):
            return value
        if len(value) > XLSX_MAX_TEXT:
            raise ValueError(f"a text value is longer than one XLSX cell holds ({XLSX_MAX_TEXT:,} characters)")
        written = WriteOnlyCell(sheet, value=value)
        written.data_type = "s"
        return written

    sheet.append([cell(str(c)) for c in frame.columns])
    for row in records(frame, iso_datetimes=False):
        sheet.append([cell(value) for value in row.values()])
    book.save(handle)


def records(frame: pd.DataFrame, *, iso_datetimes: bool = True) -> Iterator[dict[str, Any]]:
    """Rows as plain Python values: numpy scalars unwrapped, missing (and ±inf) → None, datetimes as
    ISO 8601 text (or ``datetime`` objects, for XLSX date cells)."""
    columns = [str(c) for c in frame.columns]
    converters = [_converter(frame[c], iso_datetimes) for c in frame.columns]
    for values in zip(*(frame[c].to_numpy(dtype=object) for c in frame.columns), strict=True):
        yield {name: convert(value) for name, convert, value in zip(columns, converters, values, strict=True)}


def _converter(series: pd.Series, iso: bool) -> Callable[[Any], Any]:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if iso:
            return lambda v: None if pd.isna(v) else pd.Timestamp(v).isoformat()
        return lambda v: None if pd.isna(v) else pd.Timestamp(v).tz_localize(None).to_pydatetime()
    return _plain


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


_WRITERS: dict[str, Callable[[pd.DataFrame, BinaryIO], None]] = {
    "parquet": _write_parquet,
    "csv": _write_csv,
    "tsv": lambda frame, handle: _write_csv(frame, handle, sep="\t"),
    "json": _write_json,
    "jsonl": _write_jsonl,
    "yaml": _write_yaml,
    "xlsx": _write_xlsx,
}


# -- reading -----------------------------------------------------------------------------
def read_yaml(path: Path, limits: Any = None) -> pd.DataFrame:
    """A YAML file holding a list of mappings (one per row, scalar values). Aliases are refused (a
    few bytes of nested aliases expand to gigabytes). ``limits`` (``qaharness.io.ReadLimits``): the
    caller checked the file's size already; nested values are refused by ``read_table``."""
    import yaml

    text = path.read_text(encoding="utf-8")
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise BadInputError(
                    f"YAML aliases (*name) are not allowed in a table (line {event.start_mark.line + 1})",
                    source=str(path),
                )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise BadInputError(
            f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}", source=str(path)
        ) from None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise BadInputError("a YAML table is a list of mappings, one per row (- age: 39)", source=str(path))
    frame = pd.DataFrame.from_records(data) if data else pd.DataFrame()
    for column in frame.columns:  # YAML timestamps come as date/datetime objects
        if frame[column].map(lambda v: isinstance(v, dt.date) or v is None).all() and frame[column].notna().any():
            frame[column] = pd.to_datetime(frame[column])
    return parse_iso_datetimes(frame)


def parse_iso_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text column whose every non-missing value is an ISO 8601 date or naive
    timestamp turned into datetimes (what JSON and YAML writers make of a datetime column)."""
    out = frame
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object:
            continue
        known = series.dropna()
        if known.empty or not known.map(lambda v: isinstance(v, str) and bool(_ISO_DATETIME.match(v))).all():
            continue
        try:
            parsed = pd.to_datetime(series, format="ISO8601")
        except (ValueError, OverflowError):  # 2024-02-30 and the like: the column stays text
            continue
        out = out.assign(**{str(column): parsed})
    return out
