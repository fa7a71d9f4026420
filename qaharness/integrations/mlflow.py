"""Log qaharness runs to MLflow: the synthetic dataset's settings and QA verdict beside the experiment
that trains on it. Optional: ``pip install "qaharness[mlflow]"``.

What goes where (one MLflow run per qaharness command, or an existing run with ``run_id``):

- **params** (``qaharness.*``): qaharness version, seed, policy id/version/sha256, generator id,
  version and config hash, generation seed, ε/δ/accountant (``none`` without DP);
- **metrics**: every computed metric under its id (``fidelity.ks``) with ``.ci_low``, ``.ci_high`` and
  ``.baseline`` where it has them; ``qaharness.verdict_pass`` 1/0 (1 = pass or warn); ``rule.<id>`` 1 when
  the rule held, else 0;
- **tags** (``qaharness.*``): kind, verdict, ticket, real and synthetic fingerprints, manifest id,
  rule statuses;
- **artifacts** under ``qaharness/``: results.json, junit.xml, summary.md, reports, manifest;
- **datasets** (inputs): name, source, fingerprint, row and column counts — never rows.

Everything is logged through ``MlflowClient`` (no global active run). The tracking URI is the one
given, else MLflow's own default (``$MLFLOW_TRACKING_URI``, else MLflow's default store; MLflow 3.7+
defaults to ``sqlite:///mlflow.db`` with artifacts in ``./mlruns``). MLflow failures are bad input
(exit 2) naming ``--mlflow``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qaharness._version import __version__
from qaharness.errors import BadInputError
from qaharness.results import InputInfo, Run

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = [
    "INSTALL_LINE",
    "DEFAULT_URI",
    "MlflowTarget",
    "DatasetRef",
    "Record",
    "require_mlflow",
    "run_record",
    "generation_record",
    "check_target",
    "log_record",
    "log_run",
    "log_generation",
]

INSTALL_LINE = 'pip install "qaharness[mlflow]"'
#: ``--mlflow default`` (or a bare ``--mlflow``): MLflow's own default tracking URI
DEFAULT_URI = "default"
_BATCH = 100  # MLflow accepts at most 100 params or tags (1000 entities) per log_batch call
_DIGEST = 32  # MLflow dataset digests hold at most 36 characters


@dataclass(frozen=True)
class MlflowTarget:
    """Where to log: tracking URI (None = MLflow's default), experiment name, or an existing run."""

    tracking_uri: str | None = None
    experiment: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class DatasetRef:
    """An input as MLflow sees it: where it came from and its fingerprint, never its rows."""

    context: str  # real | synthetic | holdout | training
    source: str
    fingerprint: str | None
    rows: int | None = None
    columns: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Record:
    """Everything one qaharness command logs, flattened for MLflow."""

    kind: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)
    datasets: list[DatasetRef] = field(default_factory=list)
    run_name: str = "qaharness"


def require_mlflow() -> None:
    """Raise ``BadInputError`` (exit 2) with the install line when MLflow is not installed."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise BadInputError(f"MLflow is not installed; install it with: {INSTALL_LINE}", source="--mlflow") from None


# -- what to log --------------------------------------------------------------------------------
def run_record(run: Run, files: Mapping[str, Path] | None = None, *, kind: str = "gate") -> Record:
    """The params, metrics, tags, artifacts and datasets of an evaluate or gate run."""
    params = {"qaharness.version": run.qaharness_version, "qaharness.seed": str(run.seed)}
    if run.target:
        params["qaharness.target"] = run.target
    if run.policy is not None:
        params |= {
            "qaharness.policy.id": run.policy.id,
            "qaharness.policy.version": run.policy.version,
            "qaharness.policy.sha256": run.policy.sha256,
        }
    manifest = run.provenance or {}
    params |= _generator_params(manifest)
    metrics: dict[str, float] = {}
    for result in run.metrics:
        if not result.ok or result.value is None:
            continue
        metrics[result.id] = result.value
        if result.ci is not None:
            metrics[f"{result.id}.ci_low"], metrics[f"{result.id}.ci_high"] = result.ci
        if result.baseline is not None:
            metrics[f"{result.id}.baseline"] = result.baseline
    tags = {"qaharness.kind": kind}
    if run.verdict is not None:
        metrics["qaharness.verdict_pass"] = 0.0 if run.verdict == "fail" else 1.0
        tags["qaharness.verdict"] = run.verdict
    for rule in run.rules or []:
        metrics[f"rule.{rule.id}"] = 1.0 if rule.status == "pass" else 0.0
        tags[f"qaharness.rule.{rule.id}"] = rule.status
    if run.ticket:
        tags["qaharness.ticket"] = run.ticket
    for name, info in run.inputs.items():
        if info.fingerprint:
            tags[f"qaharness.{name}_fingerprint"] = info.fingerprint
    if manifest.get("manifest_id"):
        tags["qaharness.manifest_id"] = str(manifest["manifest_id"])
    datasets = [_dataset(name, info) for name, info in run.inputs.items()]
    name = f"qaharness {kind}" + (f" {run.ticket}" if run.ticket else "")
    return Record(kind, params, metrics, tags, dict(files or {}), datasets, name)


def generation_record(
    manifest: Mapping[str, Any],
    *,
    synthetic: Path,
    real_source: str,
    files: Mapping[str, Path] | None = None,
    fit: Mapping[str, Any] | None = None,
) -> Record:
    """The params, tags, artifacts and datasets of ``qaharness generate`` (``manifest`` as written)."""
    params = {"qaharness.version": __version__, **_generator_params(manifest)}
    metrics = {
        f"generate.{k}": float(v)
        for k, v in (fit or {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    if manifest.get("n_rows") is not None:
        metrics["generate.synthetic_rows"] = float(manifest["n_rows"])
    tags = {"qaharness.kind": "generate"}
    if manifest.get("manifest_id"):
        tags["qaharness.manifest_id"] = str(manifest["manifest_id"])
    if manifest.get("source_fingerprint"):
        tags["qaharness.real_fingerprint"] = str(manifest["source_fingerprint"])
    if manifest.get("rows_fingerprint"):
        tags["qaharness.synthetic_fingerprint"] = str(manifest["rows_fingerprint"])
    datasets = [
        DatasetRef("training", real_source, manifest.get("source_fingerprint")),
        DatasetRef("synthetic", str(synthetic), manifest.get("rows_fingerprint"), rows=manifest.get("n_rows")),
    ]
    name = f"qaharness generate {manifest.get('generator', '')}".strip()
    return Record("generate", params, metrics, tags, dict(files or {}), datasets, name)


def _generator_params(manifest: Mapping[str, Any]) -> dict[str, str]:
    if not manifest.get("generator"):
        return {}
    out = {"qaharness.generator": str(manifest["generator"])}
    for key in ("generator_version", "config_hash", "seed"):
        if manifest.get(key) not in (None, ""):
            out[f"qaharness.generator.{key.removeprefix('generator_')}"] = str(manifest[key])
    dp = manifest.get("dp") or {}
    if dp:
        for key in ("epsilon", "delta", "accountant"):
            out[f"qaharness.dp.{key}"] = str(dp.get(key))
    else:
        out["qaharness.dp"] = "none"
    return out


def _dataset(name: str, info: InputInfo) -> DatasetRef:
    return DatasetRef(name, info.source, info.fingerprint, info.rows, info.columns, info.sha256)


# -- logging ------------------------------------------------------------------------------------
@contextmanager
def _mlflow_errors(option: str = "--mlflow") -> Iterator[None]:
    """MLflow's failures (bad URI, unknown run, refused store) as one-line bad input."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        first = (str(exc.message).strip().splitlines() or ["failed"])[0]
        raise BadInputError(f"MLflow: {first}", source=option) from None
    except OSError as exc:
        raise BadInputError(f"MLflow: {exc.strerror or exc}", source=option) from None


def _client(target: MlflowTarget) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    uri = None if target.tracking_uri in (None, "", DEFAULT_URI) else target.tracking_uri
    return MlflowClient(tracking_uri=uri)


def check_target(target: MlflowTarget) -> None:
    """Fail early (before any work) when MLflow is missing, the store can't be opened, or the
    existing run named by ``run_id`` doesn't exist."""
    require_mlflow()
    with _mlflow_errors():
        client = _client(target)
        if target.run_id is None:
            client.search_experiments(max_results=1)
    if target.run_id is not None:
        _existing_run(client, target)


def _existing_run(client: MlflowClient, target: MlflowTarget) -> str:
    assert target.run_id is not None
    with _mlflow_errors("--mlflow-run-id"):
        run = client.get_run(target.run_id)
    if target.experiment is not None:
        with _mlflow_errors("--mlflow-experiment"):
            experiment = client.get_experiment(run.info.experiment_id)
        if experiment.name != target.experiment:
            raise BadInputError(
                f"run {target.run_id} belongs to experiment {experiment.name!r}, not {target.experiment!r}",
                source="--mlflow-experiment",
            )
    return run.info.run_id


def log_record(target: MlflowTarget, record: Record) -> str:
    """Log ``record`` into a new run (or ``target.run_id``); returns the MLflow run id."""
    require_mlflow()
    with _mlflow_errors():
        client = _client(target)
        if target.run_id is not None:
            run_id, created = _existing_run(client, target), False
        else:
            experiment_id = _experiment_id(client, target.experiment)
            run_id, created = client.create_run(experiment_id, run_name=record.run_name).info.run_id, True
        try:
            _log_into(client, run_id, record)
        except BaseException:
            if created:  # a run qaharness opened is not left RUNNING when logging fails
                client.set_terminated(run_id, "FAILED")
            raise
        if created:
            client.set_terminated(run_id, "FINISHED")
    return run_id


def _log_into(client: MlflowClient, run_id: str, record: Record) -> None:
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in record.metrics.items()]
    params = [Param(k, v[:6000]) for k, v in record.params.items()]
    tags = [RunTag(k, v[:8000]) for k, v in record.tags.items()]
    for chunk in range(0, max(len(metrics), len(params), len(tags)), _BATCH):
        window = slice(chunk, chunk + _BATCH)
        client.log_batch(run_id, metrics=metrics[window], params=params[window], tags=tags[window])
    _log_datasets(client, run_id, record.datasets)
    for path in record.artifacts.values():
        client.log_artifact(run_id, str(path), artifact_path="qaharness")


def _experiment_id(client: MlflowClient, name: str | None) -> str:
    if name is None:
        from mlflow.tracking.default_experiment import DEFAULT_EXPERIMENT_ID

        return DEFAULT_EXPERIMENT_ID
    experiment = client.get_experiment_by_name(name)
    return experiment.experiment_id if experiment is not None else client.create_experiment(name)


def _log_datasets(client: MlflowClient, run_id: str, datasets: list[DatasetRef]) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    inputs = []
    for ref in datasets:
        path = Path(ref.source)
        is_file = not ref.source.startswith(("<", "duckdb:")) and path.exists()
        source_type, source = (
            ("local", {"uri": path.resolve().as_uri()})
            if is_file
            else ("code", {"tags": {"qaharness.source": ref.source}})
        )
        profile = {k: v for k, v in (("num_rows", ref.rows), ("num_columns", ref.columns)) if v is not None}
        dataset = Dataset(
            name=path.name if is_file else ref.context,
            digest=(ref.fingerprint or ref.sha256 or "unknown")[:_DIGEST],
            source_type=source_type,
            source=json.dumps(source),
            profile=json.dumps(profile) if profile else None,
        )
        tags = [InputTag("mlflow.data.context", ref.context)]
        tags += [
            InputTag(f"qaharness.{k}", str(v))
            for k, v in (("fingerprint", ref.fingerprint), ("sha256", ref.sha256))
            if v
        ]
        inputs.append(DatasetInput(dataset, tags))
    if inputs:
        client.log_inputs(run_id, datasets=inputs)


def log_run(
    run: Run, files: Mapping[str, Path] | None = None, *, target: MlflowTarget | None = None, kind: str = "gate"
) -> str:
    """Log an evaluate/gate ``run`` (and the files it wrote); returns the MLflow run id."""
    return log_record(target or MlflowTarget(), run_record(run, files, kind=kind))


def log_generation(
    target: MlflowTarget,
    manifest: Mapping[str, Any],
    *,
    synthetic: Path,
    real_source: str,
    fit: Mapping[str, Any] | None = None,
) -> str:
    """Log ``qaharness generate``: the manifest (and fit report) as JSON artifacts, never the rows."""
    with tempfile.TemporaryDirectory(prefix="qaharness-mlflow-") as folder:
        files = {}
        for name, data in (("manifest.json", manifest), ("fit_report.json", fit)):
            if data:
                files[name] = Path(folder) / name
                files[name].write_text(json.dumps(dict(data), indent=2, default=str) + "\n", encoding="utf-8")
        record = generation_record(manifest, synthetic=synthetic, real_source=real_source, files=files, fit=fit)
        return log_record(target, record)
