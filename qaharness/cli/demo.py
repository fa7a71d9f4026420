"""``qaharness demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from ..datasets import ADULT_ATTRIBUTION
from ..demo import run_demo
from ._app import app, console
from ._common import print_summary, progress_status


@app.command(epilog="Example: qaharness demo --out qaharness-demo")
def demo(
    out: Path = typer.Option(Path("qaharness-demo"), "--out", help="Folder for everything the demo writes."),
    seed: int = typer.Option(0, "--seed", help="Seed for the split, the generator and the metrics."),
) -> None:
    """Run the main job end to end on the bundled UCI Adult data."""
    console.print(f"Demo data: {ADULT_ATTRIBUTION}")
    with progress_status("preparing the demo …") as progress:
        result = run_demo(out, seed=seed, progress=progress)
    for name, run in result.runs.items():
        print_summary(run, title=f"Synthetic data from '{name}'")
    console.print(f"\ninputs: {', '.join(str(p) for p in result.files.values())}")
    for name, run_id in result.run_ids.items():
        console.print(f"results ({name}): {out / name / 'results.json'} (run {run_id})")
    console.print(f"run store: {result.store}")
