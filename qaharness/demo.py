"""The end-to-end demo on the bundled Adult data: two generators, one policy, signed reports.

Split Adult into train and holdout → fit each demo generator on train (the neural ones bounded
to a time budget) and write its synthetic table with a provenance manifest → gate each against
the default policy (results.json, junit.xml, summary.md, HTML and signed PDF) → record in the
demo's run store, ready for the dashboard → one differentially private TVAE release, appended with
the gated ones to the store's privacy-budget ledger for the training table. The demo generators are
the statistical baseline ``gaussian_copula`` and the ``autoregressive`` model; whatever the gate
says of each is printed.
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
    from .budget import Composition
    from .generators import FitReport

__all__ = ["DemoResult", "DemoStep", "DemoRelease", "run_demo", "DEMO_GENERATORS"]

DEMO_GENERATORS = ("gaussian_copula", "autoregressive")
HOLDOUT_SHARE = 0.2
TICKET = "DEMO-1"
#: the DP example: a budget a data owner might grant one release; δ well below 1/n (n ≈ 39,000)
DP_EPSILON, DP_DELTA, DP_MAX_MINUTES = 3.0, 1e-6, 0.5
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
class DemoRelease:
    """The demo's differentially private release and the ledger of its real source afterwards."""

    synthetic: Path
    epsilon: float
    delta: float
    source_fingerprint: str
    composition: Composition


@dataclass
class DemoResult:
    out: Path
    store: Path
    files: dict[str, Path] = field(default_factory=dict)
    steps: list[DemoStep] = field(default_factory=list)
    dp: DemoRelease | None = None


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


def _dp_release(train, n_rows: int, path: Path, store: Path, *, seed: int, max_minutes: float, say: Say) -> DemoRelease:
    """TVAE under DP-SGD (ε = 3, δ = 1e-6, Adult's public domain declared so preprocessing costs nothing),
    written with its manifest and appended to the store's privacy-budget ledger, as ``qaharness
    generate`` does."""
    from importlib.resources import as_file, files

    from .budget import compose, ledger, record_release, release_from_manifest
    from .generators import make_generator
    from .generators._api import manifest_for, write_output
    from .provenance import read_manifest
    from .schema import load_schema_file
    from .store import RunStore

    minutes = min(max_minutes, DP_MAX_MINUTES)
    say(f"training tvae with differential privacy (ε = {DP_EPSILON:g}, at most {minutes:g} min) …")
    with as_file(files("qaharness") / "data" / "adult_domain.yaml") as domain_file:
        declared = load_schema_file(domain_file).domains
    model = make_generator("tvae", epsilon=DP_EPSILON, delta=DP_DELTA, max_minutes=minutes, device="cpu")
    report = model.fit(train, seed=seed, declared=declared)
    written = write_output(model.sample(n_rows, seed=seed), path, manifest_for(model, train, seed), column=True)
    manifest = read_manifest(written)
    assert manifest is not None  # write_output just sealed it into the file
    db = RunStore(store)
    release = release_from_manifest(manifest, origin="generate", tool="qaharness demo", synthetic=str(written))
    record_release(db, release, manifest)
    source = release.source_fingerprint
    return DemoRelease(
        written, float(report.epsilon or 0.0), float(report.delta or 0.0), source, compose(ledger(db, source))
    )


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
    dp: bool = True,
) -> DemoResult:
    """Run the whole job; returns what was written. ``say`` receives progress lines.

    ``rows`` draws that many Adult rows first (a quick look; default: all 48,842). With ``dp``, a
    differentially private TVAE release follows the gates and the training table's privacy-budget
    ledger (every release above, DP or not) is read back.
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
    if dp:
        synthetic = out / "synthetic-tvae-dp.parquet"
        result.dp = _dp_release(
            train, len(holdout), synthetic, result.store, seed=seed, max_minutes=max_minutes, say=say
        )
    return result
