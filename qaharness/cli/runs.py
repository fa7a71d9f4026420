"""``qaharness runs list|show``: the run store from the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from ..store import RunStore
from ._app import app, console
from ._common import fmt

runs_app = typer.Typer(no_args_is_help=True, help="List and inspect recorded evaluate and gate runs.")
app.add_typer(runs_app, name="runs")

_VERDICT = {"pass": "green", "warn": "yellow", "fail": "red"}
_STATUS = {"pass": "green", "ok": "green", "fail": "red", "error": "red", "waived": "yellow", "skipped": "yellow"}


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return "—"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _styled(value: object, styles: dict[str, str]) -> str:
    text = _text(value)
    return f"[{styles[text]}]{text}[/]" if text in styles else text


@runs_app.command("list", epilog="Example: qaharness runs list --limit 20 --kind gate")
def list_runs(
    store: Path | None = typer.Option(None, "--store", help="Run store (default ~/.qaharness/runs.duckdb)."),
    limit: int = typer.Option(20, "--limit", min=1, help="Most recent runs to show."),
    kind: str | None = typer.Option(None, "--kind", help="Only 'evaluate' or 'gate' runs."),
) -> None:
    """The most recent runs, newest first."""
    db = RunStore(store)
    frame = db.list_runs()
    if kind and not frame.empty:
        frame = frame[frame.kind == kind]
    frame = frame.head(limit)
    if frame.empty:
        console.print(f"no runs in {db.path}")
        return
    table = Table(title=f"Runs in {db.path}", title_justify="left")
    for name in ("run", "created (UTC)", "kind", "verdict", "ticket"):
        table.add_column(name, no_wrap=True)
    for name in ("policy", "synthetic"):
        table.add_column(name, overflow="fold")
    for row in frame.itertuples(index=False):
        policy = f"{row.policy_id} {row.policy_version}" if isinstance(row.policy_id, str) else "—"
        synthetic = Path(row.synthetic).name if isinstance(row.synthetic, str) else "—"
        table.add_row(
            row.run_id,
            _text(row.created_at),
            row.kind,
            _styled(row.verdict, _VERDICT),
            _text(row.ticket),
            policy,
            synthetic,
        )
    console.print(table)


@runs_app.command("show", epilog="Example: qaharness runs show 3f2a9c")
def show_run(
    run_id: str = typer.Argument(..., help="Run id or a unique prefix of one."),
    store: Path | None = typer.Option(None, "--store", help="Run store (default ~/.qaharness/runs.duckdb)."),
) -> None:
    """One run: inputs, metrics, rules and artifacts."""
    db = RunStore(store)
    full = db.resolve(run_id)
    row, run = db.run_row(full), db.get_run(full)
    verdict = _styled(row.get("verdict"), _VERDICT)
    console.print(f"[bold]run {full}[/] · {row['kind']} · {_text(row['created_at'])} UTC · verdict {verdict}")
    if run.policy:
        console.print(f"policy {run.policy.id} {run.policy.version} (sha256 {run.policy.sha256[:12]})")
    for name, info in run.inputs.items():
        console.print(f"{name}: {info.source} ({info.rows} rows, sha256 {info.sha256[:12]})")
    if run.ticket:
        console.print(f"ticket: {run.ticket}")
    metrics = Table(title="Metrics", title_justify="left")
    for name in ("metric", "status", "value", "95% CI", "baseline", "note"):
        metrics.add_column(name, overflow="fold")
    for m in run.metrics:
        ci = f"[{fmt(m.ci[0])}, {fmt(m.ci[1])}]" if m.ci else ""
        metrics.add_row(m.id, _styled(m.status.value, _STATUS), fmt(m.value), ci, fmt(m.baseline), m.message)
    console.print(metrics)
    if run.rules:
        rules = Table(title="Rules", title_justify="left")
        for name in ("rule", "metric", "observed", "threshold", "severity", "status", "message"):
            rules.add_column(name, overflow="fold")
        for r in run.rules:
            rules.add_row(
                r.id,
                f"{r.metric} ({r.field})",
                fmt(r.observed),
                f"{r.op} {fmt(r.threshold)}",
                r.severity,
                _styled(r.status, _STATUS),
                r.message,
            )
        console.print(rules)
    artifacts = db.artifacts(full)
    for a in artifacts.itertuples(index=False):
        console.print(f"artifact {a.name}: {a.path} (sha256 {_text(a.sha256)[:12]})")
