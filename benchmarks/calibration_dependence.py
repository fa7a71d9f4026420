"""The ``dependence`` rule (``fidelity.corr_diff <= 2 * baseline``) alone on the calibration grid's cases.

The same cases as ``benchmarks/calibration.py`` (``qaharness.testing.cases.build``, the same seeds), but
only ``fidelity.corr_diff`` with its holdout baseline through ``run_metrics`` — seconds per case instead
of a whole gate. Writes one CSV row per case (value, baseline, ratio, pass, worst pair) and prints per
(table, shape, case) the pass rate and the largest value / baseline ratio.

    nice -n 10 .venv/bin/python benchmarks/calibration_dependence.py --out /tmp/dependence.csv \
        --tables adult,missing,ids,discrete --shapes 4:1-2k,1:1-300,8:1-2k \
        --cases honest,independent,collapse --seeds 0-4
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from threadpoolctl import threadpool_limits

from qaharness.engine import run_metrics
from qaharness.inputs import prepare_inputs
from qaharness.testing import cases

RULE_FACTOR = 2.0  # the bundled policies' threshold: 2 * baseline
HEADER = ["table", "shape", "case", "seed", "value", "baseline", "ratio", "passed", "worst_pair"]


def seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",")]


def run(args: argparse.Namespace) -> list[dict]:
    rows = []
    for table, shape, case_name in cases.grid(args.tables.split(","), args.shapes.split(","), args.cases.split(",")):
        for seed in seeds(args.seeds):
            case = cases.build(table, shape, case_name, seed)
            data = prepare_inputs(case.real, case.synthetic, case.holdout, target=case.target)
            with threadpool_limits(1):
                (result,), _ = run_metrics(data, ["fidelity.corr_diff"], seed=seed)
            value, baseline = result.value, result.baseline
            ratio = value / baseline if value is not None and baseline else float("nan")
            worst = result.details.get("worst_pairs", [{}])[0].get("columns", []) if result.details else []
            rows.append(
                dict(zip(HEADER, [table, shape, case_name, seed, value, baseline, ratio,
                                  value is not None and baseline is not None and value <= RULE_FACTOR * baseline,
                                  " x ".join(worst)]))
            )  # fmt: skip
            print(f"{table} {shape} {case_name} {seed}: {value:.4f} vs 2x{baseline:.4f} ratio {ratio:.2f}", flush=True)
    return rows


def summarise(rows: list[dict]) -> None:
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["table"], row["shape"], row["case"]), []).append(row)
    print("\n| table | shape | case | passed | ratio max (value / baseline) |\n|---|---|---|---|---|")
    for (table, shape, case_name), mine in groups.items():
        passed = sum(bool(r["passed"]) for r in mine)
        print(f"| {table} | {shape} | {case_name} | {passed}/{len(mine)} | {max(r['ratio'] for r in mine):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--tables", default="adult,missing,ids,discrete")
    parser.add_argument("--shapes", default="4:1-2k,1:1-300,8:1-2k")
    parser.add_argument("--cases", default="honest,independent,collapse")
    parser.add_argument("--seeds", default="0-4")
    args = parser.parse_args()
    rows = run(args)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    summarise(rows)


if __name__ == "__main__":
    main()
