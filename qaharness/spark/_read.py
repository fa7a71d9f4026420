"""Spark sources: Parquet paths (local, ``s3a://``, ``hdfs://`` …), ``spark:SELECT …`` or a Spark DataFrame."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadInputError
from ..io import _check_duplicate_names, _sha256_file
from ..provenance import TAG_COLUMN, read_manifest_data

__all__ = ["RawTable", "read_source", "QUERY_PREFIX"]

QUERY_PREFIX = "spark:"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:/")
_NOT_PARQUET = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".xlsx", ".xlsm", ".gz")


@dataclass
class RawTable:
    """One input as Spark reads it, the provenance tag column split off."""

    name: str
    source: str
    frame: Any  # pyspark DataFrame
    sha256: str
    manifest: dict | None = None
    manifest_note: str | None = None
    tags: dict[str, int] | None = None


def read_source(session: Any, source: Any, name: str) -> RawTable:
    """Read ``source`` for the ``name`` seat (real, synthetic, holdout); every failure is a ``BadInputError``."""
    from pyspark.sql import DataFrame

    if isinstance(source, DataFrame):
        label = f"<{name} Spark DataFrame>"
        return _finish(name, label, source, _identity_hash(label, source))
    text = str(source)
    if text.startswith(QUERY_PREFIX):
        query = text[len(QUERY_PREFIX) :].strip()
        frame = _guard(lambda: session.sql(query), "query failed", text)
        return _finish(name, text, frame, _identity_hash(text, frame))
    if not _SCHEME.match(text) or text.startswith("file:"):
        return _read_local(session, text, name)
    frame = _guard(lambda: session.read.parquet(text), f"cannot read {name} Parquet", text)
    return _finish(name, text, frame, _identity_hash(text, frame))


def _read_local(session: Any, text: str, name: str) -> RawTable:
    path = Path(text.removeprefix("file://").removeprefix("file:"))
    if not path.exists():
        raise BadInputError(f"{name} file not found", source=text)
    if path.is_file() and path.name.lower().endswith(_NOT_PARQUET):
        raise BadInputError(
            f"--engine spark reads Parquet; for this file use a query, e.g. "
            f"'spark:SELECT * FROM csv.`{path}`', or convert it to Parquet",
            source=text,
        )
    frame = _guard(lambda: session.read.parquet(str(path.resolve())), f"cannot read {name} Parquet", text)
    manifest, note = None, None
    if path.is_file():
        digest = _sha256_file(path)
        try:
            manifest = read_manifest_data(path)
        except BadInputError as exc:
            note = f"{name} provenance manifest ignored: {exc}"
    else:
        digest = _folder_hash(path)
    return _finish(name, text, frame, digest, manifest, note)


def _folder_hash(folder: Path) -> str:
    """sha256 over the data files of a Parquet folder (sorted by relative path, names and bytes)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(("_", "."))):
        digest.update(str(file.relative_to(folder)).encode() + b"\0" + _sha256_file(file).encode())
    return digest.hexdigest()


def _identity_hash(label: str, frame: Any) -> str:
    """For remote paths, queries and DataFrames: a hash of the source and the files it reads, not their bytes."""
    try:
        files = sorted(frame.inputFiles())
    except Exception:  # inputFiles is best effort (some sources have none)
        files = []
    return hashlib.sha256("\n".join([label, *files]).encode()).hexdigest()


def _guard(read, what: str, source: str) -> Any:
    try:
        return read()
    except Exception as exc:  # Spark's AnalysisException / ParseException / Py4J errors
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if "TIMESTAMP(NANOS" in first:
            first += (
                " — Spark does not read nanosecond Parquet timestamps (pandas writes them by default); "
                "write with df.to_parquet(path, coerce_timestamps='us', allow_truncated_timestamps=True)"
            )
        raise BadInputError(f"{what}: {first}", source=source) from None


def _finish(
    name: str, label: str, frame: Any, digest: str, manifest: dict | None = None, note: str | None = None
) -> RawTable:
    columns = [str(c) for c in frame.columns]
    _check_duplicate_names(columns, label)
    if not columns:
        raise BadInputError("table has no columns", source=label)
    tags = None
    if TAG_COLUMN in columns:
        from pyspark.sql import functions as F

        rows = frame.groupBy(F.coalesce(F.col(TAG_COLUMN).cast("string"), F.lit("")).alias("tag")).count().collect()
        tags = {str(r["tag"]): int(r["count"]) for r in rows}
        frame = frame.drop(TAG_COLUMN)
        if not frame.columns:
            raise BadInputError("table has no columns besides the provenance tag", source=label)
    return RawTable(name, label, frame, digest, manifest, note, tags)
