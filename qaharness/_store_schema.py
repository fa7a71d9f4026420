"""The run store's layout: a schema version, migrations, and the check that a file is a store.

Version 1 is the layout qaharness 0.1.0 wrote (no ``meta`` table). Every later version is one
entry in ``MIGRATIONS``: SQL applied in one transaction, after which ``meta.schema_version`` says
the new number. A store is migrated when it is opened; a store written by a newer qaharness is
refused (exit 2) rather than guessed at. Adding a version: append ``(N, "SQL")`` and update the
column lists in ``qaharness.store`` that name the new columns.

A file that is not a DuckDB database, or a DuckDB database that holds tables but is not a
qaharness store (a warehouse), is refused before anything is written to it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .errors import BadInputError

__all__ = ["SCHEMA_VERSION", "MIGRATIONS", "STORE_FORMAT", "check_store_file", "ensure_schema", "store_version"]

STORE_FORMAT = "qaharness-run-store"

#: the layout of qaharness 0.1.0, kept verbatim: new stores are built from it plus the migrations
_V1 = """
CREATE TABLE runs (
  run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, recorded_at TIMESTAMP, kind VARCHAR,
  verdict VARCHAR, policy_id VARCHAR, policy_version VARCHAR, policy_sha256 VARCHAR,
  dataset VARCHAR, real_sha256 VARCHAR, synthetic VARCHAR, synthetic_sha256 VARCHAR,
  generator VARCHAR, seed BIGINT, out_dir VARCHAR, ticket VARCHAR, results_json VARCHAR);
CREATE TABLE metrics (
  run_id VARCHAR, metric_id VARCHAR, family VARCHAR, status VARCHAR, value DOUBLE,
  ci_low DOUBLE, ci_high DOUBLE, baseline DOUBLE, message VARCHAR);
CREATE TABLE rules (
  run_id VARCHAR, rule_id VARCHAR, metric_id VARCHAR, field VARCHAR, op VARCHAR,
  threshold DOUBLE, observed DOUBLE, severity VARCHAR, status VARCHAR, message VARCHAR);
CREATE TABLE artifacts (
  run_id VARCHAR, name VARCHAR, path VARCHAR, sha256 VARCHAR, recorded_at TIMESTAMP);
CREATE TABLE reviews (
  review_id VARCHAR PRIMARY KEY, run_id VARCHAR, created_at TIMESTAMP, reviewer VARCHAR,
  decision VARCHAR, comment VARCHAR);
"""

#: (version, SQL): each brings the store from version - 1 to version
MIGRATIONS: list[tuple[int, str]] = [
    (
        2,
        """
        CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
        ALTER TABLE rules ADD COLUMN kind VARCHAR DEFAULT 'metric';
        ALTER TABLE artifacts ADD COLUMN relative_path VARCHAR;
        ALTER TABLE runs ADD COLUMN results_schema_version INTEGER;
        """,
    ),
    # the waiver a reviewer cites when approving a failed run (the dashboard's Review page)
    (3, "ALTER TABLE reviews ADD COLUMN waiver VARCHAR;"),
    (
        4,
        # the privacy-budget ledger: one row each time a release from a real source is seen
        # (qaharness generate, or a gate on a table carrying a manifest); append-only
        """
        CREATE TABLE budget_ledger (
          entry_id VARCHAR PRIMARY KEY, source_fingerprint VARCHAR, manifest_id VARCHAR,
          recorded_at TIMESTAMP, manifest_created_at VARCHAR, origin VARCHAR, run_id VARCHAR,
          actor VARCHAR, tool VARCHAR, generator VARCHAR, generator_version VARCHAR, synthetic VARCHAR,
          n_rows BIGINT, sealed BOOLEAN, dp BOOLEAN, epsilon DOUBLE, delta DOUBLE, accountant VARCHAR,
          mechanism VARCHAR, noise_multiplier DOUBLE, sample_rate DOUBLE, steps BIGINT,
          preprocessing_epsilon DOUBLE, preprocessing_delta DOUBLE, manifest_json VARCHAR);
        """,
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
_V1_TABLES = {"runs", "metrics", "rules", "artifacts", "reviews"}
_DUCKDB_MAGIC = b"DUCK"


def check_store_file(path: Path) -> None:
    """Refuse a file that is not a DuckDB database (a CSV passed as --store, say)."""
    if not path.exists():
        return
    if path.is_dir():
        raise BadInputError("is a folder, not a run store file", source=str(path))
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise BadInputError(f"cannot read the run store: {exc.strerror or exc}", source=str(path)) from None
    if len(head) == 0:
        return  # an empty file: a store is created in it
    if head[8:12] != _DUCKDB_MAGIC:
        raise BadInputError(
            "is not a qaharness run store (not a DuckDB database); pass a new file name or an existing store",
            source=str(path),
        )


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    return {str(r[0]) for r in rows}


def store_version(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    """The store's schema version; None for an empty database; BadInputError for a foreign one."""
    tables = _tables(con)
    if not tables:
        return None
    if "meta" in tables:
        rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
        if rows.get("format") != STORE_FORMAT:
            raise BadInputError(
                "is a DuckDB database with a 'meta' table that is not a qaharness run store's", source=str(path)
            )
        return int(rows.get("schema_version", "0"))
    if tables >= _V1_TABLES:
        return 1
    raise BadInputError(
        f"is a DuckDB database that is not a qaharness run store (it holds {', '.join(sorted(tables)[:5])}"
        f"{' …' if len(tables) > 5 else ''}); qaharness does not add its tables to another database — pass a "
        "new file name",
        source=str(path),
    )


def ensure_schema(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Create or migrate the store behind ``con`` (a read-write connection) to ``SCHEMA_VERSION``."""
    version = store_version(con, path)
    if version is not None and version > SCHEMA_VERSION:
        raise BadInputError(
            f"run store schema version {version} is newer than this qaharness understands ({SCHEMA_VERSION}); "
            "upgrade qaharness to read it",
            source=str(path),
        )
    if version == SCHEMA_VERSION:
        return version
    con.execute("BEGIN TRANSACTION")
    try:
        if version is None:
            con.execute(_V1)
            version = 1
        for target, sql in MIGRATIONS:
            if target > version:
                con.execute(sql)
                version = target
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('format', ?), ('schema_version', ?)", [STORE_FORMAT, str(version)]
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return version
