"""``qaharness evaluate``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..api import evaluate as evaluate_api
from ..store import RunStore
from ._app import app, console
from ._common import parse_metric_params, print_summary, progress_status, split_list
from ._mlflow import MLFLOW, MLFLOW_EXPERIMENT, MLFLOW_RUN_ID, mlflow_target, print_logged


@app.command(
    epilog="Example: qaharness evaluate --real train.parquet --synthetic synth.parquet "
    "--holdout holdout.parquet --target income --out runs/2026-11-22"
)
def evaluate(
    real: str = typer.Option(..., "--real", help="Real (training) table: file or 'duckdb:DB::QUERY'."),
    synthetic: str = typer.Option(..., "--synthetic", help="Synthetic table to judge."),
    out: Path = typer.Option(..., "--out", help="Folder for results.json."),
    holdout: str | None = typer.Option(None, "--holdout", help="Real rows the generator never saw."),
    target: str | None = typer.Option(None, "--target", help="Target column for utility metrics."),
    task: str | None = typer.Option(
        None, "--task", help="binary | multiclass | regression | classification (default: detected from --target)."
    ),
    schema: Path | None = typer.Option(None, "--schema", help="YAML file overriding column kinds."),
    metrics: str | None = typer.Option(None, "--metrics", help="Comma-separated metric ids or families."),
    sensitive: str | None = typer.Option(None, "--sensitive", help="Comma-separated sensitive columns."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice."),
    store: Path | None = typer.Option(None, "--store", help="Run store (default ~/.qaharness/runs.duckdb)."),
    no_store: bool = typer.Option(False, "--no-store", help="Don't record the run in the store."),
    param: list[str] | None = typer.Option(
        None, "--param", help="Metric parameter METRIC.PARAMETER=VALUE (e.g. privacy.dcr.max_queries=5000); repeatable."
    ),
    mlflow: str | None = MLFLOW,
    mlflow_experiment: str | None = MLFLOW_EXPERIMENT,
    mlflow_run_id: str | None = MLFLOW_RUN_ID,
) -> None:
    """Compute fidelity, utility and privacy metrics and write OUT/results.json."""
    tracking = mlflow_target(mlflow, mlflow_experiment, mlflow_run_id)
    with progress_status("reading inputs …") as progress:
        run = evaluate_api(
            real,
            synthetic,
            holdout,
            target=target,
            schema=schema,
            metrics=split_list(metrics),
            seed=seed,
            task=task,
            sensitive=split_list(sensitive) or (),
            progress=progress,
            command=["qaharness", *sys.argv[1:]],
            params=parse_metric_params(param),
        )
    path = run.write(out)
    print_summary(run)
    if not no_store:
        run_id = RunStore(store).record_run(run, kind="evaluate", out_dir=out, artifacts={"results.json": path})
        console.print(f"recorded as run {run_id} in {RunStore(store).path}")
    console.print(f"results: {path}")
    if tracking is not None:
        from ..integrations.mlflow import log_run

        print_logged(tracking, log_run(run, {"results.json": path}, target=tracking, kind="evaluate"))
