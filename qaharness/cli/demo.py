"""``qaharness demo``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from .._format import FAILING_STATUSES
from ..datasets import ADULT_ATTRIBUTION
from ..demo import DEMO_GENERATORS, DemoResult, DemoStep, run_demo
from ._app import app, console, err_console
from ._common import fmt, split_list
from .gate import print_gate

_KEY_METRICS = ("fidelity.detection", "fidelity.corr_diff", "utility.tstr_ratio", "privacy.dcr", "privacy.mia")


@app.command(epilog="Example: qaharness demo --out qaharness-demo --max-minutes 3")
def demo(
    out: Path = typer.Option(Path("qaharness-demo"), "--out", help="Folder for everything the demo writes."),
    seed: int = typer.Option(0, "--seed", help="Seed for the split, the generators and the metrics."),
    generators: str = typer.Option(",".join(DEMO_GENERATORS), "--generators", help="Generators to compare."),
    max_minutes: float = typer.Option(3.0, "--max-minutes", help="Training budget per neural generator."),
    no_sign: bool = typer.Option(False, "--no-sign", help="Don't sign the PDF reports."),
    policy: str = typer.Option("default", "--policy", help="Policy to gate with: a bundled name or a YAML file."),
    rows: int | None = typer.Option(None, "--rows", min=200, help="Use a random sample of this many Adult rows."),
    no_dp: bool = typer.Option(False, "--no-dp", help="Skip the differentially private release (and its ledger)."),
) -> None:
    """Run the main job end to end on the bundled UCI Adult data and compare generators under one policy."""
    console.print(f"Demo data: {ADULT_ATTRIBUTION}")
    with err_console.status("preparing the demo …") as status:
        result = run_demo(
            out,
            seed=seed,
            generators=split_list(generators) or DEMO_GENERATORS,
            max_minutes=max_minutes,
            sign=not no_sign,
            policy=policy,
            rows=rows,
            say=status.update,
            dp=not no_dp,
        )
    for step in result.steps:
        console.rule(f"{step.generator}: trained in {step.fit_seconds:.0f} s")
        console.print(f"fitted: {step.fit_summary}", markup=False)
        print_gate(step.gate)
    console.print(_comparison(result, policy))
    for step in result.steps:
        console.print(_what_the_gate_says(step, policy), markup=False)
    console.print(f"\ntrain/holdout: {result.files['train']}, {result.files['holdout']}", markup=False)
    for step in result.steps:
        files = ", ".join(str(p) for p in step.gate.files.values())
        console.print(f"{step.generator} (run {step.gate.run_id}): {files}", markup=False)
    if result.dp is not None:
        dp = result.dp
        console.print(
            f"differentially private release: {dp.synthetic} (tvae, ε spent {dp.epsilon:.3g}, δ {dp.delta:.2g}); "
            f"privacy budget of the training table across the demo's releases: {dp.composition.describe()}",
            markup=False,
        )
        console.print(f"the ledger: qaharness budget show {result.files['train']} --store {result.store}", markup=False)
    console.print(f"run store: {result.store}", markup=False)
    console.print(
        f"verify a signed report: qaharness verify {result.steps[-1].gate.files.get('report.pdf', '')}", markup=False
    )
    console.print(f"open the dashboard: qaharness app --store {result.store}", markup=False)


def _what_the_gate_says(step: DemoStep, policy: str) -> str:
    """One honest sentence per generator: the verdict and the rules it failed or warned on."""
    gate = step.gate
    verdict = (gate.run.verdict or "pass").upper()
    failed = [r.id for r in gate.run.rules or [] if r.status in FAILING_STATUSES and r.severity == "error"]
    warned = [r.id for r in gate.run.rules or [] if r.status in FAILING_STATUSES and r.severity != "error"]
    text = f"{step.generator}: {verdict} under the {policy} policy"
    if failed:
        text += f" — failed: {', '.join(failed)}"
    if warned:
        text += f" — warnings: {', '.join(warned)}"
    if not failed and not warned:
        text += " — every rule held"
    return text + "."


def _comparison(result: DemoResult, policy: str) -> Table:
    table = Table(title=f"Generators under the {policy} policy", title_justify="left")
    for name in ("generator", "verdict", *_KEY_METRICS):
        table.add_column(name)
    for step in result.steps:
        run = step.gate.run
        values = {m.id: m for m in run.metrics}
        cells = [fmt(values[m].value) if m in values else "—" for m in _KEY_METRICS]
        table.add_row(escape(step.generator), (run.verdict or "").upper(), *cells)
    return table
