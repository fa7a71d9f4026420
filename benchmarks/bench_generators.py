"""Generators on Adult: training and sampling rows/s, and the utility each keeps (TSTR ratio).

Run:  .venv/bin/python benchmarks/bench_generators.py [--max-minutes 2] [--rows 100000]
      [--generators independent,gaussian_copula,tvae,ctgan] [--device cpu] [--epsilon E] [--json out.json]

For every generator: fit on 80 % of Adult (39,074 rows; neural ones bounded by
--max-minutes), time sampling --rows rows, then ``qaharness.api.evaluate(train, synthetic,
holdout, target="income", metrics=["utility.tstr_ratio"])`` on a 20,000-row sample.
Side by side: our ``gaussian_copula`` against the ``copulas`` package's GaussianMultivariate
(the SDV project's copula library, installed here) on Adult's six numeric columns,
fit on 1,000 rows + a 2,000-row sample (its per-column model selection and KDE inversion are too slow for
more on 2 cores), in the same run; the ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np

from qaharness.api import evaluate
from qaharness.datasets import ADULT_TARGET, load_adult, split_holdout
from qaharness.generators import make_generator

COPULAS_ROWS, COPULAS_SAMPLE = 1_000, 2_000
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def bench_generator(
    gid: str, train, holdout, *, rows: int, max_minutes: float, device: str, seed: int, epsilon: float | None = None
) -> dict:
    cls_params = make_generator(gid).Config.model_fields
    params = {"device": device} if "device" in cls_params else {}
    if "epochs" in cls_params and gid in ("tvae", "ctgan"):
        params.update(max_minutes=max_minutes)
    if epsilon is not None:
        params.update(epsilon=epsilon, delta=1e-6)
    generator = make_generator(gid, **params)
    started = time.perf_counter()
    report = generator.fit(train, seed=seed)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = generator.sample(rows, seed=seed)
    sample_s = time.perf_counter() - started
    n_eval = min(20_000, rows)
    run = evaluate(
        train, synthetic.iloc[:n_eval], holdout, target=ADULT_TARGET, metrics=["utility.tstr_ratio"], seed=seed
    )
    result = next(m for m in run.metrics if m.id == "utility.tstr_ratio")
    passes = max(report.epochs, 1)
    return {
        "generator": gid + (f" (ε={epsilon:g})" if epsilon else ""),
        "device": report.device,
        "epsilon_spent": report.epsilon,
        "preprocessing": report.preprocessing,
        "fit_s": round(fit_s, 2),
        "epochs": report.epochs,
        "stopped": report.stopped,
        "train_rows_per_s": round(len(train) * passes / fit_s),
        "sample_rows": rows,
        "sample_s": round(sample_s, 2),
        "sample_rows_per_s": round(rows / sample_s),
        "tstr_ratio": None if result.value is None else round(result.value, 3),
        "tstr_ratio_ci": result.ci,
        "tstr_status": result.status.value,
        "tstr_message": result.message,
        "target_share": synthetic[ADULT_TARGET].value_counts(normalize=True).round(3).to_dict(),
    }


def bench_copulas(train, *, rows: int, seed: int) -> dict:
    """Ours vs copulas.GaussianMultivariate on the numeric columns: fit + sample seconds."""
    from copulas.multivariate import GaussianMultivariate

    frame = train[NUMERIC].astype(float).iloc[:COPULAS_ROWS]  # copulas' per-column model selection is slow
    started = time.perf_counter()
    ours = make_generator("gaussian_copula")
    ours.fit(frame, seed=seed)
    ours.sample(COPULAS_SAMPLE, seed=seed)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMultivariate()
        model.fit(frame)
        model.sample(COPULAS_SAMPLE)
    theirs_s = time.perf_counter() - started
    return {"ours_s": round(ours_s, 2), "copulas_s": round(theirs_s, 2), "speedup": round(theirs_s / ours_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-minutes", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--generators", default="independent,gaussian_copula,tvae,ctgan")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--skip-copulas", action="store_true")
    parser.add_argument("--epsilon", type=float, default=None, help="train the DP-capable ones with this ε (δ 1e-6)")
    args = parser.parse_args()
    train, holdout = split_holdout(load_adult(), 0.2, np.random.default_rng(args.seed))
    import torch

    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    print(f"machine: {machine}; train {len(train)} rows, holdout {len(holdout)} rows")
    results = []
    for gid in args.generators.split(","):
        row = bench_generator(
            gid,
            train,
            holdout,
            rows=args.rows,
            max_minutes=args.max_minutes,
            device=args.device,
            seed=args.seed,
            epsilon=args.epsilon,
        )
        results.append(row)
        print(json.dumps(row), flush=True)
    print(
        f"\n{'generator':18} {'device':6} {'fit s':>7} {'epochs':>6} {'train rows/s':>12} "
        f"{'sample s':>8} {'sample rows/s':>13} {'tstr_ratio':>10}"
    )
    for r in results:
        print(
            f"{r['generator']:18} {r['device']:6} {r['fit_s']:7.1f} {r['epochs']:6d} {r['train_rows_per_s']:12,d} "
            f"{r['sample_s']:8.2f} {r['sample_rows_per_s']:13,d} {r['tstr_ratio']!s:>10}"
        )
    copulas = None if args.skip_copulas else bench_copulas(train, rows=args.rows, seed=args.seed)
    if copulas:
        print(
            f"\ngaussian_copula vs copulas.GaussianMultivariate (6 numeric columns, fit on {COPULAS_ROWS:,} rows "
            f"+ sample {COPULAS_SAMPLE:,}): "
            f"{copulas['ours_s']} s vs {copulas['copulas_s']} s → {copulas['speedup']}× faster"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": machine, "results": results, "copulas": copulas}, fh, indent=1)


if __name__ == "__main__":
    main()
