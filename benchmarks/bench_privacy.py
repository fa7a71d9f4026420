"""Privacy pillar vs anonymeter, side by side in one run.

qaharness: every privacy metric, 2,000 attacks per anonymeter-style evaluator, on 100,000
mixed-type rows (50k training, 25k holdout, 25k synthetic drawn independently of training).
anonymeter 1.x: its three evaluators, 500 attacks each, on the same frames (singling-out
multivariate, linkability on the same two column halves, inference on the same secret column).

    .venv/bin/python benchmarks/bench_privacy.py [--rows 100000] [--attacks 2000] [--anonymeter-attacks 500]
    .venv/bin/python benchmarks/bench_privacy.py --size-correction [--rows 8000] [--seeds 3]

``--size-correction``: singling-out on independent (null) data with training : holdout 1:1, 4:1
and 8:1 — anonymeter with the small holdout (its fitted size correction), anonymeter with a second
independent control as large as training (no correction needed), and qaharness with the small
holdout (its empirical-Bayes correction). Risks should be near 0 on null data.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import time
import warnings

import numpy as np
import pandas as pd

SECRET = "income"


def make_rows(n_rows: int, seed: int) -> pd.DataFrame:
    """Mixed-type census-like rows: 5 numeric, 6 categorical columns with dependence between them."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n_rows).astype(float)
    education = rng.choice([f"edu{i}" for i in range(16)], n_rows)
    hours = np.round(rng.normal(40, 12, n_rows).clip(1, 99))
    income = np.round(np.exp(rng.normal(10, 0.7, n_rows)) + 300 * age)
    job = rng.choice([f"job{i}" for i in range(14)], n_rows)
    sex = rng.choice(["F", "M"], n_rows)
    race = rng.choice(list("abcde"), n_rows, p=[0.6, 0.2, 0.1, 0.06, 0.04])
    score = np.round(rng.normal(0, 1, n_rows) + (hours - 40) / 12, 3)
    married = rng.choice(["yes", "no"], n_rows)
    region = rng.choice([f"r{i}" for i in range(40)], n_rows)
    tenure = np.round(np.clip(age - 18 - rng.exponential(8, n_rows), 0, None))
    return pd.DataFrame(
        {
            "age": age,
            "education": education,
            "hours": hours,
            SECRET: income,
            "job": job,
            "sex": sex,
            "race": race,
            "score": score,
            "married": married,
            "region": region,
            "tenure": tenure,
        }
    )


def run_qaharness(train, holdout, synthetic, attacks: int) -> tuple[float, dict, dict]:
    from qaharness.engine import run_metrics
    from qaharness.inputs import prepare_inputs
    from qaharness.metrics import metric_ids

    started = time.perf_counter()
    data = prepare_inputs(train, synthetic, holdout, sensitive=[SECRET])
    ids = [m for m in metric_ids() if m.startswith("privacy.")]
    params = {
        m: {"n_attacks": attacks}
        for m in ("privacy.singling_out", "privacy.linkability", "privacy.attribute_inference")
    }
    results, timings = run_metrics(data, ids, seed=0, params=params)
    total = time.perf_counter() - started
    return total, timings, {r.id: (r.value, r.ci, r.status.value) for r in results}


def run_anonymeter(train, holdout, synthetic, attacks: int) -> tuple[float, dict, dict]:
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    columns = list(train.columns)
    half = (len(columns) + 1) // 2
    timings, risks = {}, {}
    started = time.perf_counter()
    t = time.perf_counter()
    so = SinglingOutEvaluator(train, synthetic, n_attacks=attacks, control=holdout, seed=0).evaluate("multivariate")
    timings["singling_out"], risks["singling_out"] = time.perf_counter() - t, so.risk()
    t = time.perf_counter()
    li = LinkabilityEvaluator(
        train, synthetic, aux_cols=(columns[:half], columns[half:]), n_attacks=attacks, control=holdout
    ).evaluate(n_jobs=-1)
    timings["linkability"], risks["linkability"] = time.perf_counter() - t, li.risk()
    t = time.perf_counter()
    inf = InferenceEvaluator(
        train,
        synthetic,
        aux_cols=[c for c in columns if c != SECRET],
        secret=SECRET,
        regression=True,
        n_attacks=attacks,
        control=holdout,
    ).evaluate(n_jobs=-1)
    timings["inference"], risks["inference"] = time.perf_counter() - t, inf.risk()
    return time.perf_counter() - started, timings, risks


def size_correction(n_train: int, seeds: int, attacks: int) -> None:
    """Singling-out risk on null data at 1:1, 4:1, 8:1: anonymeter (small control), anonymeter (equal
    control), qaharness (small holdout, corrected)."""
    from anonymeter.evaluators import SinglingOutEvaluator

    from qaharness.engine import run_metric
    from qaharness.inputs import prepare_inputs
    from qaharness.metrics import get_metric

    print(f"singling-out on independent data, {n_train} training rows, {attacks} queries; risk (95% CI)")
    print(
        "| train : holdout | seed | anonymeter, small control | anonymeter, equal control | qaharness, small holdout |"
    )
    print("|---|---|---|---|---|")
    for ratio in (1, 4, 8):
        for seed in range(seeds):
            full = make_rows(3 * n_train + n_train // ratio, seed=100 + seed)
            train, oracle = full.iloc[:n_train], full.iloc[n_train : 2 * n_train]
            synthetic = full.iloc[2 * n_train : 3 * n_train]
            holdout = full.iloc[3 * n_train :]
            cells = []
            for control in (holdout, oracle):
                risk = SinglingOutEvaluator(train, synthetic, n_attacks=attacks, control=control, seed=seed).evaluate()
                r = risk.risk()
                cells.append(f"{r.value:.3f} ({r.ci[0]:.3f}–{r.ci[1]:.3f})")
            data = prepare_inputs(train.reset_index(drop=True), synthetic.reset_index(drop=True), holdout)
            ours = run_metric(get_metric("privacy.singling_out")(n_attacks=attacks), data, seed=seed)
            cells.append(f"{ours.value:.3f} ({ours.ci[0]:.3f}–{ours.ci[1]:.3f})")
            print(f"| {ratio}:1 | {seed} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--attacks", type=int, default=2_000)
    parser.add_argument("--anonymeter-attacks", type=int, default=500)
    parser.add_argument("--skip-anonymeter", action="store_true", help="time qaharness alone (e.g. at 1M rows)")
    parser.add_argument("--size-correction", action="store_true", help="singling-out size correction on null data")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per ratio with --size-correction")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    if args.size_correction:
        size_correction(args.rows if args.rows != 100_000 else 8_000, args.seeds, args.anonymeter_attacks)
        return
    full = make_rows(args.rows, seed=0)
    n_train, n_holdout = args.rows // 2, args.rows // 4
    train = full.iloc[:n_train].reset_index(drop=True)
    holdout = full.iloc[n_train : n_train + n_holdout].reset_index(drop=True)
    synthetic = full.iloc[n_train + n_holdout :].reset_index(drop=True)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"rows: {len(train)} train, {len(holdout)} holdout, {len(synthetic)} synthetic, {full.shape[1]} columns; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    # warm-up outside the timings: numba compiles (or loads its cache) once per process for both tools
    run_qaharness(train.iloc[:400], holdout.iloc[:400], synthetic.iloc[:400], 20)
    if not args.skip_anonymeter:
        run_anonymeter(train.iloc[:400], holdout.iloc[:400], synthetic.iloc[:400], 20)
    q_total, q_timings, q_values = run_qaharness(train, holdout, synthetic, args.attacks)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\nqaharness privacy pillar ({len(q_timings)} metrics, {args.attacks} attacks/evaluator): {q_total:.1f} s")
    for metric, seconds in q_timings.items():
        value, ci, status = q_values[metric]
        shown = f"{value:.3f} CI {ci[0]:.3f}–{ci[1]:.3f}" if value is not None and ci else f"{value}"
        print(f"  {metric:30s} {seconds:6.2f} s   {status} {shown}")
    print(f"peak resident memory of the process so far: {peak:.2f} GiB")
    if args.skip_anonymeter:
        return
    a_total, a_timings, a_risks = run_anonymeter(train, holdout, synthetic, args.anonymeter_attacks)
    print(f"anonymeter, three evaluators ({args.anonymeter_attacks} attacks each): {a_total:.1f} s")
    for name, seconds in a_timings.items():
        risk = a_risks[name]
        print(f"  {name:30s} {seconds:6.2f} s   risk {risk.value:.3f} CI {risk.ci[0]:.3f}–{risk.ci[1]:.3f}")
    print(f"\nratio qaharness / anonymeter: {q_total / a_total:.2f}x (target <= 0.25x)")
    ours = q_timings["privacy.linkability"] + q_timings["privacy.attribute_inference"]
    theirs = a_timings["linkability"] + a_timings["inference"]
    print(
        f"  singling-out alone: {q_timings['privacy.singling_out'] / a_timings['singling_out']:.2f}x; "
        f"linkability + inference alone: {ours / theirs:.2f}x"
    )
    print(
        f"load average at the end (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        "(the machine is shared; both tools slow down under load, anonymeter's polars queries most)"
    )


if __name__ == "__main__":
    main()
