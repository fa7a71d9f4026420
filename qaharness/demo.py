"""The end-to-end demo on the bundled Adult data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .api import evaluate
from .datasets import ADULT_TARGET, load_adult, split_holdout
from .engine import Progress
from .results import Run
from .store import RunStore

__all__ = ["DemoResult", "run_demo"]


@dataclass
class DemoResult:
    out: Path
    store: Path
    runs: dict[str, Run] = field(default_factory=dict)
    run_ids: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def _independent_marginals(train: pd.DataFrame, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Each column resampled on its own: a privacy-max, utility-min baseline."""
    return pd.DataFrame({c: train[c].to_numpy()[rng.integers(0, len(train), n_rows)] for c in train.columns})


def run_demo(out: Path, *, seed: int = 0, progress: Progress | None = None) -> DemoResult:
    """Split Adult into train/holdout, synthesise, evaluate, record. Returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    train, holdout = split_holdout(load_adult(), 0.3, rng)
    synthetic = _independent_marginals(train, len(holdout), rng)
    result = DemoResult(out=out, store=out / "runs.duckdb")
    for name, frame in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        path = out / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        result.files[name] = path
    run = evaluate(result.files["train"], result.files["synthetic"], result.files["holdout"],
                   target=ADULT_TARGET, seed=seed, progress=progress, command=["qaharness", "demo"])
    run_dir = out / "independent"
    path = run.write(run_dir)
    result.runs["independent"] = run
    result.run_ids["independent"] = RunStore(result.store).record_run(
        run, kind="evaluate", out_dir=run_dir, artifacts={"results.json": path})
    return result
