"""``qaharness generate`` and ``qaharness generators list``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import BadInputError
from ..io import read_table
from ..schema import infer_schema
from ._app import app, console, err_console
from ._common import parse_conditions, parse_key_values
from ._mlflow import MLFLOW, MLFLOW_EXPERIMENT, MLFLOW_RUN_ID, log_generate, mlflow_target

__all__ = ["generate", "generators_app"]

generators_app = typer.Typer(no_args_is_help=True, help="Inspect the registered generators.")
app.add_typer(generators_app, name="generators")


@generators_app.command("list", epilog="Example: qaharness generators list")
def list_generators() -> None:
    """Print every registered generator with its capabilities."""
    from qaharness.generators import generator_registry

    table = Table(title="Generators", title_justify="left")
    table.add_column("id", no_wrap=True)
    for name in ("version", "dp", "conditional", "gpu", "kinds", "description"):
        table.add_column(name, overflow="fold")
    for gid, cls in generator_registry.items():
        caps = cls.capabilities
        table.add_row(
            gid,
            str(cls.version),
            _yes(caps.dp),
            "native" if caps.conditional else "rejection",
            _yes(caps.gpu),
            ", ".join(caps.kinds),
            cls.description,
        )
    console.print(table)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


@app.command(
    epilog="Example: qaharness generate --generator tvae --data train.parquet --rows 10000 "
    "--out synth.parquet --max-minutes 2 --seed 7"
)
def generate(
    generator: str = typer.Option(..., "--generator", "-g", help="Generator id (see: qaharness generators list)."),
    data: str = typer.Option(..., "--data", help="Real training table: file or 'duckdb:DB::QUERY'."),
    rows: int = typer.Option(..., "--rows", help="Synthetic rows to write."),
    out: Path = typer.Option(..., "--out", help="Output .parquet (manifest in its metadata) or .csv (sidecar)."),
    epsilon: float | None = typer.Option(None, "--epsilon", help="Train with DP-SGD to this ε."),
    delta: float | None = typer.Option(None, "--delta", help="DP δ (default 1/n²)."),
    accountant: str = typer.Option("rdp", "--accountant", help="DP accountant: rdp | prv."),
    seed: int = typer.Option(0, "--seed", help="Seed for training and sampling."),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs (neural generators)."),
    max_minutes: float | None = typer.Option(None, "--max-minutes", help="Stop training after this long."),
    schema: Path | None = typer.Option(
        None,
        "--schema",
        help="YAML: column kinds and declared domains (min/max/categories) — declared domains cost no DP budget.",
    ),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    condition: list[str] | None = typer.Option(None, "--condition", help="COLUMN=VALUE; repeatable."),
    param: list[str] | None = typer.Option(None, "--param", help="Generator parameter KEY=VALUE; repeatable."),
    save_model: Path | None = typer.Option(None, "--save-model", help="Also save the fitted generator here."),
    tag_column: bool = typer.Option(
        False, "--tag-column/--no-tag-column", help="Add a _qaharness_provenance column to every row."
    ),
    mlflow: str | None = MLFLOW,
    mlflow_experiment: str | None = MLFLOW_EXPERIMENT,
    mlflow_run_id: str | None = MLFLOW_RUN_ID,
) -> None:
    """Fit a generator on DATA and write ROWS synthetic rows to OUT with a provenance manifest."""
    tracking = mlflow_target(mlflow, mlflow_experiment, mlflow_run_id)
    from qaharness.generators import get_generator
    from qaharness.generators._api import manifest_for, write_output
    from qaharness.generators._domain import load_domain_file

    if rows < 1:
        raise BadInputError(f"must be at least 1, got {rows}", source="--rows")
    if not out.name.lower().endswith((".parquet", ".pq", ".csv", ".tsv")):
        raise BadInputError("output must be .parquet, .csv or .tsv", source="--out")
    conditions = parse_conditions(condition)
    cls = get_generator(generator)
    params = {"device": device, **parse_key_values(param)}
    for key, value in (("epsilon", epsilon), ("delta", delta), ("epochs", epochs), ("max_minutes", max_minutes)):
        if value is not None:
            params[key] = value
    if epsilon is not None:
        params["accountant"] = accountant
    model = cls(**params)
    kinds, declared = load_domain_file(schema) if schema else ({}, {})
    real = read_table(data, name="data").frame
    unknown = [c for c in [*kinds, *declared] if c not in real.columns]
    if unknown:
        raise BadInputError(f"schema names column(s) not in the data: {', '.join(unknown)}", source=str(schema))
    with _progress_bar(generator) as progress:
        report = model.fit(real, infer_schema(real, kinds), seed=seed, declared=declared, progress=progress)
    frame = model.sample(rows, seed=seed, conditions=conditions)
    path = write_output(frame, out, manifest_for(model, real, seed), column=tag_column)
    if save_model is not None:
        model.save(save_model)
    _print_report(report, path)
    if tracking is not None:
        log_generate(tracking, report, path, data)


class _progress_bar:
    """A rich progress bar on stderr: epoch, loss, ε spent."""

    def __init__(self, generator: str):
        self.bar = Progress(
            TextColumn(f"training {generator}"),
            BarColumn(),
            TextColumn("epoch {task.fields[epoch]}"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("ε {task.fields[eps]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self.task: TaskID | None = None

    def __enter__(self):
        self.bar.__enter__()
        self.task = self.bar.add_task("fit", total=None, epoch="-", loss="-", eps="-")
        return self.update

    def update(self, epoch: int, epochs: int, loss: float, eps: float | None) -> None:
        assert self.task is not None, "update() outside the progress bar's with-block"
        self.bar.update(
            self.task,
            total=epochs,
            completed=epoch,
            epoch=f"{epoch}/{epochs}",
            loss=f"{loss:.4g}",
            eps="-" if eps is None else f"{eps:.3g}",
        )

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)


def _print_report(report, path: Path) -> None:
    parts = [
        f"{report.generator} v{report.version}",
        f"{report.rows} training rows",
        f"{report.epochs}/{report.epochs_planned} epochs" if report.epochs_planned else "no training loop",
        f"{report.seconds:.1f} s on {report.device}",
    ]
    if report.stopped:
        parts.append(f"stopped early ({report.stopped})")
    if report.epsilon is not None:
        parts.append(f"ε spent {report.epsilon:.3g} (δ {report.delta:.2g}, {report.accountant})")
    console.print("fitted: " + ", ".join(parts), markup=False)
    console.print(f"preprocessing: {report.preprocessing}", markup=False)
    console.print(f"synthetic: {path}", markup=False)
