"""``qaharness generate`` and ``qaharness generators list``.

``generate`` = parse options (``_generator_params``) → read the real table and the schema file
(``_read_inputs``) → fit with a progress bar → sample → write the table with its provenance
manifest (``write_output``) → print the fit report. Each step is one function, so options that
change one step (output formats, a preview, tracking) slot in beside it.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import BadInputError
from ..io import read_table
from ..schema import Schema, SchemaFile, infer_schema, load_schema_file
from ._app import app, console, err_console
from ._common import parse_conditions, parse_key_values
from ._mlflow import MLFLOW, MLFLOW_EXPERIMENT, MLFLOW_RUN_ID, log_generate, mlflow_target

__all__ = ["generate", "generators_app"]

generators_app = typer.Typer(no_args_is_help=True, help="Inspect the registered generators.")
app.add_typer(generators_app, name="generators")
_OUTPUT_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")


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
    epilog="Example: qaharness generate --generator autoregressive --data train.parquet --rows 10000 "
    "--out synth.parquet --max-minutes 3 --seed 7"
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
        help="Schema YAML (the one format of every command): column kinds and declared domains "
        "(min/max/categories) — declared domains cost no DP budget.",
    ),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    condition: list[str] | None = typer.Option(None, "--condition", help="COLUMN=VALUE; repeatable."),
    param: list[str] | None = typer.Option(None, "--param", help="Generator parameter KEY=VALUE; repeatable."),
    save_model: Path | None = typer.Option(None, "--save-model", help="Also save the fitted generator here."),
    tag_column: bool = typer.Option(
        True, "--tag-column/--no-tag-column", help="Add a _qaharness_provenance column to every row (default: on)."
    ),
    mlflow: str | None = MLFLOW,
    mlflow_experiment: str | None = MLFLOW_EXPERIMENT,
    mlflow_run_id: str | None = MLFLOW_RUN_ID,
) -> None:
    """Fit a generator on DATA and write ROWS synthetic rows to OUT with a provenance manifest."""
    tracking = mlflow_target(mlflow, mlflow_experiment, mlflow_run_id)
    from qaharness.generators import get_generator
    from qaharness.generators._api import manifest_for, write_output

    if rows < 1:
        raise BadInputError(f"must be at least 1, got {rows}", source="--rows")
    if not out.name.lower().endswith(_OUTPUT_SUFFIXES):
        raise BadInputError("output must be .parquet, .csv or .tsv", source="--out")
    conditions = parse_conditions(condition)
    params = _generator_params(
        device=device, epsilon=epsilon, delta=delta, accountant=accountant, epochs=epochs, max_minutes=max_minutes
    )
    model = get_generator(generator)(**{**params, **parse_key_values(param)})
    real, kinds, declared = _read_inputs(data, schema)
    with _ProgressBar(generator) as progress:
        report = model.fit(real, kinds, seed=seed, declared=declared, progress=progress.update)
    frame = model.sample(rows, seed=seed, conditions=conditions)
    path = write_output(frame, out, manifest_for(model, real, seed), column=tag_column)
    if save_model is not None:
        model.save(save_model)
    _print_report(report, path)
    if tracking is not None:
        log_generate(tracking, report, path, data)


def _generator_params(**options: Any) -> dict[str, Any]:
    """The generator parameters the options set (None: left to the generator); ``accountant`` only with DP."""
    params = {k: v for k, v in options.items() if v is not None}
    if options.get("epsilon") is None:
        params.pop("accountant", None)
    return params


def _read_inputs(data: str, schema: Path | None) -> tuple[pd.DataFrame, Schema, dict[str, dict[str, Any]]]:
    """(real frame, its schema with the file's kinds, declared domains); the file must name real columns."""
    real = read_table(data, name="data").frame
    parsed = load_schema_file(schema) if schema is not None else SchemaFile()
    unknown = [c for c in dict.fromkeys([*parsed.kinds, *parsed.domains]) if c not in real.columns]
    if unknown:
        raise BadInputError(f"schema names column(s) not in the data: {', '.join(unknown)}", source=parsed.source)
    return real, infer_schema(real, parsed.kinds), parsed.domains


class _ProgressBar:
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

    def __enter__(self) -> _ProgressBar:
        self.bar.__enter__()
        self.task = self.bar.add_task("fit", total=None, epoch="-", loss="-", eps="-")
        return self

    def update(self, epoch: int, epochs: int, loss: float, eps: float | None) -> None:
        if self.task is None:
            return
        self.bar.update(
            self.task,
            total=epochs,
            completed=epoch,
            epoch=f"{epoch}/{epochs}",
            loss=f"{loss:.4g}",
            eps="-" if eps is None else f"{eps:.3g}",
        )

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.bar.__exit__(kind, exc, tb)


def _print_report(report: Any, path: Path) -> None:
    console.print(f"fitted: {report.summary()}", markup=False)
    console.print(f"preprocessing: {report.preprocessing}", markup=False)
    console.print(f"synthetic: {path}", markup=False)
