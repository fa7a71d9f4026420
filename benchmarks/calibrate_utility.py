"""Calibration of the utility rules' minimum sizes by power (issue 11; long; not a test).

    nice -n 10 python benchmarks/calibrate_utility.py --out utility.csv [--tables ...] [--synthetic 100 150 ...]
        [--holdouts 300 2000] [--cases ...] [--honest-seeds 10] [--defect-seeds 4] [--metrics ...] [--workers 2]
    python benchmarks/calibrate_utility.py --report utility.csv [more.csv ...]

For each calibration table (``qaharness.testing.tables``: adult, wide, discrete, missing, ids) and seed it
draws 2,000 training rows, a 2,000-row holdout block and a 2,000-row unseen block once; a shape takes the
first ``h`` holdout rows and the first ``s`` unseen rows, so the sizes are nested and paired (a smaller
synthetic table is a subset of a larger one). Cases are the grid's own (``qaharness.testing.cases.CASES``):
``honest`` (unseen real rows) and the utility defects ``shuffled-target``, ``independent`` and
``weak-signal``. The utility metrics run through the engine (``run_metrics`` on ``prepare_inputs``, one
OpenMP thread, the run's seed = the case's seed, as the calibration grid's gates use) and one CSV row per
metric is written: status, value, interval, whether the metric refused to decide
(``details.insufficient_evidence``). Resumable: rows already in the CSV are not run again.

``--report`` judges every utility rule of the bundled policies on the CSV *without* its ``min_rows``, per
synthetic size: the share of honest seeds the rule passes, and the share of defect seeds it catches
(fails, or cannot decide: a skipped metric makes the rule ``insufficient``, a failure of its severity).
The smallest size by power is the smallest synthetic size from which on (every larger size of the grid
too) honest data pass in ≥ 95 % of seeds and every defect seed is caught.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import operator
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qaharness.engine import run_metrics
from qaharness.inputs import prepare_inputs
from qaharness.policy import load_policy
from qaharness.testing import cases as grid_cases
from qaharness.testing.tables import TABLES, stable_key

N_TRAIN = 2_000
BLOCK = 2_000
SYNTHETIC = [100, 150, 200, 300, 500, 1_000, 2_000]
HOLDOUTS = [300, 2_000]
DEFECTS = ["shuffled-target", "independent", "weak-signal"]
METRICS = ["utility.tstr_ratio"]
POLICIES = ("default", "ml-training", "external-sharing")
#: honest data must pass a rule in at least this share of seeds at a size the rule judges
HONEST_PASS = 0.95
FIELDS = [
    "table",
    "n_train",
    "n_holdout",
    "n_synthetic",
    "case",
    "seed",
    "metric",
    "status",
    "insufficient",
    "value",
    "ci_low",
    "ci_high",
    "trtr",
    "tstr",
    "chance",
    "seconds",
    "message",
]
KEY = ("table", "n_holdout", "n_synthetic", "case", "seed", "metric")


def frames(table: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(training, holdout block, unseen block) of one table and seed; disjoint real rows."""
    spec = TABLES[table]
    population = spec.draw(N_TRAIN + 2 * BLOCK, np.random.default_rng(stable_key(seed, table, "calibrate-utility")))
    cut = itertools.pairwise([0, N_TRAIN, N_TRAIN + BLOCK, N_TRAIN + 2 * BLOCK])
    train, holdout, unseen = (population.iloc[a:b].reset_index(drop=True) for a, b in cut)
    return train, holdout, unseen


def case_frames(
    table: str, seed: int, n_holdout: int, n_synthetic: int, case: str, base: tuple[pd.DataFrame, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(training, synthetic, holdout) of one case at one size, made by the grid's own case builder."""
    train, holdout, unseen = base
    spec = TABLES[table]
    rng = np.random.default_rng(stable_key(seed, table, f"calibrate-utility-{n_holdout}-{n_synthetic}", case))
    # the grid's builders take these parts (cases.build only knows its named shapes)
    parts = grid_cases._Parts(
        train.copy(), holdout.iloc[:n_holdout].reset_index(drop=True), unseen.iloc[:n_synthetic].copy(), spec, rng
    )
    synthetic = grid_cases.CASES[case].make(parts)
    return parts.train, synthetic, parts.holdout  # weak-signal replaces training and holdout


def jobs(args: argparse.Namespace, done: set[tuple[str, ...]]) -> Iterator[tuple[str, int, list[tuple[int, int, str]]]]:
    """(table, seed, [(holdout, synthetic, case), ...]) still to run."""
    for seed in range(max(args.honest_seeds, args.defect_seeds)):  # seed-major: a partial run covers every table
        for table in args.tables:
            todo = []
            for h, s, case in itertools.product(args.holdouts, args.synthetic, args.cases):
                if seed >= (args.honest_seeds if case == "honest" else args.defect_seeds):
                    continue
                if any((table, str(h), str(s), case, str(seed), m) not in done for m in args.metrics):
                    todo.append((h, s, case))
            if todo:
                yield table, seed, todo


def run_one(table: str, seed: int, todo: list[tuple[int, int, str]], metrics: list[str]) -> list[dict[str, Any]]:
    rows = []
    base = frames(table, seed)
    with threadpool_limits(1):
        for h, s, case in todo:
            train, synthetic, holdout = case_frames(table, seed, h, s, case, base)
            data = prepare_inputs(train, synthetic, holdout, target=TABLES[table].target)
            started = time.perf_counter()
            results, _ = run_metrics(data, metrics, seed=seed)
            seconds = time.perf_counter() - started
            for r in results:
                ci = r.ci or (None, None)
                details = r.details or {}
                rows.append(
                    {
                        "table": table,
                        "n_train": len(train),
                        "n_holdout": h,
                        "n_synthetic": s,
                        "case": case,
                        "seed": seed,
                        "metric": r.id,
                        "status": r.status.value,
                        "insufficient": bool(details.get("insufficient_evidence", False)),
                        "value": r.value,
                        "ci_low": ci[0],
                        "ci_high": ci[1],
                        "trtr": details.get("trtr"),
                        "tstr": details.get("tstr"),
                        "chance": details.get("chance"),
                        "seconds": round(seconds, 2),
                        "message": (r.message or "")[:160],
                    }
                )
    return rows


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    done: set[tuple[str, ...]] = set()
    if out.exists():
        with out.open(newline="") as handle:
            done = {tuple(row[k] for k in KEY) for row in csv.DictReader(handle)}
    todo = list(jobs(args, done))
    started = time.perf_counter()
    with out.open("a", newline="") as handle, ProcessPoolExecutor(args.workers) as pool:
        writer = csv.DictWriter(handle, FIELDS)
        if not done:
            writer.writeheader()
        futures = {pool.submit(run_one, t, s, cells, args.metrics): (t, s) for t, s, cells in todo}
        for n, future in enumerate(futures, 1):
            rows = future.result()
            writer.writerows(rows)
            handle.flush()
            table, seed = futures[future]
            print(
                f"[{n}/{len(todo)}] {table} seed {seed}: {len(rows)} rows, {time.perf_counter() - started:.0f}s",
                flush=True,
            )
    print(f"done in {time.perf_counter() - started:.0f}s wall time")


# -- judging the bundled rules --------------------------------------------------------------------
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


def utility_rules() -> list[tuple[str, Any]]:
    """(policy id, rule) for every rule of the bundled policies that reads a utility metric."""
    out = []
    for name in POLICIES:
        for rule in load_policy(name).policy.rules:
            if (getattr(rule, "metric", None) or "").startswith("utility."):
                out.append((name, rule))
    return out


def outcome(row: pd.Series, field: str, op: str, threshold: float) -> str:
    """pass | fail | insufficient for one metric row under a rule without min_rows."""
    if row.status != "ok":
        return "insufficient" if row.insufficient else "fail"  # a skipped or errored metric fails its rule
    value = row[field]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "fail"
    return "pass" if OPS[op](float(value), threshold) else "fail"


def judged(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (rule, table, holdout, synthetic, case, seed) with the rule's outcome."""
    parts = []
    for policy, rule in utility_rules():
        rows = frame[frame.metric == rule.metric]
        if rows.empty:
            continue
        field = rule.field or "value"
        threshold = float(rule.threshold)
        rows = rows.assign(
            rule=f"{policy}/{rule.id}",
            severity=rule.severity,
            min_rows=str(dict(rule.min_rows or {})),
            outcome=[outcome(r, field, rule.op, threshold) for _, r in rows.iterrows()],
        )
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def size_table(j: pd.DataFrame, holdouts: list[int] | None = None) -> pd.DataFrame:
    """Per rule and synthetic size: honest passes / seeds, defects caught / seeds, pooled over tables."""
    if holdouts:
        j = j[j.n_holdout.isin(holdouts)]
    records = []
    for (rule, size), cell in j.groupby(["rule", "n_synthetic"]):
        honest = cell[cell.case == "honest"]
        defects = cell[cell.case != "honest"]
        passed = int((honest.outcome == "pass").sum())
        undecided = int((honest.outcome == "insufficient").sum())
        wrong = int((honest.outcome == "fail").sum())
        caught = int((defects.outcome != "pass").sum())
        worst = honest.groupby("table").outcome.apply(lambda s: (s == "pass").mean()).idxmin() if len(honest) else ""
        records.append(
            {
                "rule": rule,
                "synthetic": int(size),
                "honest_pass": passed,
                "honest_n": len(honest),
                "honest_fail": wrong,
                "honest_insufficient": undecided,
                "honest_worst_table": worst,
                "defect_caught": caught,
                "defect_n": len(defects),
                **{
                    f"caught:{case}": f"{int((d.outcome != 'pass').sum())}/{len(d)}"
                    for case, d in defects.groupby("case")
                },
            }
        )
    return pd.DataFrame(records)


def smallest_by_power(table: pd.DataFrame, *, strict: bool = True) -> dict[str, int | None]:
    """Per rule: the smallest synthetic size from which every size of the grid passes honest data in
    ≥ 95 % of seeds and catches every defect seed. ``strict=False`` counts only decided verdicts against
    honest data (``fail`` in ≤ 5 % of seeds): the metric's own refusals (``insufficient``) happen
    whatever ``min_rows`` says, so they are reported, not sized away."""
    out: dict[str, int | None] = {}
    for rule, rows in table.groupby("rule"):
        rows = rows.sort_values("synthetic", ascending=False)
        smallest = None
        for r in rows.itertuples():
            if strict:
                honest_ok = r.honest_pass >= HONEST_PASS * r.honest_n
            else:
                honest_ok = r.honest_fail <= (1 - HONEST_PASS) * r.honest_n
            good = r.honest_n and honest_ok and r.defect_caught == r.defect_n
            if not good:
                break
            smallest = int(r.synthetic)
        out[str(rule)] = smallest
    return out


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs tabulate, which the project does not install)."""
    frame = frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame
    header = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns]
    cells = [
        ["" if pd.isna(v) else (f"{v:.3g}" if isinstance(v, float) else str(v)) for v in row] for row in frame.values
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def summary_table(j: pd.DataFrame) -> pd.DataFrame:
    """One row per (rule, synthetic size); per holdout: honest 'passed/n (f, i)' and defects 'caught/n'."""
    records = []
    for (rule, size), cell in j.groupby(["rule", "n_synthetic"]):
        record: dict[str, Any] = {"rule": rule, "synthetic": int(size)}
        for h, part in cell.groupby("n_holdout"):
            honest, defects = part[part.case == "honest"], part[part.case != "honest"]
            fail, undecided = int((honest.outcome == "fail").sum()), int((honest.outcome == "insufficient").sum())
            record[f"honest h{h}"] = f"{int((honest.outcome == 'pass').sum())}/{len(honest)} ({fail}f, {undecided}i)"
            record[f"defects h{h}"] = f"{int((defects.outcome != 'pass').sum())}/{len(defects)}" if len(defects) else ""
        records.append(record)
    return pd.DataFrame(records)


def report(paths: list[str], ignore: list[str] = ()) -> None:
    """Print the tables; ``ignore`` drops defect cells named ``table/case`` (with the reason stated where cited)."""
    frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True).drop_duplicates(list(KEY))
    for item in ignore:
        table, case = item.split("/")
        frame = frame[~((frame.table == table) & (frame.case == case))]
        print(f"left out: {table}/{case}")
    frame["insufficient"] = frame["insufficient"].astype(bool)
    j = judged(frame)
    seconds = frame.drop_duplicates(list(KEY[:-1]))["seconds"].sum()
    print(f"{len(frame)} metric rows, {frame.seconds.sum():.0f} s of metric time ({seconds:.0f} s per case)\n")
    for label, holdouts in [
        ("every holdout", None),
        *[(f"holdout {h}", [h]) for h in sorted(frame.n_holdout.unique())],
    ]:
        table = size_table(j, holdouts)
        print(f"## {label}\n")
        print(markdown(table))
        print(f"\nsmallest synthetic size by power ({label}): honest pass >= 95 %:", smallest_by_power(table))
        print("  honest fail <= 5 % (metric refusals apart):", smallest_by_power(table, strict=False), "\n")
    print("## summary: honest passed / seeds (f failed, i insufficient); defects caught / seeds, per holdout\n")
    print(markdown(summary_table(j)))
    print()
    honest = frame[(frame.case == "honest") & (frame.metric == "utility.tstr_ratio")]
    if len(honest):
        print("## honest utility.tstr_ratio per synthetic size (ok rows): value range, ci_high min, skipped\n")
        summary = honest.groupby("n_synthetic")[["value", "ci_low", "ci_high", "status"]].apply(
            lambda c: pd.Series(
                {
                    "value_min": c.value.min(),
                    "value_p05": c.value.quantile(0.05),
                    "value_max": c.value.max(),
                    "ci_high_min": c.ci_high.min(),
                    "ci_low_p05": c.ci_low.quantile(0.05),
                    "skipped": int((c.status != "ok").sum()),
                    "n": len(c),
                }
            )
        )
        print(markdown(summary))
    defects = frame[(frame.case != "honest") & (frame.metric == "utility.tstr_ratio") & (frame.status == "ok")]
    if len(defects):
        print("\n## defects judged by the metric (not skipped): largest ci_high and value per size\n")
        print(markdown(defects.groupby(["case", "n_synthetic"])[["ci_high", "value"]].max().unstack(0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="calibrate-utility.csv")
    parser.add_argument("--report", nargs="+", default=None, help="judge the bundled utility rules on CSVs")
    parser.add_argument("--ignore", nargs="+", default=[], help="with --report: leave out TABLE/CASE defect cells")
    parser.add_argument("--tables", nargs="+", default=list(TABLES))
    parser.add_argument("--synthetic", nargs="+", type=int, default=SYNTHETIC)
    parser.add_argument("--holdouts", nargs="+", type=int, default=HOLDOUTS)
    parser.add_argument("--cases", nargs="+", default=["honest", *DEFECTS])
    parser.add_argument("--honest-seeds", type=int, default=10)
    parser.add_argument("--defect-seeds", type=int, default=4)
    parser.add_argument("--metrics", nargs="+", default=METRICS)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.report:
        report(args.report, args.ignore)
        return 0
    if max(args.synthetic) > BLOCK or max(args.holdouts) > BLOCK:
        parser.error(f"synthetic and holdout sizes are at most {BLOCK:,}")
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
