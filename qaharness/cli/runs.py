"""``qaharness runs list|show``: the run store from the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from ..store import RunStore
from ._app import app, console
from ._common import fmt

runs_app = typer.Typer(no_args_is_help=True, help="List and inspect recorded evaluate and gate runs.")
app.add_typer(runs_app, name="runs")

_VERDICT = {"pass": "green", "warn": "yellow", "fail": "red"}
_STATUS = {"pass": "green", "ok": "green", "fail": "red", "error": "red", "waived": "yellow", "skipped": "yellow"}


def _text(value: object) -> str:
    """A store value as plain text, Rich markup escaped (tickets, sources and messages come from users)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return "—"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return escape(str(value))


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
        console.print(f"no runs in {db.path}", markup=False)
        return
    table = Table(title=f"Runs in {_text(db.path)}", title_justify="left")
    for name in ("run", "created (UTC)", "kind", "verdict", "ticket"):
        table.add_column(name, no_wrap=True)
    for name in ("policy", "synthetic"):
        table.add_column(name, overflow="fold")
    for row in frame.itertuples(index=False):
        policy = _text(f"{row.policy_id} {row.policy_version}") if isinstance(row.policy_id, str) else "—"
        synthetic = _text(Path(row.synthetic).name) if isinstance(row.synthetic, str) else "—"
        table.add_row(
            _text(row.run_id),
            _text(row.created_at),
            _text(row.kind),
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
    console.print(
        f"[bold]run {_text(full)}[/] · {_text(row['kind'])} · {_text(row['created_at'])} UTC · verdict {verdict}"
    )
    if run.policy:
        console.print(f"policy {run.policy.id} {run.policy.version} (sha256 {run.policy.sha256[:12]})", markup=False)
    for name, info in run.inputs.items():
        console.print(f"{name}: {info.source} ({info.rows} rows, sha256 {info.sha256[:12]})", markup=False)
    if run.ticket:
        console.print(f"ticket: {run.ticket}", markup=False)
    seal = "sealed" if run.seal else "not sealed"
    console.print(f"results.json: {seal}" + (f" by {run.seal.get('signer', '?')}" if run.seal else ""), markup=False)
    metrics = Table(title="Metrics", title_justify="left")
    for name in ("metric", "status", "value", "95% CI", "baseline", "note"):
        metrics.add_column(name, overflow="fold")
    for m in run.metrics:
        ci = f"[{fmt(m.ci[0])}, {fmt(m.ci[1])}]" if m.ci else ""
        metrics.add_row(
            _text(m.id), _styled(m.status.value, _STATUS), fmt(m.value), _text(ci), fmt(m.baseline), _text(m.message)
        )
    console.print(metrics)
    if run.rules:
        rules = Table(title="Rules", title_justify="left")
        for name in ("rule", "metric", "observed", "threshold", "severity", "status", "message"):
            rules.add_column(name, overflow="fold")
        for r in run.rules:
            rules.add_row(
                _text(r.id),
                _text(f"{r.metric} ({r.field})"),
                fmt(r.observed),
                _text(f"{r.op} {fmt(r.threshold)}"),
                _text(r.severity),
                _styled(r.status, _STATUS),
                _text(r.message),
            )
        console.print(rules)
    artifacts = db.artifacts(full)
    for a in artifacts.itertuples(index=False):
        console.print(f"artifact {_text(a.name)}: {_text(a.path)} (sha256 {_text(a.sha256)[:12]})")


@runs_app.command("record", epilog="Example: qaharness runs record gate/ --store runs.duckdb")
def record(
    out: Path = typer.Argument(..., help="A finished evaluate or gate folder (results.json + run-manifest.json)."),
    store: Path | None = typer.Option(None, "--store", help="Run store (default ~/.qaharness/runs.duckdb)."),
    trust: Path | None = typer.Option(None, "--trust", help="CA the seal must chain to (default: the local CA)."),
) -> None:
    """Record a finished run folder in the store (after a gate found the store busy).

    The folder must be complete (its run manifest matches its files) and results.json sealed; exit 1 otherwise.
    """
    from .._run_folder import RUN_MANIFEST, check_run_manifest, read_run_manifest
    from ..errors import VerificationError
    from ..results import Run
    from ..seal import require_seal

    problems = check_run_manifest(out)
    if problems:
        raise VerificationError("; ".join(problems), source=str(out))
    raw = (out / "results.json").read_bytes()
    require_seal(raw, trust=trust, name=str(out / "results.json"))
    run = Run.from_json(raw)
    files = {name: out / name for name in (read_run_manifest(out) or {}).get("files", {})}
    files[RUN_MANIFEST] = out / RUN_MANIFEST
    db = RunStore(store)
    run_id = db.record_run(run, kind="gate" if run.verdict else "evaluate", out_dir=out.resolve(), artifacts=files)
    console.print(f"recorded {out} as run {run_id} in {db.path}", markup=False)
