"""Reading tables: CSV, Parquet, JSON/JSONL, YAML, XLSX and DuckDB queries.

A source is a path, or ``duckdb:FILE.db::SELECT ...`` for a query over a database
file. DuckDB reads CSV, Parquet and JSON (it is several times faster than pandas on
large files); pandas reads XLSX and the CSVs DuckDB can't (non-UTF-8 encodings).
Every failure is a ``BadInputError`` naming the file.

Hostile input is refused before it is parsed (``ReadLimits``): more columns than
``max_columns`` (the whole CSV header is read first), more bytes than ``max_bytes`` after
decompression (gzip streamed and counted; Parquet and XLSX from their metadata), a compressed
file that expands more than ``MAX_EXPANSION`` times (a decompression bomb) unless ``max_bytes`` is
set explicitly, NUL characters in column names, and nested (list, struct, map, dict) columns.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from .errors import BadInputError

__all__ = ["Table", "ReadLimits", "read_table", "fingerprint_frame", "MAX_COLUMNS", "MAX_BYTES", "MAX_EXPANSION"]

NULL_STRINGS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
_SNIFF_BYTES = 1 << 16
#: resource caps, not quality thresholds (benchmarks/README.md#hostile-input): DuckDB's CSV reader
#: binds 100,000 columns in ~280 s here and the pairwise metrics grow with the square of the columns
MAX_COLUMNS = 4096
MAX_BYTES = 2 << 30  # 2 GiB of decompressed table text
#: CSV text of real tables gzips 3–20× (bundled Adult: ~6×); gzip itself tops out near 1,030×
MAX_EXPANSION = 200
_EXPANSION_FLOOR = 8 << 20  # the ratio is judged only above 8 MiB decompressed


@dataclass(frozen=True)
class ReadLimits:
    """Caps applied before a table is parsed. ``max_bytes=None``: ``MAX_BYTES`` plus the expansion check."""

    max_columns: int = MAX_COLUMNS
    max_bytes: int | None = None

    @property
    def byte_cap(self) -> int:
        return self.max_bytes if self.max_bytes is not None else MAX_BYTES

    def check_columns(self, n_columns: int, source: str) -> None:
        if n_columns > self.max_columns:
            raise BadInputError(
                f"has {n_columns:,} columns, more than --max-columns {self.max_columns:,}; raise it if you mean it",
                source=source,
            )

    def check_bytes(self, n_bytes: int, compressed: int | None, source: str) -> None:
        if n_bytes > self.byte_cap:
            raise BadInputError(
                f"holds more than {self.byte_cap:,} bytes of table data"
                f"{' once decompressed' if compressed is not None else ''}, more than --max-bytes; "
                "raise it if you mean it",
                source=source,
            )
        if (
            compressed
            and self.max_bytes is None
            and n_bytes > _EXPANSION_FLOOR
            and n_bytes > MAX_EXPANSION * compressed
        ):
            raise BadInputError(
                f"expands {n_bytes / compressed:,.0f}× when decompressed ({compressed:,} → {n_bytes:,} bytes), more "
                f"than the {MAX_EXPANSION}× real tables reach: refused as a likely decompression bomb; pass "
                "--max-bytes to read it anyway",
                source=source,
            )


@dataclass(frozen=True)
class Table:
    """A table read from ``source`` with the sha256 of the bytes it came from."""

    frame: pd.DataFrame
    source: str
    sha256: str
    n_rows: int = -1

    def __post_init__(self) -> None:
        if self.n_rows < 0:
            object.__setattr__(self, "n_rows", len(self.frame))


def read_table(source: str | Path | pd.DataFrame, *, name: str = "table", limits: ReadLimits | None = None) -> Table:
    """Read ``source`` into a DataFrame. ``name`` (real, synthetic, ...) labels errors; ``limits`` caps size."""
    limits = limits or ReadLimits()
    if isinstance(source, pd.DataFrame):
        _check_columns(source, f"<{name} DataFrame>", limits)
        return Table(source, f"<{name} DataFrame>", fingerprint_frame(source))
    text = str(source)
    if text.startswith("duckdb:"):
        return _read_duckdb_query(text, limits)
    path = Path(text)
    if not path.exists():
        raise BadInputError(f"{name} file not found", source=text)
    if path.is_dir():
        raise BadInputError(f"{name} source is a folder, not a file", source=text)
    if path.stat().st_size == 0:
        raise BadInputError(f"{name} file is empty", source=text)
    suffixes = "".join(path.suffixes[-2:]).lower()
    reader = _reader_for(suffixes, text)
    try:
        _check_size(path, suffixes, limits)
        frame = reader(path, limits)
    except BadInputError:
        raise
    except (duckdb.Error, ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile, csv.Error) as exc:
        raise BadInputError(f"cannot read {name} file: {_first_line(exc)}", source=text) from None
    _check_columns(frame, text, limits)
    return Table(frame, text, _sha256_file(path))


def _check_size(path: Path, suffixes: str, limits: ReadLimits) -> None:
    """Refuse a file whose table data exceeds ``limits`` before any parser sees it."""
    size = path.stat().st_size
    if path.suffix.lower() == ".gz":
        expanded = 0
        with gzip.open(path, "rb") as handle:  # count in chunks; stop as soon as the cap is passed
            while (chunk := handle.read(1 << 20)) and expanded <= limits.byte_cap:
                expanded += len(chunk)
        limits.check_bytes(expanded, size, str(path))
    elif suffixes.endswith((".xlsx", ".xlsm")):
        with zipfile.ZipFile(path) as archive:
            limits.check_bytes(sum(info.file_size for info in archive.infolist()), size, str(path))
    elif suffixes.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        metadata = pq.read_metadata(path)
        limits.check_columns(metadata.num_columns, str(path))
        expanded = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        limits.check_bytes(expanded, size, str(path))
    else:
        limits.check_bytes(size, None, str(path))


def _reader_for(suffixes: str, source: str):
    if suffixes.endswith((".csv", ".csv.gz", ".tsv", ".txt", ".tsv.gz")):
        return _read_csv
    if suffixes.endswith((".parquet", ".pq")):
        return _read_parquet
    if suffixes.endswith((".jsonl", ".ndjson", ".json")):
        return _read_json
    if suffixes.endswith((".xlsx", ".xlsm")):
        return _read_xlsx
    if suffixes.endswith((".yaml", ".yml")):
        from .formats import read_yaml

        return read_yaml
    raise BadInputError(
        "unknown file type; use .csv, .tsv, .parquet, .json, .jsonl, .yaml, .xlsx or 'duckdb:FILE::QUERY'",
        source=source,
    )


def _read_csv(path: Path, limits: ReadLimits) -> pd.DataFrame:
    head = _open_bytes(path)
    encoding = _detect_encoding(path, head)
    text = head.decode(encoding, errors="replace")
    delimiter = _sniff_delimiter(text)
    header = [h.strip() for h in csv_header(path, encoding, delimiter)]
    limits.check_columns(len(header), str(path))
    _check_names(header, str(path))
    _check_duplicate_names(header, str(path))
    if encoding == "utf-8":
        con = duckdb.connect()
        options: dict[str, Any] = {"delimiter": delimiter, "header": True, "null_padding": False}
        options["na_values"] = NULL_STRINGS
        rel = con.read_csv(str(path), sample_size=-1, **options)
        frame = _keep_boolean_spelling(con, path, options, rel, _to_pandas(rel))
    else:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            encoding=encoding,
            na_values=NULL_STRINGS,
            keep_default_na=False,
            skipinitialspace=False,
        )
    _check_renamed(header, [str(c) for c in frame.columns], str(path))
    return frame


def csv_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    """The CSV's whole first record (however long, quoted newlines included)."""
    encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding=encoding, errors="replace", newline="") as handle:
        return next(csv.reader(handle, delimiter=delimiter), [])


def _check_renamed(header: list[str], columns: list[str], source: str) -> None:
    """The reader must keep every header name (an empty one may get the reader's placeholder)."""
    if len(header) != len(columns):
        raise BadInputError(
            f"the header names {len(header):,} columns but the rows hold {len(columns):,}", source=source
        )
    for position, (name, column) in enumerate(zip(header, columns)):
        if name not in ("", column.strip()):
            raise BadInputError(
                f"column {position + 1} is named {name!r} in the header but was read as {column!r}", source=source
            )


def _keep_boolean_spelling(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    options: dict[str, Any],
    rel: duckdb.DuckDBPyRelation,
    frame: pd.DataFrame,
) -> pd.DataFrame:
    """Columns DuckDB typed BOOLEAN from yes/no, y/n or t/f text get their text back (true/false stay bool).

    Otherwise a table written back from this one (synthetic output) would say True/False where the
    source said yes/no; schema inference still reads such text columns as boolean.
    """
    columns = [c for c, t in zip(rel.columns, rel.types) if str(t) == "BOOLEAN"]
    if not columns:
        return frame
    text = con.read_csv(str(path), all_varchar=True, **options).df()
    for column in columns:
        words = set(text[column].dropna().astype(str).str.strip().str.lower())
        if not words <= {"true", "false"}:
            frame[column] = text[column].astype(object).where(text[column].notna(), None)
    return frame


def _open_bytes(path: Path) -> bytes:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return fh.read(_SNIFF_BYTES)


def _detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (with or without BOM) or cp1252; anything else fails naming the byte."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BadInputError("file is UTF-16; re-save it as UTF-8", source=str(path))
    if path.suffix == ".gz":
        return "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return _fallback_encoding(path, offset + exc.start, chunk[exc.start : exc.start + 1])
            offset += len(chunk)
    return "utf-8"


def _fallback_encoding(path: Path, position: int, byte: bytes) -> str:
    try:
        path.read_bytes().decode("cp1252")
    except UnicodeDecodeError:
        raise BadInputError(
            f"not valid UTF-8 (byte 0x{byte.hex()} at offset {position}) and not "
            "Windows-1252 either; re-save the file as UTF-8",
            source=str(path),
        ) from None
    return "cp1252"


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_parquet(path: Path, limits: ReadLimits) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    _check_names(schema.names, str(path))
    _check_duplicate_names(schema.names, str(path))
    for field in schema:
        kind = field.type
        if pa.types.is_nested(kind) or (pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type)):
            raise BadInputError(
                f"column {field.name!r} holds nested values ({kind}); flatten it into scalar columns first",
                source=str(path),
                column=field.name,
            )
    return _to_pandas(duckdb.connect().read_parquet(str(path)))


def _to_pandas(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """Through Arrow: 3–4× faster than ``relation.df()`` on wide tables (no block consolidation)."""
    return relation.to_arrow_table().to_pandas(date_as_object=False)


def _read_json(path: Path, limits: ReadLimits) -> pd.DataFrame:
    lines = path.suffix.lower() in {".jsonl", ".ndjson"}
    try:
        frame = pd.read_json(path, lines=lines, dtype=False)
    except ValueError:
        frame = pd.read_json(path, lines=not lines, dtype=False)
    from .formats import parse_iso_datetimes

    return parse_iso_datetimes(frame)


def _read_xlsx(path: Path, limits: ReadLimits) -> pd.DataFrame:
    frame = pd.read_excel(path, sheet_name=0, engine="openpyxl", header=0)
    mangled = [c for c in frame.columns if isinstance(c, str) and "." in c and c.rsplit(".", 1)[0] in frame.columns]
    if mangled:
        raise BadInputError(
            f"duplicate column names: {', '.join(sorted({m.rsplit('.', 1)[0] for m in mangled}))}", source=str(path)
        )
    return frame


def _read_duckdb_query(spec: str, limits: ReadLimits) -> Table:
    body = spec[len("duckdb:") :]
    if "::" not in body:
        raise BadInputError("a DuckDB source is 'duckdb:FILE.db::SELECT ...'", source=spec)
    db_path, query = body.split("::", 1)
    if not Path(db_path).is_file():
        raise BadInputError("database file not found", source=db_path)
    try:
        con = duckdb.connect(db_path, read_only=True)
        try:
            frame = _to_pandas(con.sql(query))
        finally:
            con.close()
    except duckdb.Error as exc:
        raise BadInputError(f"query failed: {_first_line(exc)}", source=spec) from None
    _check_columns(frame, spec, limits)
    digest = hashlib.sha256(spec.encode() + fingerprint_frame(frame).encode()).hexdigest()
    return Table(frame, spec, digest)


def _check_duplicate_names(names: list[str], source: str) -> None:
    seen, dupes = set(), []
    for name in names:
        if name in seen and name not in dupes:
            dupes.append(name)
        seen.add(name)
    if dupes:
        raise BadInputError(f"duplicate column names: {', '.join(map(str, dupes))}", source=source)


def _check_names(names: list[str], source: str) -> None:
    for name in names:
        if "\x00" in str(name):
            raise BadInputError(
                f"column name {str(name)!r} contains a NUL character; rename the column",
                source=source,
                column=str(name),
            )


def _check_columns(frame: pd.DataFrame, source: str, limits: ReadLimits | None = None) -> None:
    (limits or ReadLimits()).check_columns(frame.shape[1], source)
    _check_names([str(c) for c in frame.columns], source)
    _check_duplicate_names([str(c) for c in frame.columns], source)
    if frame.shape[1] == 0:
        raise BadInputError("table has no columns", source=source)
    _check_scalar_values(frame, source)


def _check_scalar_values(frame: pd.DataFrame, source: str) -> None:
    """Refuse columns holding lists, dicts or arrays (nested JSON, Parquet lists): metrics need scalars."""
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object:
            continue
        nested = series.map(lambda v: isinstance(v, (list, dict, tuple, set, np.ndarray)))
        if nested.any():
            example, row = type(series[nested].iloc[0]).__name__, int(nested.to_numpy().argmax()) + 1
            raise BadInputError(
                f"column {str(column)!r} holds nested values ({example}, e.g. row {row}); "
                "flatten it into scalar columns first",
                source=source,
                column=str(column),
            )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """sha256 over column names and row hashes: the same table gives the same value."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
