"""``qaharness evaluate``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .._run_folder import RUN_MANIFEST, claim_folder, clear_outputs, write_run_manifest
from ..api import evaluate as evaluate_api
from ..errors import StoreBusyError
from ..gate import STORE_TIMEOUT
from ..keys import ensure_keys, load_signer
from ..seal import seal_run
from ..store import RunStore
from ._app import EXIT_INTERNAL, app, console, err_console
from ._common import (
    ENGINE_OPTION,
    SPARK_CONF_OPTION,
    SPARK_MASTER_OPTION,
    SPARK_SAMPLE_ROWS_OPTION,
    parse_metric_params,
    print_summary,
    progress_status,
    read_limits,
    run_folder_options,
    spark_options,
    split_list,
)
from ._mlflow import MLFLOW, MLFLOW_EXPERIMENT, MLFLOW_RUN_ID, mlflow_target, print_logged

_FOLDER_OPTIONS = run_folder_options(STORE_TIMEOUT)


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
    overwrite: bool = _FOLDER_OPTIONS["overwrite"],
    store_timeout: float = _FOLDER_OPTIONS["store_timeout"],
    max_columns: int | None = _FOLDER_OPTIONS["max_columns"],
    max_bytes: str | None = _FOLDER_OPTIONS["max_bytes"],
    mlflow: str | None = MLFLOW,
    mlflow_experiment: str | None = MLFLOW_EXPERIMENT,
    mlflow_run_id: str | None = MLFLOW_RUN_ID,
    engine: str = ENGINE_OPTION,
    spark_master: str | None = SPARK_MASTER_OPTION,
    spark_conf: list[str] | None = SPARK_CONF_OPTION,
    spark_sample_rows: int | None = SPARK_SAMPLE_ROWS_OPTION,
) -> None:
    """Compute fidelity, utility and privacy metrics and write OUT/results.json (sealed)."""
    tracking = mlflow_target(mlflow, mlflow_experiment, mlflow_run_id)
    limits = read_limits(max_columns, max_bytes)
    spark = spark_options(engine, spark_master, spark_conf, spark_sample_rows)
    claim_folder(out, overwrite=overwrite)
    if not no_store:
        RunStore(store).check_writable()
    ensure_keys()
    signer = load_signer()  # a missing passphrase or token fails before any work
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
            limits=limits,
            engine=engine,
            spark=spark,
        )
    run = seal_run(run, signer=signer)
    clear_outputs(out)
    path = run.write(out)
    files = {"results.json": path}
    files[RUN_MANIFEST] = write_run_manifest(out, files, run)  # last: the folder is complete
    print_summary(run)
    if not no_store:
        db = RunStore(store, timeout=store_timeout)
        try:
            run_id = db.record_run(run, kind="evaluate", out_dir=out.resolve(), artifacts=files)
        except StoreBusyError as exc:
            err_console.print(
                f"error: {exc} The run was not recorded; {path} is complete. Record it later with "
                f"`qaharness runs record {out} --store {db.path}`.",
                markup=False,
            )
            raise typer.Exit(EXIT_INTERNAL) from None
        console.print(f"recorded as run {run_id} in {db.path}", markup=False)
    console.print(f"results: {path}", markup=False)
    if tracking is not None:
        from ..integrations.mlflow import log_run

        print_logged(tracking, log_run(run, files, target=tracking, kind="evaluate"))
