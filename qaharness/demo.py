"""The end-to-end demo on the bundled Adult data: two generators, one policy, signed reports.

Split Adult into train and holdout → fit each demo generator on train (the neural ones bounded
to a time budget) and write its synthetic table with a provenance manifest → gate each against
the default policy (results.json, junit.xml, summary.md, HTML and signed PDF) → record in the
demo's run store, ready for the dashboard. The demo generators are the statistical baseline
``gaussian_copula`` and the ``autoregressive`` model; whatever the gate says of each is printed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .datasets import ADULT_TARGET, load_adult, split_holdout
from .gate import GateResult, run_gate

if TYPE_CHECKING:
    from .generators import FitReport

__all__ = ["DemoResult", "DemoStep", "run_demo", "DEMO_GENERATORS"]

DEMO_GENERATORS = ("gaussian_copula", "autoregressive")
HOLDOUT_SHARE = 0.2
TICKET = "DEMO-1"
Say = Callable[[str], None]


def _say_metric(say: Callable[[str], None], generator_id: str, metric_id: str) -> None:
    say(f"{generator_id}: computing {metric_id} …")


@dataclass
class DemoStep:
    generator: str
    synthetic: Path
    fit_seconds: float
    epochs: int | None
    fit_summary: str
    gate: GateResult


@dataclass
class DemoResult:
    out: Path
    store: Path
    files: dict[str, Path] = field(default_factory=dict)
    steps: list[DemoStep] = field(default_factory=list)


def _synthesise(
    generator_id: str, train, n_rows: int, path: Path, *, seed: int, max_minutes: float, say: Say
) -> tuple[Path, FitReport, bool]:
    """Fit and write one synthetic table; returns (path, fit report, whether it trains in epochs)."""
    from .generators import generate_file, get_generator

    neural = "epochs" in get_generator(generator_id).Config.model_fields
    say(f"training {generator_id}" + (f" (at most {max_minutes:g} min) …" if neural else " …"))
    path, report = generate_file(
        generator_id, train, n_rows, path, seed=seed, tag_column=True, max_minutes=max_minutes if neural else None
    )
    return path, report, neural


def run_demo(
    out: Path,
    *,
    seed: int = 0,
    generators: Sequence[str] = DEMO_GENERATORS,
    max_minutes: float = 3.0,
    report: Sequence[str] = ("html", "pdf"),
    sign: bool = True,
    policy: str = "default",
    rows: int | None = None,
    say: Say | None = None,
) -> DemoResult:
    """Run the whole job; returns what was written. ``say`` receives progress lines.

    ``rows`` draws that many Adult rows first (a quick look; default: all 48,842).
    """
    say = say or (lambda text: None)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    adult = load_adult()
    if rows is not None and rows < len(adult):
        adult = adult.iloc[np.sort(rng.choice(len(adult), rows, replace=False))].reset_index(drop=True)
    train, holdout = split_holdout(adult, HOLDOUT_SHARE, rng)
    result = DemoResult(out=out, store=out / "runs.duckdb")
    for name, frame in (("train", train), ("holdout", holdout)):
        result.files[name] = out / f"{name}.parquet"
        frame.to_parquet(result.files[name], index=False)
    if sign:
        from .reports.sign import ensure_keys

        ensure_keys()
    for generator_id in generators:
        path, fitted, neural = _synthesise(
            generator_id,
            train,
            len(holdout),
            out / f"synthetic-{generator_id}.parquet",
            seed=seed,
            max_minutes=max_minutes,
            say=say,
        )
        say(f"gating {generator_id} against the {policy} policy …")
        gate = run_gate(
            result.files["train"],
            path,
            result.files["holdout"],
            out=out / generator_id,
            target=ADULT_TARGET,
            seed=seed,
            store=result.store,
            ticket=TICKET,
            policy=policy,
            progress=functools.partial(_say_metric, say, generator_id),
            command=["qaharness", "demo"],
            report=report,
            sign=sign,
            overwrite=True,  # the demo's own folder: a rerun replaces the earlier demo's files
        )
        epochs = fitted.epochs if neural else None
        result.steps.append(DemoStep(generator_id, path, float(fitted.seconds), epochs, fitted.summary(), gate))
    return result
