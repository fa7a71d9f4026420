"""``qaharness generate`` and ``qaharness generators list``.

``generate`` = parse options (``_generator_params``) → read the real table and the schema file
(``_read_inputs``) → fit with a progress bar → sample → write the table with its provenance
manifest (``write_output``) → record the release in the privacy-budget ledger (``_record``) → print
the fit report. Each step is one function, so options that change one step (output formats, a
preview, tracking) slot in beside it. ``--preview N`` samples N rows and prints them masked
(``_print_preview``) instead of writing: no file, no ledger entry, no model.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import BadInputError
from ..formats import output_format
from ..io import read_table
from ..masking import mask_rows
from ..schema import Schema, SchemaFile, infer_schema, load_schema_file
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
    epilog="Example: qaharness generate --generator autoregressive --data train.parquet --rows 10000 "
    "--out synth.parquet --max-minutes 3 --seed 7   (dry run: --preview 10 instead of --rows/--out)"
)
def generate(
    generator: str = typer.Option(..., "--generator", "-g", help="Generator id (see: qaharness generators list)."),
    data: str = typer.Option(
        ..., "--data", help="Real training table: a file (any input format) or 'duckdb:DB::QUERY'."
    ),
    rows: int | None = typer.Option(None, "--rows", help="Synthetic rows to write."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Output file: .parquet (manifest in its metadata), .csv, .tsv, .json (array), .jsonl, .yaml or "
        ".xlsx (manifest in FILE.provenance.json).",
    ),
    preview: int | None = typer.Option(
        None, "--preview", metavar="N", help="Print N synthetic rows (rare real values masked); write nothing."
    ),
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
    store: Path | None = typer.Option(
        None, "--store", help="Run store whose privacy-budget ledger records the release (default ~/.qaharness)."
    ),
    no_store: bool = typer.Option(False, "--no-store", help="Don't record the release in the budget ledger."),
    mlflow: str | None = MLFLOW,
    mlflow_experiment: str | None = MLFLOW_EXPERIMENT,
    mlflow_run_id: str | None = MLFLOW_RUN_ID,
) -> None:
    """Fit a generator on DATA and write ROWS synthetic rows to OUT with a provenance manifest."""
    _check_output(rows, out, preview, {"--save-model": save_model, "--mlflow": mlflow, "--store": store})
    tracking = mlflow_target(mlflow, mlflow_experiment, mlflow_run_id)
    from qaharness.generators import get_generator
    from qaharness.generators._api import manifest_for, write_output
    from qaharness.provenance import read_manifest

    conditions = parse_conditions(condition)
    params = _generator_params(
        device=device, epsilon=epsilon, delta=delta, accountant=accountant, epochs=epochs, max_minutes=max_minutes
    )
    model = get_generator(generator)(**{**params, **parse_key_values(param)})
    real, kinds, declared = _read_inputs(data, schema)
    with _ProgressBar(generator) as progress:
        report = model.fit(real, kinds, seed=seed, declared=declared, progress=progress.update)
    if preview is not None:
        _print_preview(model.sample(preview, seed=seed, conditions=conditions), real, kinds.to_json())
        _print_report(report, None)
        return
    assert rows is not None and out is not None  # _check_output
    frame = model.sample(rows, seed=seed, conditions=conditions)
    path = write_output(frame, out, manifest_for(model, real, seed), column=tag_column)
    if save_model is not None:
        model.save(save_model)
    if not no_store:
        manifest = read_manifest(path)
        assert manifest is not None  # write_output just attached it
        _record(store, manifest, synthetic=str(path))
    _print_report(report, path)
    if tracking is not None:
        log_generate(tracking, report, path, data)


def _check_output(rows: int | None, out: Path | None, preview: int | None, writers: dict[str, Any]) -> None:
    """--rows and --out, or --preview N alone; the output name must be a format qaharness writes."""
    if preview is not None:
        if preview < 1:
            raise BadInputError(f"must be at least 1, got {preview}", source="--preview")
        for option, value in {"--rows": rows, "--out": out, **writers}.items():
            if value is not None:
                raise BadInputError(f"prints rows and writes nothing; leave out {option}", source="--preview")
        return
    if rows is None or out is None:
        missing = "--rows" if rows is None else "--out"
        raise BadInputError("is required (or --preview N for a dry run that writes nothing)", source=missing)
    if rows < 1:
        raise BadInputError(f"must be at least 1, got {rows}", source="--rows")
    output_format(out)


def _record(store: Path | None, manifest: Any, *, synthetic: str) -> None:
    """Append the release to the privacy-budget ledger of its real source (non-DP: an unbounded spend)."""
    from ..budget import record_release, release_from_manifest
    from ..store import RunStore

    db = RunStore(store)
    release = release_from_manifest(manifest, origin="generate", tool="qaharness generate", synthetic=synthetic)
    record_release(db, release, manifest)
    spend = f"ε {release.epsilon:.3g}, δ {release.delta:.2g}" if release.dp else "not DP: an unbounded spend"
    source = release.source_fingerprint[:12]
    console.print(
        f"budget ledger: release {release.manifest_id} ({spend}) recorded for source {source} in {db.path} "
        f"(qaharness budget show {source} --store {db.path})",
        markup=False,
    )


def _print_preview(frame: pd.DataFrame, real: pd.DataFrame, kinds: dict[str, str]) -> None:
    """The sampled rows as a table, rare real values masked (``qaharness.masking.mask_rows``)."""
    title = f"Preview: {len(frame)} synthetic rows (not written; rare real values masked)"
    table = Table(title=title, title_justify="left")
    shown = mask_rows(frame, real, kinds)
    for column in shown.columns:
        table.add_column(escape(str(column)), overflow="fold")
    for row in shown.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    console.print(table)


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


def _print_report(report: Any, path: Path | None) -> None:
    console.print(f"fitted: {report.summary()}", markup=False)
    console.print(f"preprocessing: {report.preprocessing}", markup=False)
    if path is not None:
        console.print(f"synthetic: {path}", markup=False)
