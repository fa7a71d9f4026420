"""Fidelity pillar: qaharness vs SDMetrics' QualityReport, side by side in one run; then the 1M-row scale check.

    python benchmarks/bench_fidelity.py [--rows 100000] [--scale-rows 1000000] [--skip-scale]

Prints times, the ratio qaharness / SDMetrics, and for the scale run wall time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _tables import mixed_table

import qaharness


def sdmetrics_quality(real, synthetic) -> float:
    from sdmetrics.reports.single_table import QualityReport

    sdtypes = {"num": "numerical", "cat": "categorical", "boo": "boolean", "dat": "datetime"}
    metadata = {"columns": {c: {"sdtype": sdtypes[c[:3]]} for c in real.columns}}
    report = QualityReport()
    report.generate(real, synthetic, metadata, verbose=False)
    return report.get_score()


def compare(rows: int, columns: int) -> dict:
    real, synthetic = mixed_table(rows, columns, 1), mixed_table(rows, columns, 2)
    started = time.perf_counter()
    run = qaharness.evaluate(real, synthetic, metrics=["fidelity"], seed=0)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    score = sdmetrics_quality(real, synthetic)
    theirs = time.perf_counter() - started
    return {
        "rows": rows,
        "columns": columns,
        "qaharness_s": round(ours, 2),
        "sdmetrics_s": round(theirs, 2),
        "ratio": round(ours / theirs, 3),
        "qaharness_metrics": len(run.metrics),
        "sdmetrics_quality_score": round(score, 4),
    }


def scale_child(rows: int, columns: int) -> None:
    """Runs in a fresh process so its peak RSS is the evaluation's own."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for seed, name in ((1, "real"), (2, "synthetic")):
            path = Path(tmp) / f"{name}.parquet"
            mixed_table(rows, columns, seed).to_parquet(path, index=False)
            paths.append(path)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        run = qaharness.evaluate(paths[0], paths[1], metrics=["fidelity"], seed=0)
        elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": rows,
                "columns": columns,
                "seconds": round(elapsed, 1),
                "peak_rss_gb": round(peak_kb / 1024**2, 2),
                "rss_before_gb": round(base / 1024**2, 2),
                "timings": run.timings,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=16)
    parser.add_argument("--scale-rows", type=int, default=1_000_000)
    parser.add_argument("--scale-columns", type=int, default=30)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scale_child(args.scale_rows, args.scale_columns)
        return
    print(f"machine: {os.cpu_count()} cores")
    result = compare(args.rows, args.columns)
    print(
        f"fidelity on {result['rows']:,} rows × {result['columns']} columns: qaharness {result['qaharness_s']} s "
        f"({result['qaharness_metrics']} metrics), SDMetrics QualityReport {result['sdmetrics_s']} s → "
        f"ratio {result['ratio']} (target ≤ 1.0)"
    )
    if not args.skip_scale:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--scale-rows",
                str(args.scale_rows),
                "--scale-columns",
                str(args.scale_columns),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        scale = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"scale: {scale['rows']:,} rows × {scale['columns']} columns in {scale['seconds']} s "
            f"(target < 60 s), peak RSS {scale['peak_rss_gb']} GB (target < 4 GB)"
        )
        print("per metric:", json.dumps(scale["timings"]))


if __name__ == "__main__":
    main()
