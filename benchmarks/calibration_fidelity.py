"""Calibration of the fidelity and utility pillars over many shapes (long; not a test).

For each table (bundled Adult; seeded mixed tables: ``mixed``, ``wide`` (74 columns), ``discrete``
(categories and small counts only), ``missing`` (10-30 % missing values), ``weak`` (a target
barely related to the features)), shape (training rows × train:holdout ratio, or a synthetic
table much smaller than the holdout) and case (honest = unseen real rows; collapse of one
column onto its mode; independent columns; one numeric column shifted; shuffled target), it runs
the fidelity and utility metrics through the engine (holdout baselines included) and writes one
CSV row per metric: value, baseline, CI. ``--report`` then judges candidate thresholds on the CSV.

    python benchmarks/calibration_fidelity.py --out /tmp/calib.csv --seeds 20 --pillar fidelity
    python benchmarks/calibration_fidelity.py --report /tmp/calib.csv

Honest rows are real rows the generator never saw, so "honest" is the best a generator can do; a
rule that fails it more often than 1 seed in 20 is miscalibrated.
"""

from __future__ import annotations

import argparse
import csv
import functools
import itertools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qaharness.datasets import ADULT_TARGET, load_adult
from qaharness.engine import run_metrics
from qaharness.inputs import prepare_inputs

FIDELITY = [
    "fidelity.ks",
    "fidelity.js",
    "fidelity.wasserstein",
    "fidelity.missingness",
    "fidelity.coverage",
    "fidelity.corr_diff",
]
DETECTION = ["fidelity.detection"]
UTILITY = ["utility.trtr", "utility.tstr", "utility.tstr_ratio", "utility.feature_importance_corr"]
#: details recorded beside each value
EXTRA = (
    "chance", "spearman", "trtr", "tstr", "exact_twins", "baseline_scale", "auc",
    "worst_ratio", "worst_ratio_column", "ratio_columns", "baseline_per_column",
)  # fmt: skip
#: the grid's shapes and cases (``--grid``: ``qaharness.testing.cases``) this script runs by default
GRID_SHAPES = ["1:1-300", "1:1-2k", "4:1-2k", "8:1-2k", "small-synthetic"]
GRID_CASES = ["honest", "shift", "collapse", "independent"]
PILLARS = {"fidelity": FIDELITY, "detection": DETECTION, "utility": UTILITY}


# -- tables -------------------------------------------------------------------------------------
def seeded_table(kind: str, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """A seeded table of one kind, with dependence between columns and a binary ``target``."""
    n_num, n_cat, n_count = {
        "mixed": (4, 3, 2),
        "wide": (30, 30, 13),
        "discrete": (0, 6, 3),
        "missing": (4, 3, 2),
        "weak": (4, 3, 2),
    }[kind]
    latent = rng.normal(size=(n_rows, 3))
    loadings = np.random.default_rng(1234).normal(size=(3, n_num + n_cat + n_count))  # fixed per kind
    signal = latent @ loadings * 0.7 + rng.normal(size=(n_rows, loadings.shape[1]))
    columns: dict[str, np.ndarray] = {}
    for j in range(n_num):
        columns[f"num_{j}"] = np.round(50 + 10 * signal[:, j] * (1 + j % 3), 2)
    for j in range(n_cat):
        s = signal[:, n_num + j]
        levels = 2 + (j * 3) % 9
        edges = np.quantile(np.random.default_rng(j).normal(size=4000), np.linspace(0, 1, levels + 1)[1:-1])
        columns[f"cat_{j}"] = np.array([f"c{k}" for k in range(levels)])[np.searchsorted(edges, s)]
    for j in range(n_count):
        s = signal[:, n_num + n_cat + j]
        columns[f"count_{j}"] = np.clip(np.round(2 + 1.5 * s), 0, 8).astype(float)
    strength = 0.3 if kind == "weak" else 1.2
    logit = strength * (latent[:, 0] - 0.5 * latent[:, 1]) + (0.0 if kind == "weak" else 0.5) * latent[:, 2]
    columns["target"] = np.where(logit + rng.logistic(size=n_rows) > 0, "yes", "no")
    frame = pd.DataFrame(columns)
    if kind == "missing":
        for j, column in enumerate([c for c in frame.columns if c != "target"]):
            rate = 0.1 + 0.2 * (j % 2)
            frame.loc[rng.random(n_rows) < rate * (1 + (latent[:, 0] > 0)) / 1.5, column] = np.nan
    return frame


@functools.cache
def _adult() -> pd.DataFrame:
    return load_adult()


def draw_tables(table: str, n_train: int, n_holdout: int, n_synthetic: int, seed: int):
    """(train, holdout, unseen) disjoint real samples of the table."""
    rng = np.random.default_rng(seed)
    if table == "adult":
        adult = _adult()
        need = n_train + n_holdout + n_synthetic
        if need > len(adult):
            return None
        order = rng.permutation(len(adult))
        cuts = np.cumsum([0, n_train, n_holdout, n_synthetic])
        return tuple(adult.iloc[order[a:b]].reset_index(drop=True) for a, b in itertools.pairwise(cuts)), ADULT_TARGET
    frames = [seeded_table(table, n, rng) for n in (n_train, n_holdout, n_synthetic)]
    return tuple(frames), "target"


# -- cases --------------------------------------------------------------------------------------
def make_case(case: str, train: pd.DataFrame, unseen: pd.DataFrame, target: str, rng: np.random.Generator):
    features = [c for c in train.columns if c != target]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(train[c]) and train[c].nunique() > 20]
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(train[c])]
    if case == "honest":
        return unseen
    if case == "collapse":
        column = "occupation" if "occupation" in train else (categorical or features)[0]
        return unseen.assign(**{column: train[column].mode().iloc[0]})
    if case == "independent":
        return pd.DataFrame({c: rng.permutation(unseen[c].to_numpy()) for c in unseen.columns})
    if case == "shifted":
        if not numeric:
            return None
        column = "age" if "age" in train else numeric[0]
        return unseen.assign(**{column: unseen[column] + (3.0 if column == "age" else 0.25 * train[column].std())})
    if case == "shuffled_target":
        return unseen.assign(**{target: rng.permutation(unseen[target].to_numpy())})
    raise ValueError(case)


CASES = ["honest", "collapse", "independent", "shifted", "shuffled_target"]
#: (training, synthetic, holdout, target) of one case
Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]


def shapes(sizes: list[int]) -> list[tuple[str, int, int, int]]:
    """(name, train, holdout, synthetic): ratios 1:1, 4:1, 8:1 with synthetic = train, and synthetic ≪ holdout."""
    out = []
    for n in sizes:
        for ratio in (1, 4, 8):
            out.append((f"{n}-{ratio}:1", n, max(n // ratio, 50), n))
        out.append((f"{n}-small-synthetic", n, n, max(n // 10, 50)))
    return out


def script_cases(args: argparse.Namespace) -> Iterator[tuple[str, str, str, int, tuple[int, int, int], Frames]]:
    """This script's own tables, shapes and cases (``make_case``)."""
    chosen = [s for s in shapes(args.sizes) if not args.shapes or any(k in s[0] for k in args.shapes)]
    for table, (shape, n_train, n_holdout, n_synthetic), seed in itertools.product(
        args.tables, chosen, range(args.seed0, args.seed0 + args.seeds)
    ):
        drawn = draw_tables(table, n_train, n_holdout, n_synthetic, seed)
        if drawn is None:
            continue
        (train, holdout, unseen), target = drawn
        for case in args.cases:
            synthetic = make_case(case, train, unseen, target, np.random.default_rng([seed, CASES.index(case)]))
            if synthetic is not None:
                yield table, shape, case, seed, (n_train, n_holdout, n_synthetic), (train, synthetic, holdout, target)


def grid_cases(args: argparse.Namespace) -> Iterator[tuple[str, str, str, int, tuple[int, int, int], Frames]]:
    """The calibration grid's tables, shapes and cases (``qaharness.testing.cases``); honest data gets
    ``--honest-seeds`` seeds, the defects ``--seeds``."""
    from qaharness.testing.cases import SHAPES, build, grid

    for table, shape, case in grid(args.tables, args.shapes or GRID_SHAPES, args.cases or GRID_CASES):
        seeds = args.honest_seeds if case == "honest" else args.seeds
        for seed in range(args.seed0, args.seed0 + seeds):
            built = build(table, shape, case, seed)
            size = SHAPES[shape]
            sizes = (size.n_train, size.n_holdout, len(built.synthetic))
            yield table, shape, case, seed, sizes, (built.real, built.synthetic, built.holdout, built.target)


def run(args: argparse.Namespace) -> None:
    ids = args.metrics or PILLARS[args.pillar]
    out = Path(args.out)
    new = not out.exists()
    with out.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            header = ["table", "shape", "case", "seed", "metric", "status", "value", "baseline", "ci_low", "ci_high"]
            writer.writerow([*header, "n_train", "n_holdout", "n_synthetic", "seconds", "message", "extra"])
        for table, shape, case, seed, sizes, (train, synthetic, holdout, target) in (
            grid_cases(args) if args.grid else script_cases(args)
        ):
            data = prepare_inputs(train, synthetic, holdout, target=target)
            started = time.perf_counter()
            results, _ = run_metrics(data, ids, seed=seed)
            seconds = time.perf_counter() - started
            for r in results:
                ci = r.ci or (None, None)
                extra = {k: r.details[k] for k in EXTRA if k in r.details}
                if "baseline_per_column" in extra:  # beside each column's floor, its value
                    extra["per_column"] = {c: round(v, 6) for c, v in (r.per_column or {}).items()}
                    extra["baseline_per_column"] = {c: round(v, 6) for c, v in extra["baseline_per_column"].items()}
                row = [table, shape, case, seed, r.id, r.status.value, r.value, r.baseline, *ci]
                row += [*sizes, round(seconds, 2), r.message[:120], json.dumps(extra)]
                writer.writerow(row)
            handle.flush()
            print(f"{table} {shape} {case} seed {seed}: {seconds:.1f}s", flush=True)


# -- judging the bundled rules -------------------------------------------------------------------
#: the default policy's fidelity and utility rules, as (metric, field, test) on a CSV row
def _ratio(row) -> float:
    """``details.worst_ratio`` of a CSV row (each column against its own floor); NaN without a baseline."""
    return float(json.loads(row.extra).get("worst_ratio", np.nan))


#: the per-column rule's bar (policies: marginals-numeric-columns), judged by ``--report``
WORST_RATIO_MAX = 3.0

RULES = {
    "marginals-numeric": ("fidelity.ks", lambda r: r.value > 2 * r.baseline),
    "marginals-numeric-columns": ("fidelity.wasserstein", lambda r: _ratio(r) > WORST_RATIO_MAX),
    "(candidate) KS per column > 2.5": ("fidelity.ks", lambda r: _ratio(r) > 2.5),
    "(candidate) JS per column > 3": ("fidelity.js", lambda r: _ratio(r) > 3.0),
    "marginals-categorical": ("fidelity.js", lambda r: r.value > 2 * r.baseline),
    "dependence": ("fidelity.corr_diff", lambda r: r.value > 2 * r.baseline),
    "detectability": ("fidelity.detection", lambda r: r.value > max(r.baseline + 0.1, 0.6)),
    "ml-utility": ("utility.tstr_ratio", lambda r: r.ci_high < 0.9),
    "same-features (ml-training)": ("utility.feature_importance_corr", lambda r: r.value < 0.5),
}


def report(paths: list[str], by: list[str]) -> None:
    """Share of seeds each rule fails, per case and ``by`` (size; or table, shape); insufficient
    (min_rows, skipped) apart. With several rules on one pillar, ``any fidelity`` is a gate's view:
    the seeds in which at least one of the marginal rules failed."""
    frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    frame["size"] = np.where(frame["shape"].str.contains("small"), "synthetic = holdout / 10", frame["n_train"])
    rows = []
    for rule, (metric, fails) in RULES.items():
        group = frame[frame.metric == metric]
        need = 200 if metric.startswith("utility") else 50
        for key, cell in group.groupby(["case", *by]):
            case, *where = key
            judged = cell[(cell.status == "ok") & (cell.n_holdout >= need) & (cell.n_synthetic >= need)]
            failed = sum(bool(fails(r)) for r in judged.itertuples())
            rows.append(
                {
                    "rule": rule,
                    "case": case,
                    **dict(zip(by, where, strict=True)),
                    "runs": len(cell),
                    "insufficient": len(cell) - len(judged),
                    "fail": f"{failed}/{len(judged)}",
                }
            )
    rows += _any_marginal(frame, by)
    table = pd.DataFrame(rows).pivot_table(index=["rule", *by], columns="case", values="fail", aggfunc="first")
    print(table.fillna("").to_string())


#: the bundled marginal rules after the per-column rework: a gate's fidelity pillar fails on any of them
MARGINAL_RULES = ("marginals-numeric", "marginals-categorical", "marginals-numeric-columns")


def _any_marginal(frame: pd.DataFrame, by: list[str]) -> list[dict[str, object]]:
    """Per case and ``by``: seeds failing at least one of ``MARGINAL_RULES`` (old rules alone beside)."""
    keys = ["table", "shape", "case", "seed"]
    judged = frame[(frame.status == "ok") & (frame.n_holdout >= 50) & (frame.n_synthetic >= 50)]
    verdicts: dict[tuple[object, ...], dict[str, bool]] = {}
    for rule in MARGINAL_RULES:
        metric, fails = RULES[rule]
        for r in judged[judged.metric == metric].itertuples():
            verdicts.setdefault(tuple(getattr(r, k) for k in keys), {})[rule] = bool(fails(r))
    seeds = pd.DataFrame([dict(zip(keys, k, strict=True), **v) for k, v in verdicts.items()])
    if seeds.empty:
        return []
    seeds = seeds.merge(frame[[*keys, "size"]].drop_duplicates(keys), on=keys)
    seeds["old"] = seeds[[r for r in MARGINAL_RULES[:2] if r in seeds]].eq(True).any(axis=1)
    seeds["new"] = seeds[[r for r in MARGINAL_RULES if r in seeds]].eq(True).any(axis=1)
    out = []
    for key, cell in seeds.groupby(["case", *by]):
        case, *where = key
        for name, column in (("any marginal rule (before: KS, JS)", "old"), ("any marginal rule (after)", "new")):
            fail = f"{int(cell[column].sum())}/{len(cell)}"
            out.append({"rule": name, "case": case, **dict(zip(by, where, strict=True)), "fail": fail})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="calibration_fidelity.csv")
    parser.add_argument("--report", nargs="+", default=None, help="judge the bundled rules on CSVs written before")
    parser.add_argument("--pillar", choices=sorted(PILLARS), default="fidelity")
    parser.add_argument("--by", nargs="+", default=["size"], help="--report: group by these (size; table shape)")
    parser.add_argument("--metrics", nargs="+", default=None, help="metric ids to run instead of --pillar's")
    parser.add_argument(
        "--grid",
        action="store_true",
        help="tables, shapes and cases of the calibration grid (qaharness.testing.cases: tables adult, wide, "
        f"discrete, missing, ids; shapes {', '.join(GRID_SHAPES)}; cases {', '.join(GRID_CASES)}) instead of "
        "this script's own",
    )
    parser.add_argument("--tables", nargs="+", default=None)
    parser.add_argument("--sizes", nargs="+", type=int, default=[300, 2000])
    parser.add_argument("--cases", nargs="+", default=None)
    parser.add_argument("--shapes", nargs="+", default=[], help="keep shapes whose name contains one of these")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--honest-seeds", type=int, default=None, help="--grid: seeds of honest data (default --seeds)")
    parser.add_argument("--seed0", type=int, default=0)
    args = parser.parse_args()
    if args.honest_seeds is None:
        args.honest_seeds = args.seeds
    if not args.grid:
        args.tables = args.tables or ["adult", "mixed", "wide", "discrete", "missing"]
        args.cases = args.cases or CASES
    if args.report:
        report(args.report, args.by)
    else:
        run(args)


if __name__ == "__main__":
    main()
