"""Parallel CI jobs share one run store: no record may be lost to DuckDB's file lock."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import pytest
from conftest import make_mixed_frame

from qaharness.policy import parse_policy
from qaharness.results import Run
from qaharness.store import RunStore

N_PROCESSES = 8
POLICY = """\
id: tiny
version: 1.0.0
rules:
  - id: numeric
    metric: fidelity.ks
    op: "<="
    threshold: 0.5
    rationale: a cheap rule so that the test measures the store, not the metrics
"""


def _report(folder: str, index: int, value, error: str | None) -> None:
    """Each worker leaves its outcome in a file of its own (a dying worker leaves none)."""
    Path(folder, f"worker-{index}.json").write_text(json.dumps([index, value, error]))


def _gate_worker(index: int, folder: str, barrier) -> None:
    from qaharness.gate import run_gate

    try:
        real, synthetic = make_mixed_frame(60, 1), make_mixed_frame(60, 100 + index)
        barrier.wait(timeout=120)
        result = run_gate(
            real,
            synthetic,
            None,
            out=Path(folder) / f"gate-{index}",
            seed=index,
            policy=parse_policy(POLICY, source="tiny.yaml"),
            store=Path(folder) / "runs.duckdb",
            ticket=f"JOB-{index}",
        )
        _report(folder, index, result.run_id, None)
    except Exception as exc:  # reported to the parent, which fails the test with it
        _report(folder, index, None, f"{type(exc).__name__}: {exc}")


def _record_worker(index: int, folder: str, run_json: str, n_records: int, barrier) -> None:
    try:
        store = RunStore(Path(folder) / "runs.duckdb")
        run = Run.from_json(run_json).model_copy(update={"ticket": f"W{index}"})
        barrier.wait(timeout=120)
        ids = [store.record_run(run, kind="evaluate") for _ in range(n_records)]
        _report(folder, index, ids, None)
    except Exception as exc:
        _report(folder, index, None, f"{type(exc).__name__}: {exc}")


def _run_all(target, args_for) -> list[tuple]:
    import qaharness.gate  # noqa: F401  (import and discover plugins once, before forking)
    from qaharness.metrics import metric_ids

    metric_ids()
    context = mp.get_context("fork")
    barrier = context.Barrier(N_PROCESSES)
    processes = [context.Process(target=target, args=(*args_for(i), barrier)) for i in range(N_PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=240)
    assert [p.exitcode for p in processes] == [0] * N_PROCESSES
    folder = Path(args_for(0)[1])
    results = [tuple(json.loads((folder / f"worker-{i}.json").read_text())) for i in range(N_PROCESSES)]
    errors = [f"worker {i}: {err}" for i, _, err in results if err]
    assert not errors, errors
    return results


@pytest.mark.slow
def test_eight_concurrent_gates_on_one_store_lose_no_record(tmp_path):
    results = _run_all(_gate_worker, lambda i: (i, str(tmp_path)))
    store = RunStore(tmp_path / "runs.duckdb")
    runs = store.list_runs()
    assert len(runs) == N_PROCESSES
    assert set(runs.run_id) == {run_id for _, run_id, _ in results}
    assert set(runs.ticket) == {f"JOB-{i}" for i in range(N_PROCESSES)}
    assert (runs.kind == "gate").all()
    for run_id in runs.run_id:
        assert len(store.rules(run_id)) == 1
        assert len(store.metrics(run_id)) == 1
        assert set(store.artifacts(run_id).name) == {"results.json", "junit.xml", "summary.md", "run-manifest.json"}


def test_eight_processes_recording_runs_at_once_lose_no_record(tmp_path):
    from qaharness.api import evaluate

    run = evaluate(make_mixed_frame(50, 1), make_mixed_frame(50, 2), metrics=["fidelity.ks"], seed=0)
    per_process = 5
    results = _run_all(_record_worker, lambda i: (i, str(tmp_path), run.to_json(), per_process))
    store = RunStore(tmp_path / "runs.duckdb")
    runs = store.list_runs()
    expected = {run_id for _, ids, _ in results for run_id in ids}
    assert len(expected) == N_PROCESSES * per_process
    assert set(runs.run_id) == expected
    assert runs.ticket.value_counts().to_dict() == {f"W{i}": per_process for i in range(N_PROCESSES)}
    assert len(store.metrics()) == N_PROCESSES * per_process
