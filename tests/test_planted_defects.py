"""Planted defects on UCI Adult: the default policy passes honest data and fails each defect on its pillar.

Rows: 2,000 training rows, 2,000 holdout rows and 2,000 unseen real rows, drawn with one seed.
"Honest" synthetic data is the unseen real rows: the best a generator can do. Each defect is built
from those tables; the gate runs with the shipped default policy, unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from qaharness.datasets import ADULT_TARGET, load_adult
from qaharness.gate import GateResult, run_gate
from qaharness.policy import load_policy

N_ROWS = 2_000
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def planted_defects(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """(train, holdout, {case: synthetic}) for every planted defect."""
    rng = np.random.default_rng(seed)
    adult = load_adult()
    order = rng.permutation(len(adult))
    train, holdout, unseen = (adult.iloc[order[i * n : (i + 1) * n]].reset_index(drop=True) for i in range(3))
    cases = {"honest": unseen, "copies": train.copy()}
    mix = unseen.copy()
    n_copies = int(0.3 * n)
    mix.iloc[:n_copies] = train.iloc[rng.choice(n, n_copies, replace=False)].to_numpy()
    cases["copies-30pct"] = mix
    jitter = train.copy()  # 1% multiplicative noise, rounded like the integer source columns
    for column in NUMERIC:
        jitter[column] = np.round(train[column] * (1 + rng.normal(0, 0.01, n))).astype(train[column].dtype)
    cases["copies-jittered"] = jitter
    collapse = unseen.copy()
    collapse["occupation"] = train["occupation"].mode().iloc[0]
    cases["mode-collapse"] = collapse
    cases["independent-columns"] = pd.DataFrame({c: train[c].to_numpy()[rng.integers(0, n, n)] for c in train.columns})
    shuffled = unseen.copy()
    shuffled[ADULT_TARGET] = rng.permutation(shuffled[ADULT_TARGET].to_numpy())
    cases["shuffled-target"] = shuffled
    cases["inconsistent-derived"] = inconsistent_derived(unseen, "education_num", 0.03, rng)
    return train, holdout, cases


def inconsistent_derived(frame: pd.DataFrame, column: str, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """``share`` of the rows get another value of ``column`` (a derived column: Adult's education_num
    is a 1:1 code of education), drawn from the column's own marginal so its distribution stays."""
    out = frame.copy()
    values = frame[column].to_numpy()
    for row in rng.choice(len(frame), round(share * len(frame)), replace=False):
        others = values[values != values[row]]
        out.iloc[row, out.columns.get_loc(column)] = others[rng.integers(0, others.size)]
    return out


FIDELITY = {
    "marginals-numeric",
    "marginals-numeric-columns",
    "marginals-categorical",
    "dependence",
    "detectability",
    "coverage",
    "missingness",
    "validity",
    "coherence",
}
MARGINALS_AND_DEPENDENCE = {"marginals-numeric", "marginals-numeric-columns", "marginals-categorical", "dependence"}
UTILITY = {"ml-utility"}
PRIVACY = {
    "exact-copies",
    "memorised-tail",
    "memorised-tail-5pct",
    "memorised-tail-bound",
    "closer-to-training",
    "membership-inference",
    "no-pii",
    "holdout-is-unseen",
    "singling-out",
    "outlier-replay",
}

# case → (rules that must fail, pillars whose rules must all pass)
EXPECTED = {
    "honest": (set(), {"fidelity": FIDELITY, "utility": UTILITY, "privacy": PRIVACY}),
    "copies": (
        {"exact-copies", "memorised-tail", "closer-to-training", "membership-inference"},
        {"fidelity": FIDELITY, "utility": UTILITY},
    ),
    "copies-30pct": (
        {"exact-copies", "memorised-tail", "membership-inference"},
        {"fidelity": FIDELITY, "utility": UTILITY},
    ),
    # no row is an exact copy any more: distances and membership inference must catch it
    "copies-jittered": (
        {"memorised-tail", "closer-to-training", "membership-inference"},
        {"utility": UTILITY, "exact match": {"exact-copies"}},
    ),
    "mode-collapse": ({"marginals-categorical", "detectability"}, {"privacy": PRIVACY, "utility": UTILITY}),
    "independent-columns": ({"dependence", "detectability"}, {"privacy": PRIVACY}),
    "shuffled-target": ({"ml-utility"}, {"privacy": PRIVACY}),
    # 3% of rows whose derived column disagrees with its source: marginals and pairwise
    # associations barely move, so only the learned dependency catches it
    "inconsistent-derived": (
        {"coherence"},
        {"KS/JS/corr_diff": MARGINALS_AND_DEPENDENCE, "utility": UTILITY, "privacy": PRIVACY},
    ),
}


@pytest.fixture(scope="module")
def gates(tmp_path_factory) -> dict[str, GateResult]:
    train, holdout, cases = planted_defects(N_ROWS, seed=0)
    policy = load_policy("default")
    out = tmp_path_factory.mktemp("planted")
    # One thread for the OpenMP learners: on a shared 2-core machine oversubscribed OpenMP made the
    # detection classifier 25x slower; results don't depend on the thread count.
    with threadpool_limits(1):
        return {
            name: run_gate(
                train, synthetic, holdout, out=out / name, policy=policy, target=ADULT_TARGET, seed=0, record=False
            )
            for name, synthetic in cases.items()
        }


@pytest.mark.slow
@pytest.mark.parametrize("case", list(EXPECTED))
def test_default_policy_on_planted_defects(gates, case):
    result = gates[case]
    must_fail, clean = EXPECTED[case]
    statuses = {r.id: r.status for r in result.run.rules}
    report = "\n".join(f"  {r.id}: {r.status} — {r.message}" for r in result.run.rules)
    assert not [r for r in result.run.rules if r.status == "error"], f"{case}: a metric failed\n{report}"
    failed = {rule for rule, status in statuses.items() if status == "fail"}
    assert must_fail <= failed, f"{case}: expected {sorted(must_fail)} to fail\n{report}"
    for pillar, rules in clean.items():
        assert not (failed & rules), f"{case}: {pillar} rules should pass\n{report}"
    if case == "honest":
        assert (result.verdict, result.exit_code) == ("pass", 0), report
    else:
        assert (result.verdict, result.exit_code) == ("fail", 1), report
