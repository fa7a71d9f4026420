"""The MLflow options shared by ``gate``, ``evaluate`` and ``generate`` (``qaharness.integrations.mlflow``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..errors import BadInputError
from ..integrations.mlflow import DEFAULT_URI, MlflowTarget, check_target
from ._app import console

__all__ = ["MLFLOW", "MLFLOW_EXPERIMENT", "MLFLOW_RUN_ID", "mlflow_target", "print_logged", "log_generate"]

MLFLOW = typer.Option(
    None,
    "--mlflow",
    metavar="[TRACKING_URI]",
    help="Log to MLflow: a tracking URI, or nothing (or 'default') for MLflow's default "
    "($MLFLOW_TRACKING_URI, else ./mlflow.db with artifacts in ./mlruns). Needs qaharness[mlflow].",
)
MLFLOW_EXPERIMENT = typer.Option(None, "--mlflow-experiment", help="MLflow experiment name (created if new).")
MLFLOW_RUN_ID = typer.Option(None, "--mlflow-run-id", help="Log into this existing MLflow run instead of a new one.")


def mlflow_target(uri: str | None, experiment: str | None, run_id: str | None) -> MlflowTarget | None:
    """The target, checked before any work (MLflow installed, store reachable, run exists); None without --mlflow."""
    if uri is None:
        for option, value in (("--mlflow-experiment", experiment), ("--mlflow-run-id", run_id)):
            if value is not None:
                raise BadInputError("needs --mlflow (add --mlflow, optionally with a tracking URI)", source=option)
        return None
    target = MlflowTarget(tracking_uri=None if uri == DEFAULT_URI else uri, experiment=experiment, run_id=run_id)
    check_target(target)
    return target


def print_logged(target: MlflowTarget, run_id: str) -> None:
    where = target.tracking_uri or "MLflow's default tracking URI"
    console.print(f"logged to MLflow run {run_id} ({where})")


def log_generate(target: MlflowTarget, report: Any, path: Path, real_source: str) -> None:
    """Log ``qaharness generate``: the manifest written into ``path`` and the fit report."""
    from ..integrations.mlflow import log_generation
    from ..provenance import read_manifest

    manifest = read_manifest(path)
    fit = report.model_dump(mode="json", exclude={"losses"})
    record = manifest.model_dump(mode="json") if manifest is not None else {}
    print_logged(target, log_generation(target, record, synthetic=path, real_source=real_source, fit=fit))
