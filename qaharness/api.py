"""The Python API that mirrors the CLI, for notebooks and pipelines."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ._types import Source
from ._version import __version__
from .engine import Progress, run_metrics, select_metrics
from .errors import BadInputError
from .inputs import EvalInput, prepare_inputs
from .io import ReadLimits
from .profile import column_profiles
from .provenance import run_provenance
from .results import Family, MetricResult, Run

__all__ = ["evaluate", "evaluate_input", "environment", "open_inputs", "run_notes", "ENGINES"]

_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "xgboost-cpu", "torch", "duckdb", "pydantic")
#: pandas: every table in memory on this machine (the default); spark: Apache Spark (qaharness.spark)
ENGINES = ("pandas", "spark")


def environment() -> dict[str, str]:
    """Versions that can change a number: Python and the numeric stack."""
    env = {"python": platform.python_version(), "platform": sys.platform}
    for name in _PACKAGES:
        try:
            env[name] = version(name)
        except PackageNotFoundError:
            continue
    return env


@contextmanager
def open_inputs(
    real: Source,
    synthetic: Source,
    holdout: Source | None = None,
    *,
    engine: str = "pandas",
    spark: Any = None,
    seed: int = 0,
    **options: Any,
) -> Iterator[EvalInput]:
    """Validated inputs for ``engine``, valid inside the ``with`` block (the Spark engine holds a session).

    ``spark`` is a ``qaharness.spark.SparkOptions`` (master, settings, sample size, or a session);
    ``options`` are ``prepare_inputs``'s (target, schema, task, sensitive).
    """
    if engine == "pandas":
        if spark is not None:
            raise BadInputError("Spark options need --engine spark", source="--engine")
        yield prepare_inputs(real, synthetic, holdout, **options)
    elif engine == "spark":
        from .spark import spark_inputs

        with spark_inputs(real, synthetic, holdout, options=spark, seed=seed, **options) as data:
            yield data
    else:
        raise BadInputError(f"unknown engine {engine!r}; use {' or '.join(ENGINES)}", source="--engine")


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
    limits: ReadLimits | None = None,
    engine: str = "pandas",
    spark: Any = None,
) -> Run:
    """Evaluate ``synthetic`` against ``real`` (and ``holdout``); DataFrames or paths.

    Returns the typed run; ``run.write(out_dir)`` writes results.json (sealed, ``qaharness.seal``).
    Raises ``BadInputError`` for unusable input; a failing metric is recorded, not raised.
    ``limits`` caps the columns and bytes of each table (``qaharness.io.ReadLimits``).
    ``engine="spark"`` computes on Apache Spark (sources: Parquet paths, ``spark:SELECT …`` or Spark
    DataFrames; ``spark`` a ``qaharness.spark.SparkOptions``).
    """
    with open_inputs(
        real,
        synthetic,
        holdout,
        engine=engine,
        spark=spark,
        seed=seed,
        target=target,
        schema=schema,
        task=task,
        sensitive=tuple(sensitive),
        limits=limits,
    ) as data:
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
    # any computed utility metric knows the task it resolved (a gate may compute only utility.tstr_ratio)
    task = next(
        (
            r.details["task"]
            for r in results
            if r.family is Family.UTILITY and r.ok and isinstance(r.details.get("task"), str)
        ),
        data.task,
    )
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
        environment={**environment(), **data.summaries().environment()},
        timings=timings,
        notes=run_notes(data, results),
        **run_fields,
    )
