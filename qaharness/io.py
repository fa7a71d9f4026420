"""Reading tables: CSV, Parquet, JSON/JSONL, XLSX and DuckDB queries.

A source is a path, or ``duckdb:FILE.db::SELECT ...`` for a query over a database
file. DuckDB reads CSV, Parquet and JSON (it is several times faster than pandas on
large files); pandas reads XLSX and the CSVs DuckDB can't (non-UTF-8 encodings).
Every failure is a ``BadInputError`` naming the file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .errors import BadInputError

__all__ = ["Table", "read_table", "fingerprint_frame"]

NULL_STRINGS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
_SNIFF_BYTES = 1 << 16


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


def read_table(source: str | Path | pd.DataFrame, *, name: str = "table") -> Table:
    """Read ``source`` into a DataFrame. ``name`` (real, synthetic, ...) labels errors."""
    if isinstance(source, pd.DataFrame):
        _check_columns(source, f"<{name} DataFrame>")
        return Table(source, f"<{name} DataFrame>", fingerprint_frame(source))
    text = str(source)
    if text.startswith("duckdb:"):
        return _read_duckdb_query(text)
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
        frame = reader(path)
    except BadInputError:
        raise
    except (duckdb.Error, ValueError, OSError, KeyError) as exc:
        raise BadInputError(f"cannot read {name} file: {_first_line(exc)}", source=text) from None
    _check_columns(frame, text)
    return Table(frame, text, _sha256_file(path))


def _reader_for(suffixes: str, source: str):
    if suffixes.endswith((".csv", ".csv.gz", ".tsv", ".txt", ".tsv.gz")):
        return _read_csv
    if suffixes.endswith((".parquet", ".pq")):
        return _read_parquet
    if suffixes.endswith((".jsonl", ".ndjson", ".json")):
        return _read_json
    if suffixes.endswith((".xlsx", ".xlsm")):
        return _read_xlsx
    raise BadInputError(
        "unknown file type; use .csv, .tsv, .parquet, .json, .jsonl, .xlsx or 'duckdb:FILE::QUERY'", source=source
    )


def _read_csv(path: Path) -> pd.DataFrame:
    head = _open_bytes(path)
    encoding = _detect_encoding(path, head)
    text = head.decode(encoding, errors="replace")
    delimiter = _sniff_delimiter(text)
    header = next(csv.reader([text.splitlines()[0] if text.splitlines() else ""], delimiter=delimiter))
    _check_duplicate_names([h.strip() for h in header], str(path))
    if encoding == "utf-8":
        con = duckdb.connect()
        options: dict[str, Any] = {"delimiter": delimiter, "header": True, "null_padding": False}
        options["na_values"] = NULL_STRINGS
        rel = con.read_csv(str(path), sample_size=-1, **options)
        return _keep_boolean_spelling(con, path, options, rel, _to_pandas(rel))
    return pd.read_csv(
        path, sep=delimiter, encoding=encoding, na_values=NULL_STRINGS, keep_default_na=False, skipinitialspace=False
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


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    _check_duplicate_names(names, str(path))
    return _to_pandas(duckdb.connect().read_parquet(str(path)))


def _to_pandas(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """Through Arrow: 3–4× faster than ``relation.df()`` on wide tables (no block consolidation)."""
    return relation.to_arrow_table().to_pandas(date_as_object=False)


def _read_json(path: Path) -> pd.DataFrame:
    lines = path.suffix.lower() in {".jsonl", ".ndjson"}
    try:
        frame = pd.read_json(path, lines=lines, dtype=False)
    except ValueError:
        frame = pd.read_json(path, lines=not lines, dtype=False)
    return frame


def _read_xlsx(path: Path) -> pd.DataFrame:
    frame = pd.read_excel(path, sheet_name=0, engine="openpyxl", header=0)
    mangled = [c for c in frame.columns if isinstance(c, str) and "." in c and c.rsplit(".", 1)[0] in frame.columns]
    if mangled:
        raise BadInputError(
            f"duplicate column names: {', '.join(sorted({m.rsplit('.', 1)[0] for m in mangled}))}", source=str(path)
        )
    return frame


def _read_duckdb_query(spec: str) -> Table:
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
    _check_columns(frame, spec)
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


def _check_columns(frame: pd.DataFrame, source: str) -> None:
    _check_duplicate_names([str(c) for c in frame.columns], source)
    if frame.shape[1] == 0:
        raise BadInputError("table has no columns", source=source)


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
