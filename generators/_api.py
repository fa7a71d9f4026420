"""Convenience entry points: build a generator by id, fit-and-sample in one call, write tagged output."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from qaharness.errors import GeneratorError

from ._base import FitReport, Generator, Progress, get_generator

__all__ = ["make_generator", "fit_and_sample", "generate_file", "manifest_for", "write_output"]


def make_generator(generator_id: str, **params: Any) -> Generator:
    """An unfitted generator by registry id; parameters are validated (GeneratorError names the bad one)."""
    return get_generator(generator_id)(**params)


def fit_and_sample(
    generator_id: str,
    train_frame: pd.DataFrame,
    n_rows: int,
    *,
    seed: int = 0,
    max_minutes: float | None = None,
    epochs: int | None = None,
    schema=None,
    declared: dict[str, dict[str, Any]] | None = None,
    progress: Progress | None = None,
    conditions: Mapping[str, Any] | None = None,
    **params: Any,
) -> tuple[pd.DataFrame, FitReport]:
    """Fit ``generator_id`` on ``train_frame`` and draw ``n_rows``; returns (synthetic frame, fit report).

    ``max_minutes`` bounds training (the epoch loop stops when it is spent); other keyword
    parameters go to the generator (``epsilon=``, ``device=``, ``batch_size=`` ...).
    Baselines take no epochs: ``epochs``/``max_minutes`` are ignored for them.
    """
    cls = get_generator(generator_id)
    if "epochs" in cls.Config.model_fields:
        params.update({k: v for k, v in (("epochs", epochs), ("max_minutes", max_minutes)) if v is not None})
    generator = cls(**params)
    report = generator.fit(train_frame, schema, seed=seed, declared=declared, progress=progress)
    return generator.sample(n_rows, seed=seed, conditions=conditions), report


def generate_file(
    generator_id: str,
    real: pd.DataFrame,
    n_rows: int,
    out: str | Path,
    *,
    seed: int = 0,
    max_minutes: float | None = None,
    epochs: int | None = None,
    tag_column: bool = True,
    **params: Any,
) -> tuple[Path, FitReport]:
    """Fit, sample and write ``out`` (.parquet/.csv) with its provenance manifest; returns (path, report).

    What ``qaharness generate`` does, for pipelines and the demo: rows carry the ``_qaharness_provenance``
    tag column unless ``tag_column=False``.
    """
    params.update({k: v for k, v in (("epochs", epochs), ("max_minutes", max_minutes)) if v is not None})
    generator = make_generator(generator_id, **params)
    report = generator.fit(real, seed=seed)
    frame = generator.sample(n_rows, seed=seed)
    return write_output(frame, out, manifest_for(generator, real, seed), column=tag_column), report


def manifest_for(generator: Generator, source: pd.DataFrame, seed: int) -> Any:
    """The provenance manifest of ``generator``'s output (``qaharness.provenance.make_manifest``)."""
    from qaharness.provenance import data_fingerprint, make_manifest

    report = generator.fit_report_
    if report is None:
        raise GeneratorError("no fit report: fit or load the generator first", generator=generator.id)
    dp = None
    if report.epsilon is not None:
        dp = {"epsilon": report.epsilon, "delta": report.delta or 0.0, "accountant": report.accountant}
        if report.noise_multiplier is not None and report.sample_rate is not None and report.dp_steps is not None:
            dp.update(  # what qaharness.budget needs to compose releases through an accountant
                mechanism="dp-sgd",
                noise_multiplier=report.noise_multiplier,
                sample_rate=report.sample_rate,
                steps=report.dp_steps,
                preprocessing_epsilon=report.preprocessing_epsilon or 0.0,
                preprocessing_delta=report.preprocessing_delta or 0.0,
            )
    config = {"id": generator.id, "version": str(generator.version), **generator.config_dict()}
    return make_manifest(
        generator=generator.id,
        generator_version=str(generator.version),
        config=config,
        source_fingerprint=data_fingerprint(source),
        seed=seed,
        dp=dp,
        preprocessing=report.preprocessing,
    )


def write_output(frame: pd.DataFrame, path: str | Path, manifest: Any, *, column: bool = False) -> Path:
    """Write ``frame`` with ``manifest`` (Parquet key-value metadata, or a CSV sidecar)."""
    from qaharness.provenance import write_tagged

    return write_tagged(frame, path, manifest, column=column)
