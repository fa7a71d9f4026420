"""``qaharness gate``: judge a synthetic table against a release policy, for CI."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from qaharness._format import FAILING_STATUSES, fmt_sig, rule_outcome, rule_subject, threshold_text

from ..errors import StoreBusyError
from ..gate import STORE_TIMEOUT, GateResult, run_gate
from ..tickets import check_ticket
from ._app import EXIT_INTERNAL, app, console, err_console
from ._common import (
    ENGINE_OPTION,
    SPARK_CONF_OPTION,
    SPARK_MASTER_OPTION,
    SPARK_SAMPLE_ROWS_OPTION,
    parse_metric_params,
    progress_status,
    read_limits,
    run_folder_options,
    spark_options,
    split_list,
)
from ._mlflow import MLFLOW, MLFLOW_EXPERIMENT, MLFLOW_RUN_ID, mlflow_target, print_logged

_FOLDER_OPTIONS = run_folder_options(STORE_TIMEOUT)

_STYLE = {"pass": "green", "fail": "red", "error": "red", "insufficient": "red", "waived": "yellow"}


def print_gate(result: GateResult) -> None:
    """The rule table and the verdict line."""
    run = result.run
    policy = run.policy
    table = Table(title=f"Policy {policy.id} {policy.version}" if policy else "Rules", title_justify="left")
    for name in ("rule", "metric", "observed", "threshold", "severity", "status", "message"):
        table.add_column(name, overflow="fold")
    for rule in run.rules or []:
        status = rule.status
        style = "yellow" if status in FAILING_STATUSES and rule.severity == "warn" else _STYLE[status]
        table.add_row(
            escape(rule.id),
            escape(rule_subject(rule)),
            fmt_sig(rule.observed),
            escape(threshold_text(rule)),
            rule.severity,
            f"[{style}]{escape(rule_outcome(rule))}[/]",
            escape(rule.message) if status != "pass" or rule.waiver else "",
        )
    console.print(table)
    colour = {"pass": "green", "warn": "yellow", "fail": "red"}[result.verdict]
    failed = result.failed_rules()
    console.print(
        f"[bold {colour}]verdict: {result.verdict.upper()}[/]"
        + (f" — rules not met: {escape(', '.join(failed))}" if failed else "")
    )


@app.command(
    epilog="Example: qaharness gate --real train.parquet --synthetic synth.parquet "
    "--holdout holdout.parquet --target income --policy policies/ml-training.yaml --out gate/"
)
def gate(
    real: str = typer.Option(..., "--real", help="Real (training) table."),
    synthetic: str = typer.Option(..., "--synthetic", help="Synthetic table to gate."),
    holdout: str | None = typer.Option(
        None,
        "--holdout",
        help="Real rows the generator never saw (needed by utility, privacy and baseline-relative rules).",
    ),
    target: str | None = typer.Option(None, "--target", help="Target column for utility metrics."),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="Policy YAML file or a bundled name (default, ml-training, external-sharing). Default: default.",
    ),
    out: Path = typer.Option(Path("qaharness-gate"), "--out", help="Folder for results.json, junit.xml, summary.md."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on warnings too."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice."),
    store: Path | None = typer.Option(None, "--store", help="Run store (default ~/.qaharness/runs.duckdb)."),
    no_store: bool = typer.Option(False, "--no-store", help="Don't record the run in the store."),
    ticket: str | None = typer.Option(None, "--ticket", help="Change ticket the run belongs to (e.g. DATA-123)."),
    sensitive: str | None = typer.Option(None, "--sensitive", help="Comma-separated sensitive columns."),
    task: str | None = typer.Option(
        None, "--task", help="binary | multiclass | regression | classification (default: detected from --target)."
    ),
    schema: Path | None = typer.Option(None, "--schema", help="YAML file overriding column kinds."),
    report: str | None = typer.Option(None, "--report", help="Also write reports: html, pdf or html,pdf."),
    sign: bool = typer.Option(False, "--sign", help="Sign the PDF report (keys from `qaharness keys init`)."),
    keys: Path | None = typer.Option(None, "--keys", help="Signing keys folder (default ~/.qaharness/keys)."),
    param: list[str] | None = typer.Option(
        None, "--param", help="Metric parameter METRIC.PARAMETER=VALUE, over the policy's params:; repeatable."
    ),
    allow_synthetic_in_real: str | None = typer.Option(
        None,
        "--allow-synthetic-in-real",
        metavar="REASON",
        help="Accept synthetic rows in --real/--holdout (an augmentation study); the reason is recorded in the run.",
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
    """Gate a synthetic dataset: exit 0 pass (warnings allowed), 1 policy breached, 2 bad input, 3 internal."""
    check_ticket(ticket)  # before any work
    tracking = mlflow_target(mlflow, mlflow_experiment, mlflow_run_id)
    limits = read_limits(max_columns, max_bytes)
    params = parse_metric_params(param)
    spark = spark_options(engine, spark_master, spark_conf, spark_sample_rows)
    try:
        with progress_status("reading inputs …") as progress:
            result = run_gate(
                real,
                synthetic,
                holdout,
                out=out,
                policy=policy,
                target=target,
                task=task,
                schema=schema,
                strict=strict,
                seed=seed,
                store=store,
                record=not no_store,
                ticket=ticket,
                sensitive=split_list(sensitive) or (),
                progress=progress,
                command=["qaharness", *sys.argv[1:]],
                report=split_list(report) or (),
                sign=sign,
                keys=keys,
                params=params,
                overwrite=overwrite,
                store_timeout=store_timeout,
                limits=limits,
                engine=engine,
                spark=spark,
                allow_synthetic_in_real=allow_synthetic_in_real,
            )
    except StoreBusyError as exc:  # the outputs are complete; say so after the verdict
        if isinstance(exc.result, GateResult):
            _print_result(exc.result)
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_INTERNAL) from None
    _print_result(result)
    if tracking is not None:
        from ..integrations.mlflow import log_run

        print_logged(tracking, log_run(result.run, result.files, target=tracking, kind="gate"))
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _print_result(result: GateResult) -> None:
    print_gate(result)
    for name, path in result.files.items():
        console.print(f"{name}: {path}", markup=False)
    if result.run_id:
        console.print(f"recorded as run {result.run_id} in {result.store}", markup=False)
