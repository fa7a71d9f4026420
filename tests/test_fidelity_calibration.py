"""The bundled fidelity rules on shapes where fixed caps and floors went wrong.

A systematic shift on a large table must fail although its KS is below a fixed 0.1 floor; honest small
tables and a wide table (thousands of column pairs) must pass although their noise exceeds fixed caps.
Honest synthetic data = real rows the generator never saw. The full calibration grid (more tables, shapes,
seeds and defects) is ``benchmarks/calibration_fidelity.py``; its figures are in ``policies/README.md``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from qaharness.api import evaluate
from qaharness.datasets import ADULT_TARGET, load_adult
from qaharness.policy import evaluate_policy, load_policy

RULES = {"fidelity.ks": "marginals-numeric", "fidelity.js": "marginals-categorical", "fidelity.corr_diff": "dependence"}


def judge(train, synthetic, holdout, metrics, policy="default", seed=0):
    """{rule id: (status, message)} of the policy's rules on ``metrics`` only."""
    loaded = load_policy(policy)
    rules = [r for r in loaded.policy.rules if getattr(r, "metric", None) in metrics]
    run = evaluate(train, synthetic, holdout, metrics=metrics, seed=seed)
    judged = evaluate_policy(loaded.policy.model_copy(update={"rules": rules}), run)
    return {r.id: (r.status, r.message) for r in judged}


@pytest.fixture(scope="module")
def adult():
    return load_adult().drop(columns=[ADULT_TARGET])


def split(frame: pd.DataFrame, sizes: tuple[int, ...], seed: int) -> list[pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    cuts = np.cumsum((0, *sizes))
    return [frame.iloc[order[a:b]].reset_index(drop=True) for a, b in itertools.pairwise(cuts)]


@pytest.mark.slow
def test_a_three_year_shift_of_age_on_15k_rows_fails_marginals(adult):
    train, holdout, unseen = split(adult, (15_000, 15_000, 15_000), seed=0)
    shifted = unseen.assign(age=unseen["age"] + 3)
    verdict = judge(train, shifted, holdout, ["fidelity.ks"])
    assert verdict["marginals-numeric"][0] == "fail", verdict
    assert judge(train, unseen, holdout, ["fidelity.ks"])["marginals-numeric"][0] == "pass"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("rows", "holdout_rows"), [(200, 200), (400, 100), (300, 300)])
def test_honest_small_tables_pass_marginals_and_dependence(adult, rows, holdout_rows, seed):
    train, holdout, unseen = split(adult, (rows, holdout_rows, rows), seed=seed)
    with threadpool_limits(1):
        verdict = judge(train, unseen, holdout, list(RULES))
    assert {status for status, _ in verdict.values()} == {"pass"}, verdict


def wide_table(n_rows: int, seed: int, n_numeric: int = 37, n_categorical: int = 37) -> pd.DataFrame:
    """74 columns driven by three latent factors (fixed loadings), half numeric, half categorical."""
    rng = np.random.default_rng(seed)
    loadings = np.random.default_rng(99).normal(size=(3, n_numeric + n_categorical))
    signal = rng.normal(size=(n_rows, 3)) @ loadings * 0.7 + rng.normal(size=(n_rows, loadings.shape[1]))
    columns = {f"num_{j}": signal[:, j] * 10 + 50 for j in range(n_numeric)}
    for j in range(n_categorical):
        s = signal[:, n_numeric + j]
        columns[f"cat_{j}"] = np.array(["a", "b", "c", "d"])[np.searchsorted([-0.8, 0.0, 0.8], s)]
    return pd.DataFrame(columns)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_an_honest_wide_table_passes_dependence(seed):
    train, holdout, unseen = (wide_table(n, seed * 3 + k) for k, n in enumerate((400, 400, 400)))
    verdict = judge(train, unseen, holdout, list(RULES))
    assert {status for status, _ in verdict.values()} == {"pass"}, verdict
    rng = np.random.default_rng(seed)
    broken = pd.DataFrame({c: rng.permutation(unseen[c].to_numpy()) for c in unseen.columns})  # independent columns
    assert judge(train, broken, holdout, ["fidelity.corr_diff"])["dependence"][0] == "fail"
