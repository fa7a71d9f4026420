"""Baselines from row draws against marginal draws (and capped row draws for corr_diff).

    .venv/bin/python benchmarks/bench_baseline_draws.py --case adult-2k --seeds 40
    .venv/bin/python benchmarks/bench_baseline_draws.py --case bench-1m --seeds 5 --data /tmp/qaharness-bench-spark
        [--metrics fidelity.corr_diff]

Above ``_draws.ROW_DRAW_MAX`` synthetic rows the per-column metrics' baseline draws are marginal
draws (each column's counts drawn from the holdout's, exact per column, the dependence between
columns lost) and corr_diff's are ``ROW_DRAW_MAX``-row draws rescaled root-n. This measures what
that does to the baseline, with the pandas engine, on the same inputs and seeds both ways: for
each metric the baseline (the 0.9 quantile of its draws, worst column) per seed, and the pooled
draws. ``adult-2k``: 2,000 real, 500 holdout and 2,000 synthetic rows of UCI Adult (the calibration
shape 4:1-2k; marginals forced by lowering the cap to one row). ``bench-1m``: the 1M-row tables of
``bench_spark.py`` (real and synthetic 1M, holdout 250k) at the default cap.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

MARGINAL = ["fidelity.ks", "fidelity.js", "fidelity.wasserstein", "fidelity.coverage", "fidelity.missingness"]


def _inputs(case: str, data: Path):
    from qaharness.inputs import prepare_inputs

    if case == "adult-2k":
        from qaharness.testing.tables import TABLES

        rows = TABLES["adult"].draw(4500, np.random.default_rng(7))
        real, holdout, synthetic = rows.iloc[:2000], rows.iloc[2000:2500], rows.iloc[2500:]
        return prepare_inputs(real, synthetic, holdout, target=TABLES["adult"].target), MARGINAL, 1
    paths = [data / f"{name}-1000000x20.parquet" for name in ("real", "synthetic", "holdout")]
    return prepare_inputs(*[str(p) for p in paths], target="bool_2"), [*MARGINAL, "fidelity.corr_diff"], None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=["adult-2k", "bench-1m"], required=True)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path("/tmp/qaharness-bench-spark"))
    parser.add_argument("--metrics", help="comma-separated metric ids: only these of the case's metrics")
    args = parser.parse_args()
    import qaharness.engine as engine

    data, metrics, cap = _inputs(args.case, args.data)
    if args.metrics:
        unknown = sorted(set(args.metrics.split(",")) - set(metrics))
        if unknown:
            parser.error(f"--metrics: not measured by --case {args.case}: {', '.join(unknown)}")
        metrics = [m for m in metrics if m in args.metrics.split(",")]
    default_cap = engine.ROW_DRAW_MAX
    out: dict[str, dict[str, list]] = {}
    for method, limit in (("rows", 10**12), ("drawn", cap or default_cap)):
        engine.ROW_DRAW_MAX = limit
        started = time.perf_counter()
        for seed in range(args.seeds):
            for metric in metrics:  # one metric per run: the draws' frames go with it
                (result,), _ = engine.run_metrics(data, [metric], seed=seed)
                entry = out.setdefault(metric, {}).setdefault(method, [])
                entry.append((result.baseline, result.details.get("baseline_draws"), result.details["baseline_method"]))
        print(f"{method}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(f"| metric | row draws: mean ± sd | drawn ({args.case}): method, mean ± sd | ratio | pooled, rows / drawn |")
    print("|---|---:|---:|---:|---:|")
    from qaharness.metrics import metric_registry
    from qaharness.results import Goal

    for metric, methods in out.items():
        q = engine.BASELINE_QUANTILE
        q = q if metric_registry.get(metric).goal is Goal.MINIMIZE else 1 - q
        rows, drawn = (np.array([b for b, _, _ in methods[m]], dtype=float) for m in ("rows", "drawn"))
        pooled = [float(np.quantile([v for _, d, _ in methods[m] for v in d], q)) for m in ("rows", "drawn")]
        print(
            f"| {metric} | {rows.mean():.5f} ± {rows.std(ddof=1):.5f} | {methods['drawn'][0][2]}: "
            f"{drawn.mean():.5f} ± {drawn.std(ddof=1):.5f} | {drawn.mean() / rows.mean():.3f} | "
            f"{pooled[0]:.5f} / {pooled[1]:.5f} |"
        )
    print(json.dumps({m: {k: [b for b, _, _ in v] for k, v in d.items()} for m, d in out.items()}))


if __name__ == "__main__":
    main()
