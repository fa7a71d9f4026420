"""Benchmark: the utility pillar (5 metrics) vs a plain script doing the same XGBoost fits.

Data: UCI Adult resampled to 100,000 real rows; the "synthetic" table is another
100,000-row resample with jittered numerics and 5% of categorical cells swapped; the
holdout is 20% of Adult the resamples never drew from. Target: income (binary).

Plain script: pandas categories on the union of the three tables → XGBoost fit on real
and on synthetic (the same hyperparameters, rounds and threads as qaharness) → predict
the holdout with both and the synthetic table with the real model → three ROC-AUCs.
qaharness: the engine's ``run_metrics(data, utility ids)`` on the prepared inputs (trtr,
tstr, tstr_ratio, trts, feature_importance_corr, with the linear models, bootstrap
intervals, permutation importances and the leakage check on top). Reading and
validating the tables is left out of both sides.

Runs alternate (plain, qaharness) ``--repeats`` times; the best wall time of each is
compared, and the process CPU time beside it (steadier on a shared machine).
Usage: python benchmarks/bench_utility.py [--rows 100000] [--repeats 2] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from qaharness.datasets import ADULT_TARGET, load_adult, split_holdout
from qaharness.engine import run_metrics, select_metrics
from qaharness.inputs import prepare_inputs
from qaharness.metrics._utility import N_JOBS, XGB_PARAMS, XGB_ROUNDS


def make_tables(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    train, holdout = split_holdout(load_adult(), 0.2, rng)
    real = train.iloc[rng.integers(0, len(train), rows)].reset_index(drop=True)
    synthetic = train.iloc[rng.integers(0, len(train), rows)].reset_index(drop=True)
    for column in synthetic.columns:
        if column == ADULT_TARGET:
            continue
        if pd.api.types.is_numeric_dtype(synthetic[column]):
            noise = rng.normal(0, 0.05 * synthetic[column].std(), rows)
            synthetic[column] = (synthetic[column] + noise).round()
        else:
            swap = rng.random(rows) < 0.05
            synthetic.loc[swap, column] = rng.choice(synthetic[column].dropna().to_numpy(), int(swap.sum()))
    return real, synthetic, holdout


def plain_script(
    real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, n_jobs: int = N_JOBS
) -> dict[str, float]:
    """What a careful data scientist would write by hand: the same three XGBoost questions."""
    features = [c for c in real.columns if c != ADULT_TARGET]
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(real[c])]
    union = {c: pd.concat([real[c], synthetic[c], holdout[c]]).dropna().unique() for c in categorical}

    def encode(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        x = frame[features].copy()
        for c in categorical:
            x[c] = pd.Categorical(x[c], categories=union[c])
        return x, (frame[ADULT_TARGET] == ">50K").to_numpy()

    (xr, yr), (xs, ys), (xh, yh) = encode(real), encode(synthetic), encode(holdout)
    params = {**XGB_PARAMS, "objective": "binary:logistic", "nthread": n_jobs, "seed": 0}

    def fit(x, y):
        return xgb.train(params, xgb.DMatrix(x, label=y, enable_categorical=True, nthread=n_jobs), XGB_ROUNDS)

    on_real, on_synthetic = fit(xr, yr), fit(xs, ys)
    dh, ds = xgb.DMatrix(xh, enable_categorical=True), xgb.DMatrix(xs, enable_categorical=True)
    trtr = roc_auc_score(yh, on_real.predict(dh))
    tstr = roc_auc_score(yh, on_synthetic.predict(dh))
    return {"trtr": trtr, "tstr": tstr, "tstr_ratio": tstr / trtr, "trts": roc_auc_score(ys, on_real.predict(ds))}


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--n-jobs", type=int, default=N_JOBS)
    args = parser.parse_args()
    real, synthetic, holdout = make_tables(args.rows)
    data = prepare_inputs(real, synthetic, holdout, target=ADULT_TARGET)
    ids = select_metrics(["utility"])
    params = {i: {"n_jobs": args.n_jobs} for i in ids}
    print(
        f"real {len(real):,} · synthetic {len(synthetic):,} · holdout {len(holdout):,} rows; "
        f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; xgboost {xgb.__version__}; "
        f"n_jobs {args.n_jobs}; {XGB_ROUNDS} rounds"
    )
    plain_times, ours_times = [], []
    for _ in range(args.repeats):
        plain, wall, cpu = _timed(lambda: plain_script(real, synthetic, holdout, args.n_jobs))
        plain_times.append((wall, cpu))
        (results, timings), wall, cpu = _timed(lambda: run_metrics(data, ids, seed=0, params=params))
        ours_times.append((wall, cpu))
    print("plain script :", {k: round(v, 4) for k, v in plain.items()})
    print("qaharness    :", {r.id: round(r.value, 4) if r.ok else r.status.value for r in results})
    print("per metric s :", timings)
    (plain_wall, plain_cpu), (ours_wall, ours_cpu) = min(plain_times), min(ours_times)
    for name, runs in (("plain script", plain_times), ("qaharness", ours_times)):
        wall, cpu = min(runs)
        print(f"{name:12s} : {wall:6.1f} s wall, {cpu:6.1f} s CPU  (runs: {', '.join(f'{w:.1f}' for w, _ in runs)})")
    print(
        f"ratio qaharness / plain: {ours_wall / plain_wall:.2f}x wall, {ours_cpu / plain_cpu:.2f}x CPU "
        "(target <= 1.20x)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
