"""The run store: every evaluate and gate run, in one DuckDB file.

Tables: ``runs`` (one row per run, with its results.json), ``metrics`` (long format),
``rules``, ``artifacts`` (with sha256), ``reviews`` (append-only) and ``budget_ledger`` (the
privacy-budget ledger per real source, append-only; ``qaharness.budget``), plus ``meta`` (format and
schema version; ``qaharness._store_schema`` holds the migrations, applied when a store is opened).
Inserts name their columns. DuckDB lets one process hold a file read-write; every connection here
is short, holds the store's lock (``qaharness._store_lock``: exclusive to write, shared to read) from
before it opens the file until after it closes it, and is retried while the lock is taken, so parallel
gates and a reading dashboard share one store.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from ._store_lock import DENIED_ERRNOS, StoreLocked, store_lock
from ._store_schema import SCHEMA_VERSION, check_store_file, ensure_schema, store_version
from .errors import BadInputError, StoreBusyError
from .paths import default_store
from .results import Run

__all__ = ["RunStore", "REVIEW_DECISIONS"]

T = TypeVar("T")
REVIEW_DECISIONS = ("approve", "reject", "request_changes")
_LOCK_MARKERS = ("lock", "Conflicting", "being used", "Could not set lock")
_DENIED_MARKERS = ("Permission denied", "Read-only file system")


def _is_lock_error(exc: Exception) -> bool:
    return isinstance(exc, duckdb.Error) and any(m in str(exc) for m in _LOCK_MARKERS) and not _is_denied(exc)


def _is_denied(exc: Exception) -> bool:
    """A permission or read-only failure (a lock conflict's message also mentions read-only mode: not this)."""
    text = str(exc)
    return "Conflicting lock" not in text and any(m in text for m in _DENIED_MARKERS)


def _denied(path: Path, exc: Exception) -> BadInputError:
    reason = "read-only file system" if "Read-only" in str(exc) else "permission denied"
    return BadInputError(
        f"cannot write the run store: {reason}; pass a writable --store or --no-store", source=str(path)
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class RunStore:
    """A DuckDB file of runs. ``timeout`` bounds how long a call waits for a lock."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = 120.0):
        self.path = Path(path) if path else default_store()
        self.timeout = timeout
        self._checked = False  # the file was found to be a store at the current schema version

    def check_writable(self) -> None:
        """``BadInputError`` (exit 2) now, before any work, when the store or its folder is read-only."""
        check_store_file(self.path)
        folder = self.path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if (self.path.exists() and not os.access(self.path, os.W_OK)) or not os.access(folder, os.W_OK):
            raise BadInputError(
                "cannot write the run store: read-only or permission denied; pass a writable --store or --no-store",
                source=str(self.path),
            )

    # -- connections -------------------------------------------------------------------
    @contextmanager
    def _connect(self, read_only: bool):
        """A connection, opened and closed under the store's lock (``StoreLocked`` while it is taken)."""
        if read_only and not self.path.exists():
            raise BadInputError("run store not found; run a gate or `qaharness demo` first", source=str(self.path))
        with ExitStack() as stack:
            try:
                if not read_only:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _denied(self.path, exc) from None
            try:
                stack.enter_context(store_lock(self.path, shared=read_only))
            except OSError as exc:
                if exc.errno not in DENIED_ERRNOS:
                    raise
                raise _denied(self.path, exc) from None
            check_store_file(self.path)
            if not read_only and not self.path.exists():
                self._create()
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                if _is_denied(exc):
                    raise _denied(self.path, exc) from None
                raise
            try:
                yield con
            finally:
                con.close()  # DuckDB checkpoints here, still under the lock

    def _create(self) -> None:
        """Create the file atomically (under the store's lock): build it under a temporary name, then
        hard-link it into place, so an interrupted creation never leaves a half-written store."""
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        try:
            try:
                con = duckdb.connect(str(tmp))
            except duckdb.Error as exc:
                if _is_denied(exc):
                    raise _denied(self.path, exc) from None
                raise
            try:
                ensure_schema(con, self.path)
            finally:
                con.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # created by a qaharness without the store lock; its file is complete
            except OSError:  # no hard links on this file system
                if not self.path.exists():
                    os.replace(tmp, self.path)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)

    def _retry(self, read_only: bool, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        deadline = time.monotonic() + self.timeout
        delay = 0.02
        while True:
            try:
                if not self._checked:
                    self._ensure_current(read_only)
                with self._connect(read_only) as con:
                    return work(con)
            except StoreLocked:
                pass  # another qaharness connection: wait for it
            except duckdb.Error as exc:  # DuckDB's own lock: another program holds the file
                if _is_denied(exc) and not read_only:
                    raise _denied(self.path, exc) from None
                if not _is_lock_error(exc):
                    raise
            if time.monotonic() > deadline:
                raise StoreBusyError(
                    f"The run store {self.path} stayed locked by another process for {self.timeout:g} s.",
                    store=str(self.path),
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.6, 0.5)

    def _ensure_current(self, read_only: bool) -> None:
        """Check once per instance that the file is a store at this schema version; migrate an older
        one (through a short write connection, also when the caller only reads)."""
        if read_only:
            with self._connect(True) as con:
                version = store_version(con, self.path)
            if version is not None and version > SCHEMA_VERSION:
                with self._connect(True) as con:
                    ensure_schema(con, self.path)  # raises: written by a newer qaharness
            if version is None or version >= SCHEMA_VERSION:
                self._checked = version is not None
                return
        with self._connect(False) as con:
            ensure_schema(con, self.path)
        self._checked = True

    def _write(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        def transaction(con: duckdb.DuckDBPyConnection) -> T:
            con.execute("BEGIN TRANSACTION")
            try:
                out = work(con)
                con.execute("COMMIT")
                return out
            except Exception:
                con.execute("ROLLBACK")
                raise

        return self._retry(False, transaction)

    def _read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        if not self.path.exists():
            return pd.DataFrame()
        return self._retry(True, lambda con: con.execute(sql, params or []).df())

    # -- writing ----------------------------------------------------------------------
    def record_run(
        self,
        run: Run,
        *,
        kind: str = "evaluate",
        out_dir: str | Path | None = None,
        artifacts: Mapping[str, str | Path] | None = None,
    ) -> str:
        """Append a run with its metrics, rules and artifacts; returns the new run id."""
        run_id = uuid.uuid4().hex[:12]
        inputs = run.inputs
        provenance = run.provenance or {}
        row = [
            run_id,
            datetime.fromisoformat(run.created_at).replace(tzinfo=None),
            _now(),
            kind,
            run.verdict,
            run.policy.id if run.policy else None,
            run.policy.version if run.policy else None,
            run.policy.sha256 if run.policy else None,
            inputs["real"].source if "real" in inputs else None,
            inputs["real"].sha256 if "real" in inputs else None,
            inputs["synthetic"].source if "synthetic" in inputs else None,
            inputs["synthetic"].sha256 if "synthetic" in inputs else None,
            provenance.get("generator"),
            run.seed,
            str(out_dir) if out_dir else None,
            run.ticket,
            run.to_json(),
            run.schema_version,
        ]
        metric_rows = [
            [
                run_id,
                m.id,
                m.family.value,
                m.status.value,
                m.value,
                m.ci[0] if m.ci else None,
                m.ci[1] if m.ci else None,
                m.baseline,
                m.message,
            ]
            for m in run.metrics
        ]
        rule_rows = [
            [run_id, r.id, r.metric, r.field, r.op, r.threshold, r.observed, r.severity, r.status, r.message, r.kind]
            for r in (run.rules or [])
        ]
        artifact_rows = [self._artifact_row(run_id, name, p) for name, p in (artifacts or {}).items()]

        def work(con: duckdb.DuckDBPyConnection) -> str:
            _insert(con, "runs", [row])
            for table, rows in (("metrics", metric_rows), ("rules", rule_rows), ("artifacts", artifact_rows)):
                _insert(con, table, rows)
            found = con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()
            if not found or found[0] != 1:  # read it back before anyone is told it was recorded
                raise BadInputError(f"run {run_id} was not stored", source=str(self.path))
            return run_id

        return self._write(work)

    def _artifact_row(self, run_id: str, name: str, path: str | Path) -> list:
        """An artifact by absolute path and by path relative to the store's folder (when below it),
        so the dashboard finds it wherever it is started."""
        absolute = Path(path).resolve()
        try:
            relative: str | None = os.path.relpath(absolute, self.path.resolve().parent)
        except ValueError:  # another drive
            relative = None
        return [run_id, name, str(absolute), _sha256(absolute), _now(), relative]

    def add_artifact(self, run_id: str, name: str, path: str | Path) -> None:
        row = self._artifact_row(run_id, name, path)
        self._write(lambda con: _insert(con, "artifacts", [row]))

    def add_review(self, run_id: str, *, reviewer: str, decision: str, comment: str = "", waiver: str = "") -> str:
        """Append a review (reviews are never edited). Returns its id.

        ``waiver``: the accepted-risk reference a reviewer cites when approving a failed run.
        """
        if decision not in REVIEW_DECISIONS:
            raise BadInputError(
                f"decision must be one of {', '.join(REVIEW_DECISIONS)}; got {decision!r}", source="decision"
            )
        if not reviewer.strip():
            raise BadInputError("a review needs the reviewer's name", source="reviewer")
        self.get_run(run_id)  # raises for an unknown run
        review_id = uuid.uuid4().hex[:12]
        row = [review_id, run_id, _now(), reviewer.strip(), decision, comment, waiver.strip() or None]
        self._write(lambda con: _insert(con, "reviews", [row]))
        return review_id

    def record_release(self, row: Mapping[str, Any]) -> str:
        """Append one privacy-budget ledger row (``qaharness.budget.record_release`` builds it, keyed by
        the ``budget_ledger`` column names); returns its entry id. The ledger is never edited."""
        columns = _COLUMNS["budget_ledger"]
        if set(row) != set(columns):
            raise ValueError(f"budget_ledger: expected the columns {columns}, got {sorted(row)}")
        values = [row[c] for c in columns]
        self._write(lambda con: _insert(con, "budget_ledger", [values]))
        return str(row["entry_id"])

    # -- reading ----------------------------------------------------------------------
    def ledger(self, source_fingerprint: str | None = None) -> pd.DataFrame:
        """Privacy-budget ledger rows (all, or one source's), oldest first."""
        sql = "SELECT * FROM budget_ledger"
        params: list = []
        if source_fingerprint is not None:
            sql, params = sql + " WHERE source_fingerprint = ?", [source_fingerprint]
        return self._read(sql + " ORDER BY recorded_at, entry_id", params)

    def list_runs(self, limit: int | None = None) -> pd.DataFrame:
        sql = (
            "SELECT run_id, created_at, kind, verdict, policy_id, policy_version, dataset, synthetic, "
            "generator, seed, ticket, out_dir, real_sha256 FROM runs ORDER BY recorded_at DESC"
        )
        return self._read(sql + (f" LIMIT {int(limit)}" if limit else ""))

    def resolve(self, run_id: str) -> str:
        """Full run id from an id or a unique prefix."""
        found = self._read("SELECT run_id FROM runs WHERE run_id LIKE ? ORDER BY run_id", [f"{run_id}%"])
        if found.empty:
            raise BadInputError(f"no run {run_id!r} in the store", source=str(self.path))
        if len(found) > 1:
            raise BadInputError(
                f"run id prefix {run_id!r} is ambiguous: {', '.join(found.run_id)}", source=str(self.path)
            )
        return str(found.run_id.iloc[0])

    def get_run(self, run_id: str) -> Run:
        full = self.resolve(run_id)
        text = self._read("SELECT results_json FROM runs WHERE run_id = ?", [full]).results_json.iloc[0]
        return Run.from_json(text)

    def run_row(self, run_id: str) -> dict[str, Any]:
        full = self.resolve(run_id)
        return self._read("SELECT * EXCLUDE (results_json) FROM runs WHERE run_id = ?", [full]).iloc[0].to_dict()

    def metrics(self, run_id: str | None = None) -> pd.DataFrame:
        if run_id is None:
            return self._read(
                "SELECT m.*, r.created_at, r.dataset, r.generator FROM metrics m JOIN runs r USING (run_id)"
            )
        return self._read("SELECT * FROM metrics WHERE run_id = ?", [self.resolve(run_id)])

    def rules(self, run_id: str) -> pd.DataFrame:
        return self._read("SELECT * FROM rules WHERE run_id = ?", [self.resolve(run_id)])

    def artifacts(self, run_id: str) -> pd.DataFrame:
        return self._read("SELECT * FROM artifacts WHERE run_id = ? ORDER BY recorded_at", [self.resolve(run_id)])

    def reviews(self, run_id: str | None = None) -> pd.DataFrame:
        if run_id is None:
            return self._read("SELECT * FROM reviews ORDER BY created_at")
        return self._read("SELECT * FROM reviews WHERE run_id = ? ORDER BY created_at", [self.resolve(run_id)])


#: the columns each insert names, in the order of the rows built above
_COLUMNS = {
    "runs": (
        "run_id",
        "created_at",
        "recorded_at",
        "kind",
        "verdict",
        "policy_id",
        "policy_version",
        "policy_sha256",
        "dataset",
        "real_sha256",
        "synthetic",
        "synthetic_sha256",
        "generator",
        "seed",
        "out_dir",
        "ticket",
        "results_json",
        "results_schema_version",
    ),
    "metrics": ("run_id", "metric_id", "family", "status", "value", "ci_low", "ci_high", "baseline", "message"),
    "rules": (
        "run_id",
        "rule_id",
        "metric_id",
        "field",
        "op",
        "threshold",
        "observed",
        "severity",
        "status",
        "message",
        "kind",
    ),
    "artifacts": ("run_id", "name", "path", "sha256", "recorded_at", "relative_path"),
    "reviews": ("review_id", "run_id", "created_at", "reviewer", "decision", "comment", "waiver"),
    "budget_ledger": (
        "entry_id",
        "source_fingerprint",
        "manifest_id",
        "recorded_at",
        "manifest_created_at",
        "origin",
        "run_id",
        "actor",
        "tool",
        "generator",
        "generator_version",
        "synthetic",
        "n_rows",
        "sealed",
        "dp",
        "epsilon",
        "delta",
        "accountant",
        "mechanism",
        "noise_multiplier",
        "sample_rate",
        "steps",
        "preprocessing_epsilon",
        "preprocessing_delta",
        "manifest_json",
    ),
}


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[list]) -> None:
    """INSERT naming every column, so a store whose columns sit in another order stays correct."""
    if not rows:
        return
    columns = _COLUMNS[table]
    if any(len(row) != len(columns) for row in rows):
        raise ValueError(f"{table}: a row does not match the columns {columns}")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    con.executemany(sql, rows)


def _sha256(path: str | Path) -> str | None:
    path = Path(path)
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()
