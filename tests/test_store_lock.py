"""The store lock: no process opens the store while another may be closing it.

DuckDB (2.0.0) reads a store's headers before it takes its file lock and keeps them once it holds it.
When that read falls inside another process's close, the opener starts from the state before the close's
checkpoint and its own checkpoint drops the other process's confirmed run (seen once as a lost record in
``test_store_concurrency.py`` under load; ``benchmarks/stress_store.py`` counts them). These tests force
that interleaving instead of waiting for it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from conftest import make_mixed_frame

import qaharness.store as store_module
from qaharness._store_lock import StoreLocked, lock_path, store_lock
from qaharness.api import evaluate
from qaharness.store import RunStore, _insert

#: strace: hold every fcntl call (DuckDB's F_SETLK) 1.5 s before it runs
DELAY_LOCK_CALLS = "inject=fcntl:delay_enter=1500000"
RUNS_COLUMNS = 18  # the runs table's columns (qaharness.store._COLUMNS["runs"])


@pytest.fixture(scope="module")
def run_json() -> str:
    return evaluate(make_mixed_frame(40, 1), make_mixed_frame(40, 2), metrics=["fidelity.ks"], seed=0).to_json()


def _stored(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {str(r[0]) for r in con.execute("SELECT run_id FROM runs").fetchall()}
    finally:
        con.close()


def _commit_marker_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """A committed run in ``con``'s open connection, as record_run leaves one just before it closes."""
    con.execute("BEGIN TRANSACTION")
    _insert(con, "runs", [[run_id] + [None] * (RUNS_COLUMNS - 1)])
    con.execute("COMMIT")


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _spying_writer(store: RunStore, run_json: str, start, holding, folder: str) -> None:
    """Record a run; log every duckdb.connect on the store (and whether the parent held it) and every retry."""
    from qaharness.results import Run

    start.wait(timeout=60)

    events: list[str] = []
    real_connect, real_sleep = duckdb.connect, store_module.time.sleep
    log = Path(folder, "events.json")

    def connect(database, *args, **kwargs):
        if Path(str(database)) == store.path:
            events.append("connect while held" if holding.is_set() else "connect")
        return real_connect(database, *args, **kwargs)

    def report(**extra) -> None:  # whole files only: the parent polls this one
        Path(folder, "events.tmp").write_text(json.dumps({"events": events, **extra}))
        os.replace(Path(folder, "events.tmp"), log)

    def sleep(seconds):
        events.append("retry")
        report()
        real_sleep(seconds)

    store_module.duckdb.connect = connect  # a forked child: patched here only
    store_module.time.sleep = sleep
    try:
        report(run_id=store.record_run(Run.from_json(run_json)))
    except Exception as exc:
        report(error=f"{type(exc).__name__}: {exc}")


def test_a_writer_waits_for_the_store_lock_before_duckdb_opens_the_file(tmp_path, run_json):
    store = RunStore(tmp_path / "runs.duckdb", timeout=60)
    store._retry(False, lambda con: None)  # create the store
    context = mp.get_context("fork")
    start, holding = context.Event(), context.Event()
    log = tmp_path / "events.json"
    # forked before the connection opens: a child forked while one is open would share its lock
    child = context.Process(target=_spying_writer, args=(store, run_json, start, holding, str(tmp_path)))
    child.start()
    with store._connect(False) as con:
        holding.set()
        _commit_marker_run(con, "held-run")
        start.set()
        # two refused attempts: the child tried while this connection was open and is waiting now
        _wait(lambda: log.exists() and json.loads(log.read_text())["events"].count("retry") >= 2, 60, "retries")
        holding.clear()
    child.join(timeout=120)
    report = json.loads(log.read_text())
    assert child.exitcode == 0 and "error" not in report, report
    assert "connect while held" not in report["events"], report["events"]
    assert report["events"][-1] == "connect", "the child opened the store once it was free"
    assert _stored(store.path) == {"held-run", report["run_id"]}


def _delayed_writer(store: RunStore, run_json: str, go, folder: str) -> None:
    from qaharness.results import Run

    go.wait(timeout=60)
    try:
        result = {"run_id": store.record_run(Run.from_json(run_json))}
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(folder, "writer.json").write_text(json.dumps(result))


def _tracer_pid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("TracerPid:")))


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (`make install-test` installs it as root)")
def test_a_run_confirmed_while_another_process_opens_the_store_is_kept(tmp_path, run_json):
    """strace delays the other process's lock call (not its header read) past this process's close."""
    store = RunStore(tmp_path / "runs.duckdb", timeout=60)
    store._retry(False, lambda con: None)  # create and check the store; the forked writer inherits that
    context = mp.get_context("fork")
    go = context.Event()
    writer = context.Process(target=_delayed_writer, args=(store, run_json, go, str(tmp_path)))
    writer.start()  # before the connection opens (a child forked while one is open shares its lock)
    pid = writer.pid
    assert pid is not None
    with store._connect(False) as con:
        _commit_marker_run(con, "confirmed-run")
        tracer = subprocess.Popen(
            [*("strace", "-q", "-f", "-p", str(pid), "-e", "trace=fcntl"), *("-e", DELAY_LOCK_CALLS, "-o", os.devnull)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait(lambda: _tracer_pid(pid) != 0 or tracer.poll() is not None, 30, "strace to attach")
            if tracer.poll() is not None:
                writer.kill()
                pytest.skip(f"strace cannot trace here: {(tracer.communicate()[1] or '')[-300:]}")
            go.set()
            time.sleep(0.5)  # the writer is inside duckdb.connect (old code) or waiting for the lock
        except BaseException:
            tracer.kill()
            raise
    try:
        writer.join(timeout=120)
    finally:
        tracer.terminate()
        tracer.wait(timeout=30)
    result = json.loads((tmp_path / "writer.json").read_text())
    assert "error" not in result, result
    assert _stored(store.path) == {"confirmed-run", result["run_id"]}


def test_the_lock_is_exclusive_for_writers_and_shared_for_readers(tmp_path):
    path = tmp_path / "runs.duckdb"
    readers = [store_lock(path, shared=True), store_lock(path, shared=True)]  # two readers at once
    with readers[0], readers[1], pytest.raises(StoreLocked), store_lock(path, shared=False):
        pass
    with store_lock(path, shared=False):
        for shared in (True, False):
            with pytest.raises(StoreLocked), store_lock(path, shared=shared):
                pass
    with store_lock(path, shared=False):
        pass  # released on exit
    assert lock_path(path).exists() and not path.exists()


def test_a_reader_of_a_store_in_a_folder_it_cannot_write_reads_without_the_lock(tmp_path, monkeypatch):
    path = tmp_path / "runs.duckdb"
    real_open = os.open

    def denied(file, flags, *args):
        if str(file) == str(lock_path(path)):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    with store_lock(path, shared=True):
        pass
    with pytest.raises(PermissionError), store_lock(path, shared=False):
        pass
