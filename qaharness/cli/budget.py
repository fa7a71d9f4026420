"""``qaharness budget show|list``: the privacy-budget ledger per real source."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..budget import Composition, Release, compose, composition_json, ledger, resolve_source
from ..store import RunStore
from ._app import app, console
from ._common import fmt

budget_app = typer.Typer(no_args_is_help=True, help="The privacy budget spent on each real source across releases.")
app.add_typer(budget_app, name="budget")

_STORE = typer.Option(None, "--store", help="Run store (default ~/.qaharness/runs.duckdb).")


@budget_app.command("show", epilog="Example: qaharness budget show train.parquet   (or a fingerprint prefix: 3f2a9c)")
def show(
    source: str = typer.Argument(..., help="The real table (a file) or a prefix of its fingerprint."),
    store: Path | None = _STORE,
    as_json: bool = typer.Option(False, "--json", help="Print the composition and the ledger rows as JSON."),
) -> None:
    """Every release from SOURCE and the composed total (basic, and RDP/PRV where valid)."""
    db = RunStore(store)
    fingerprint = resolve_source(db, source)
    rows = ledger(db, fingerprint)
    composition = compose(rows, fingerprint)
    if as_json:
        typer.echo(composition_json(composition, rows), nl=False)
        return
    console.print(f"[bold]source {fingerprint[:16]}…[/] · ledger in {db.path}")
    if not rows:
        console.print("no releases recorded for this source")
        return
    console.print(_releases_table(rows))
    _print_composition(composition)


def _releases_table(rows: list[Release]) -> Table:
    """One line per distinct release (manifest id), with how often and where it was seen."""
    seen: dict[str, list[Release]] = {}
    for row in rows:
        seen.setdefault(row.manifest_id, []).append(row)
    table = Table(title="Releases", title_justify="left")
    for name in ("manifest", "created (UTC)", "generator", "ε", "δ", "accountant", "mechanism", "seen", "recorded by"):
        table.add_column(name, overflow="fold")
    for manifest_id, sightings in seen.items():
        first = sightings[0]
        if not first.dp:
            epsilon, delta = "[red]∞ (not DP)[/]", "—"
        elif not first.sealed:
            epsilon, delta = f"[red]∞ (seal broken; states {fmt(first.epsilon)})[/]", fmt(first.delta)
        else:
            epsilon, delta = fmt(first.epsilon), f"{first.delta:.3g}"
        origins = ", ".join(dict.fromkeys(s.origin for s in sightings))
        table.add_row(
            escape(manifest_id),
            escape((first.created_at or "—").replace("+00:00", "")),
            escape(f"{first.generator or '?'} {first.generator_version or ''}".strip()),
            epsilon,
            delta,
            escape(first.accountant or "—"),
            escape(_mechanism(first)),
            f"{len(sightings)}× ({origins})",
            escape(f"{first.actor} via {first.tool}" if first.tool else first.actor),
        )
    return table


def _mechanism(release: Release) -> str:
    if release.mechanism and release.noise_multiplier is not None:
        return f"{release.mechanism} σ={release.noise_multiplier:.3g} q={release.sample_rate:.3g} steps={release.steps}"
    return release.mechanism or "—"


def _print_composition(composition: Composition) -> None:
    colour = "red" if composition.epsilon is None else "bold"
    console.print(f"[{colour}]composed: {escape(composition.describe())}[/]")
    if composition.basic_epsilon is not None:
        console.print(f"basic composition: ε = {composition.basic_epsilon:.4g}, δ = {composition.delta:.3g}")
    if composition.tight_epsilon is not None:
        method = (composition.tight_method or "").upper()
        console.print(f"{method} composition: ε = {composition.tight_epsilon:.4g}, δ = {composition.delta:.3g}")
    if composition.note:
        console.print(f"note: {escape(composition.note)}")
    console.print(f"used: {composition.method}")


@budget_app.command("list", epilog="Example: qaharness budget list --store qaharness-demo/runs.duckdb")
def list_sources(store: Path | None = _STORE) -> None:
    """Every real source in the ledger with its release count and composed ε."""
    db = RunStore(store)
    frame = db.ledger(None)
    if frame.empty:
        console.print(f"no releases recorded in {db.path}")
        return
    table = Table(title=f"Privacy budget per source in {db.path}", title_justify="left")
    for name in ("source", "releases", "DP", "composed ε", "δ", "method", "last recorded (UTC)"):
        table.add_column(name, no_wrap=name == "source")
    for fingerprint in dict.fromkeys(frame.source_fingerprint):
        rows = ledger(db, str(fingerprint))
        composition = compose(rows, str(fingerprint))
        epsilon = "∞" if composition.epsilon is None else f"{composition.epsilon:.4g}"
        table.add_row(
            str(fingerprint)[:16],
            str(composition.releases),
            str(composition.dp_releases),
            epsilon,
            f"{composition.delta:.3g}",
            composition.method,
            (rows[-1].recorded_at or "—") if rows else "—",
        )
    console.print(table)
