"""Stress the run store: N processes append runs to one new DuckDB file at once, many times over.

Counts records that ``RunStore.record_run`` confirmed (returned an id) but that the store does not
hold afterwards, and worker errors. Bounded: ``--iterations`` rounds of ``--processes`` forked
workers × ``--records`` runs each, every worker starting after a random delay.
``--load K`` adds K busy-loop processes for the duration (the CPU contention of a full suite run).

    nice -n 10 .venv/bin/python benchmarks/stress_store.py --iterations 30 [--load 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from qaharness.results import Run
from qaharness.store import RunStore


def _tiny_run() -> Run:
    from qaharness.api import evaluate
    from qaharness.testing.generators import mixed_frame

    return evaluate(mixed_frame(50, 1), mixed_frame(50, 2), metrics=["fidelity.ks"], seed=0)


def _worker(index: int, folder: str, run_json: str, n_records: int, max_delay: float, barrier) -> None:
    rng = random.Random(os.getpid() ^ int(time.time() * 1e6))
    ids: list[str] = []
    error = None
    try:
        store = RunStore(Path(folder) / "runs.duckdb")
        run = Run.from_json(run_json).model_copy(update={"ticket": f"W{index}"})
        barrier.wait(timeout=120)
        time.sleep(rng.uniform(0, max_delay))
        for _ in range(n_records):
            ids.append(store.record_run(run, kind="evaluate"))
            time.sleep(rng.uniform(0, max_delay / 4))
    except Exception as exc:  # reported, counted
        error = f"{type(exc).__name__}: {exc}"
    Path(folder, f"worker-{index}.json").write_text(json.dumps([ids, error]))


def _burn(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _round(context, run_json: str, args) -> tuple[int, int, list[str]]:
    """(confirmed, lost, errors) for one round on a fresh store."""
    with tempfile.TemporaryDirectory(prefix="store-stress-") as folder:
        barrier = context.Barrier(args.processes)
        workers = [
            context.Process(target=_worker, args=(i, folder, run_json, args.records, args.max_delay, barrier))
            for i in range(args.processes)
        ]
        for process in workers:
            process.start()
        for process in workers:
            process.join(timeout=300)
        confirmed: set[str] = set()
        errors: list[str] = []
        for i, process in enumerate(workers):
            report = Path(folder, f"worker-{i}.json")
            if not report.exists():
                errors.append(f"worker {i} left no report (exit code {process.exitcode})")
                continue
            ids, error = json.loads(report.read_text())
            confirmed.update(ids)
            if error:
                errors.append(error)
        stored = set(RunStore(Path(folder) / "runs.duckdb").list_runs().get("run_id", []))
        return len(confirmed), len(confirmed - stored), errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--records", type=int, default=5)
    parser.add_argument("--max-delay", type=float, default=0.05, help="seconds; random start/between delays")
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes running alongside")
    args = parser.parse_args(argv)

    run_json = _tiny_run().to_json()
    context = mp.get_context("fork")
    stop = context.Event()
    burners = [context.Process(target=_burn, args=(stop,), daemon=True) for _ in range(args.load)]
    for burner in burners:
        burner.start()
    started = time.monotonic()
    totals = {"confirmed": 0, "lost": 0, "rounds_with_loss": 0, "errors": 0}
    try:
        for i in range(args.iterations):
            confirmed, lost, errors = _round(context, run_json, args)
            totals["confirmed"] += confirmed
            totals["lost"] += lost
            totals["rounds_with_loss"] += bool(lost)
            totals["errors"] += len(errors)
            if lost or errors:
                print(f"round {i}: confirmed {confirmed}, lost {lost}, errors {errors[:3]}", flush=True)
    finally:
        stop.set()
        for burner in burners:
            burner.join(timeout=10)
    elapsed = time.monotonic() - started
    print(
        f"{args.iterations} rounds × {args.processes} processes × {args.records} records, load {args.load}: "
        f"confirmed {totals['confirmed']}, lost {totals['lost']} "
        f"(in {totals['rounds_with_loss']} rounds), errors {totals['errors']}, {elapsed:.0f} s"
    )
    return 1 if totals["lost"] or totals["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
