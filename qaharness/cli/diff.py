"""``qaharness diff`` — drift between two versions of a dataset (Evidently's data drift preset)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..drift import compare, verdict_line, write_diff
from ._app import EXIT_BREACH, app, console, err_console


@app.command(epilog="Example: qaharness diff features_v1.parquet features_v2.parquet --out runs/diff-v2")
def diff(
    old: str = typer.Argument(..., help="Reference version (file or 'duckdb:DB::QUERY')."),
    new: str = typer.Argument(..., help="New version, compared against OLD."),
    out: Path = typer.Option(Path("qaharness-diff"), "--out", help="Folder for drift.html and drift.json."),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="Dataset drift when at least this share of columns drifted."
    ),
    fail_on_drift: bool = typer.Option(False, "--fail-on-drift", help="Exit 1 when the dataset drifted."),
) -> None:
    """Test every shared column of NEW against OLD for drift; save Evidently's HTML report.

    Prints one verdict line. Exit 0 (1 with --fail-on-drift and dataset drift), 2 bad input.
    """
    with err_console.status("computing drift …"):
        result, snapshot = compare(old, new, drift_share=drift_share)
        paths = write_diff(result, snapshot, out)
    console.print(verdict_line(result), markup=False)
    console.print(f"report: {paths['drift.html']}  data: {paths['drift.json']}", markup=False)
    if fail_on_drift and result.dataset_drift:
        raise typer.Exit(EXIT_BREACH)
