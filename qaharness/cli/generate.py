"""``qaharness generate`` and ``qaharness generators list``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import BadInputError
from ..formats import output_format
from ..io import read_table
from ..masking import mask_rows
from ..provenance import read_manifest
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
    "--out synth.parquet --max-minutes 2 --seed 7   (dry run: --preview 10 instead of --rows/--out)"
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
        help="Output file: .parquet (manifest in its metadata), .csv, .tsv, .json, .jsonl, .yaml or .xlsx "
        "(manifest in FILE.provenance.json).",
    ),
    preview: int | None = typer.Option(
        None, "--preview", min=1, metavar="N", help="Print N synthetic rows (rare real values masked); write no file."
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
        help="YAML: column kinds and declared domains (min/max/categories) — declared domains cost no DP budget.",
    ),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    condition: list[str] | None = typer.Option(None, "--condition", help="COLUMN=VALUE; repeatable."),
    param: list[str] | None = typer.Option(None, "--param", help="Generator parameter KEY=VALUE; repeatable."),
    save_model: Path | None = typer.Option(None, "--save-model", help="Also save the fitted generator here."),
    tag_column: bool = typer.Option(
        False, "--tag-column/--no-tag-column", help="Add a _qaharness_provenance column to every row."
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
    _check_output(rows, out, preview, mlflow)
    tracking = mlflow_target(mlflow, mlflow_experiment, mlflow_run_id)
    from qaharness.generators import get_generator
    from qaharness.generators._api import manifest_for, write_output
    from qaharness.generators._domain import load_domain_file

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
    real_schema = infer_schema(real, kinds)
    with _progress_bar(generator) as progress:
        report = model.fit(real, real_schema, seed=seed, declared=declared, progress=progress)
    frame = model.sample(preview or rows or 0, seed=seed, conditions=conditions)
    manifest = manifest_for(model, real, seed)
    if preview is not None:
        _print_preview(frame, real, real_schema.to_json())
        _record(store, no_store, manifest, origin="preview", synthetic=None)
        _print_report(report, None)
        return
    assert out is not None  # _check_output
    path = write_output(frame, out, manifest, column=tag_column)
    if save_model is not None:
        model.save(save_model)
    _record(store, no_store, read_manifest(path) or manifest, origin="generate", synthetic=str(path))
    _print_report(report, path)
    if tracking is not None:
        log_generate(tracking, report, path, data)


def _check_output(rows: int | None, out: Path | None, preview: int | None, mlflow: str | None) -> None:
    """--rows and --out, or --preview alone; the output name must be a format qaharness writes."""
    if preview is not None:
        for option, value in (("--out", out), ("--rows", rows), ("--mlflow", mlflow)):
            if value is not None:
                raise BadInputError(f"--preview prints rows and writes nothing; leave out {option}", source="--preview")
        return
    if rows is None or out is None:
        missing = "--rows" if rows is None else "--out"
        raise BadInputError("is required (or --preview N for a dry run that writes nothing)", source=missing)
    if rows < 1:
        raise BadInputError(f"must be at least 1, got {rows}", source="--rows")
    output_format(out)


def _record(store: Path | None, no_store: bool, manifest, *, origin: str, synthetic: str | None) -> None:
    """Append the release to the privacy-budget ledger of its real source (non-DP: an unbounded spend)."""
    if no_store:
        return
    from ..budget import record_release, release_from_manifest
    from ..store import RunStore

    db = RunStore(store)
    release = release_from_manifest(manifest, origin=origin, tool="qaharness generate", synthetic=synthetic)
    record_release(db, release, manifest)
    spend = f"ε {release.epsilon:.3g}, δ {release.delta:.2g}" if release.dp else "not DP: an unbounded spend"
    console.print(
        f"budget ledger: release {release.manifest_id} ({spend}) recorded for source "
        f"{release.source_fingerprint[:12]} in {db.path} (qaharness budget show {release.source_fingerprint[:12]})"
    )


def _print_preview(frame, real, kinds: dict[str, str]) -> None:
    table = Table(
        title=f"Preview: {len(frame)} synthetic rows (not written; rare real values masked)", title_justify="left"
    )
    shown = mask_rows(frame, real, kinds)
    for column in shown.columns:
        table.add_column(escape(str(column)), overflow="fold")
    for row in shown.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    console.print(table)


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


def _print_report(report, path: Path | None) -> None:
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
    console.print("fitted: " + ", ".join(parts))
    console.print(f"preprocessing: {report.preprocessing}")
    if path is not None:
        console.print(f"synthetic: {path}")
