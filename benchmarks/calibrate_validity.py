"""Calibration of fidelity.validity and fidelity.coherence: honest data of many shapes against planted defects.

    python benchmarks/calibrate_validity.py [--quick] [--out calibration-validity.json]

"Honest" synthetic data is a fresh sample of real rows from the same source as the training rows — the
best a generator can do; the holdout is another one (the noise floor). For each shape, size and seed it
prints both metrics' value and baseline on honest data and on planted defects, and whether the default
policy's rules (``validity``, ``coherence``) pass. Figures are recorded in benchmarks/README.md and cited
in policies/default.yaml.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _tables import derived_table

from qaharness.api import evaluate_input
from qaharness.datasets import load_adult
from qaharness.inputs import prepare_inputs
from qaharness.policy import evaluate_policy, load_policy

RULES = ("validity", "coherence", "marginals-numeric", "marginals-categorical", "dependence")
METRICS = ["fidelity.validity", "fidelity.coherence", "fidelity.ks", "fidelity.js", "fidelity.corr_diff"]


def adult_split(n: int, n_holdout: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    adult = load_adult()
    order = np.random.default_rng(seed).permutation(len(adult))
    cuts = np.cumsum([0, n, n_holdout, n])
    return tuple(adult.iloc[order[a:b]].reset_index(drop=True) for a, b in itertools.pairwise(cuts))  # type: ignore[return-value]


def zip_city_table(n: int, seed: int) -> pd.DataFrame:
    """A high-cardinality lookup: 400 zip codes (Zipf-like frequencies) each in one of 60 cities."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, 401) ** 0.8
    zips = rng.choice(400, n, p=weights / weights.sum())
    city_of_zip = np.random.default_rng(12345).integers(0, 60, 400)  # fixed mapping across samples
    income = rng.lognormal(10, 0.5, n)
    return pd.DataFrame(
        {
            "zip": np.char.add("z", zips.astype(str)),
            "city": np.char.add("city-", city_of_zip[zips].astype(str)),
            "income": np.round(income, 2),
            "tier": np.where(income > 30000, "gold", "std"),
            "household": rng.integers(1, 7, n).astype(float),
        }
    )


def shapes(quick: bool) -> Iterator[tuple[str, int, int, Callable[[], tuple]]]:
    """(shape, rows, seed, build) → (train, holdout, honest, derived column for the defect)."""
    seeds = range(2) if quick else range(5)
    for n in (500, 2000) if quick else (500, 2000, 10000):
        for seed in seeds:
            yield "adult", n, seed, lambda n=n, seed=seed: (*adult_split(n, n, seed), "education_num")
    for n in (1000, 5000) if quick else (1000, 5000, 20000):
        for seed in seeds if n < 20000 else range(2):
            yield (
                "derived-70",
                n,
                seed,
                lambda n=n, seed=seed: (
                    derived_table(n, 70, 3 * seed),
                    derived_table(n // 2, 70, 3 * seed + 1),
                    derived_table(n, 70, 3 * seed + 2),
                    "age_band",
                ),
            )
    for n in (2000,) if quick else (2000, 20000):
        for seed in seeds:
            yield (
                "zip-city",
                n,
                seed,
                lambda n=n, seed=seed: (
                    zip_city_table(n, 3 * seed),
                    zip_city_table(n, 3 * seed + 1),
                    zip_city_table(n, 3 * seed + 2),
                    "city",
                ),
            )


def inconsistent(frame: pd.DataFrame, column: str, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """``share`` of rows get another value of ``column`` drawn from its own marginal (so the marginal stays)."""
    out = frame.copy()
    rows = rng.choice(len(frame), round(share * len(frame)), replace=False)
    values = frame[column].to_numpy()
    for row in rows:
        choices = values[values != values[row]]
        out.iloc[row, out.columns.get_loc(column)] = choices[rng.integers(0, choices.size)]
    return out


def out_of_domain(frame: pd.DataFrame, train: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """``share`` of rows get one impossible value: an unseen category, a value past the real maximum, or a fraction."""
    out = frame.copy()
    rows = rng.choice(len(frame), round(share * len(frame)), replace=False)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if frame[c].dtype == object]
    for i, row in enumerate(rows):
        if i % 2 == 0 and categorical:
            column = categorical[i % len(categorical)]
            out[column] = out[column].astype(object)
            out.iloc[row, out.columns.get_loc(column)] = f"never-seen-{i}"
        elif numeric:
            column = numeric[i % len(numeric)]
            out[column] = out[column].astype(float)
            out.iloc[row, out.columns.get_loc(column)] = float(train[column].max()) * 1.5 + 1.5
    return out


def judge(train, holdout, synthetic, policy) -> dict:
    data = prepare_inputs(train, synthetic, holdout)
    started = time.perf_counter()
    run = evaluate_input(data, metrics=METRICS, seed=0)
    seconds = time.perf_counter() - started
    rules = {r.id: r for r in evaluate_policy(policy, run) if r.id in RULES}
    out = {"seconds": round(seconds, 2)}
    for result in run.metrics:
        short = result.id.split(".")[1]
        out[short] = None if result.value is None else round(result.value, 4)
        out[f"{short}_baseline"] = None if result.baseline is None else round(result.baseline, 4)
    out["n_dependencies"] = run.metric("fidelity.coherence").details.get("n_dependencies")
    out["rules"] = {rule_id: r.status for rule_id, r in rules.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and seeds")
    parser.add_argument("--out", type=Path, default=None, help="also write every row as JSON here")
    args = parser.parse_args()
    policy = load_policy("default")
    rows = []
    for shape, n, seed, build in shapes(args.quick):
        train, holdout, honest, derived = build()
        rng = np.random.default_rng(seed)
        cases = {
            "honest": honest,
            "inconsistent-1pct": inconsistent(honest, derived, 0.01, rng),
            "inconsistent-3pct": inconsistent(honest, derived, 0.03, rng),
            "out-of-domain-3pct": out_of_domain(honest, train, 0.03, rng),
        }
        for case, synthetic in cases.items():
            row = {"shape": shape, "rows": n, "seed": seed, "case": case, **judge(train, holdout, synthetic, policy)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    summarise(rows)


def summarise(rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    for rule in RULES:
        frame[f"rule:{rule}"] = frame["rules"].map(lambda r, rule=rule: r.get(rule))
    print("\nper shape, size and case: max value (max baseline) and how many seeds the rule failed")
    grouped = frame.groupby(["shape", "rows", "case"], sort=False)
    summary = grouped.agg(
        seeds=("seed", "count"),
        validity_max=("validity", "max"),
        validity_baseline_max=("validity_baseline", "max"),
        coherence_max=("coherence", "max"),
        coherence_baseline_max=("coherence_baseline", "max"),
        dependencies=("n_dependencies", "median"),
    )
    for rule in RULES:
        summary[f"{rule} failed"] = grouped[f"rule:{rule}"].agg(lambda s: int((s != "pass").sum()))
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(summary.to_string())


if __name__ == "__main__":
    main()
