"""The Python API that mirrors the CLI, for notebooks and pipelines."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ._types import Source
from ._version import __version__
from .engine import Progress, run_metrics, select_metrics
from .inputs import EvalInput, prepare_inputs
from .profile import column_profiles
from .provenance import run_provenance
from .results import MetricResult, Run

__all__ = ["evaluate", "evaluate_input", "environment", "run_notes"]

_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "xgboost-cpu", "torch", "duckdb", "pydantic")


def environment() -> dict[str, str]:
    """Versions that can change a number: Python and the numeric stack."""
    env = {"python": platform.python_version(), "platform": sys.platform}
    for name in _PACKAGES:
        try:
            env[name] = version(name)
        except PackageNotFoundError:
            continue
    return env


def run_notes(data: EvalInput, results: Sequence[MetricResult]) -> list[str]:
    """The input's notes, then each note a metric contributed (``MetricResult.notes``), once each."""
    notes = list(data.notes)
    for result in results:
        notes += [note for note in result.notes if note not in notes]
    return notes


def evaluate(
    real: Source,
    synthetic: Source,
    holdout: Source | None = None,
    *,
    target: str | None = None,
    schema: str | Path | dict | None = None,
    metrics: Iterable[str] | None = None,
    seed: int = 0,
    task: str | None = None,
    sensitive: Sequence[str] = (),
    params: dict[str, dict[str, Any]] | None = None,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> Run:
    """Evaluate ``synthetic`` against ``real`` (and ``holdout``); DataFrames or paths.

    Returns the typed run; ``run.write(out_dir)`` writes results.json.
    Raises ``BadInputError`` for unusable input; a failing metric is recorded, not raised.
    """
    data = prepare_inputs(real, synthetic, holdout, target=target, schema=schema, task=task, sensitive=tuple(sensitive))
    return evaluate_input(data, metrics=metrics, seed=seed, params=params, progress=progress, command=command)


def evaluate_input(
    data: EvalInput,
    *,
    metrics: Iterable[str] | None = None,
    seed: int = 0,
    params: dict[str, dict[str, Any]] | None = None,
    progress: Progress | None = None,
    command: list[str] | None = None,
    **run_fields: Any,
) -> Run:
    """Run metrics over prepared inputs and wrap them in a ``Run``."""
    ids = select_metrics(metrics)
    results, timings = run_metrics(data, ids, seed=seed, params=params, progress=progress)
    task = next((r.details.get("task") for r in results if r.id == "utility.trtr" and r.ok), data.task)
    run_fields.setdefault("profiles", column_profiles(data))
    run_fields.setdefault("provenance", run_provenance(data))
    return Run(
        qaharness_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seed=seed,
        command=command,
        inputs=dict(data.inputs),
        schema_=data.schema.to_json(),
        target=data.target,
        task=task,
        metrics=results,
        environment=environment(),
        timings=timings,
        notes=run_notes(data, results),
        **run_fields,
    )
