"""Agreement with the reference: anonymeter's three evaluators and ours on the same inputs.

Synthetic data = half copies of training rows, half fresh rows, so every risk is clearly above 0
and the comparison can fail. Linkability and inference attack every row of a 400-row target set on
both sides (anonymeter samples targets with an unseeded RNG; attacking all rows makes its result
independent of that draw). Singling-out queries are random on both sides (anonymeter seeded).
The risks must agree within their 95% intervals (the intervals overlap).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from qaharness.engine import run_metric
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric

pytestmark = pytest.mark.slow
anonymeter = pytest.importorskip("anonymeter.evaluators", reason="anonymeter is the reference implementation")

N_TARGETS = 400
COLUMNS = ["age", "income", "hours", "sex", "education", "job", "region"]


def _population(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    education = rng.choice([f"e{i}" for i in range(8)], n)
    income = np.round(np.exp(rng.normal(10, 0.6, n)) + 400 * age, -1)
    hours = np.round(rng.normal(40, 10, n).clip(5, 90))
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "hours": hours,
            "sex": rng.choice(["F", "M"], n),
            "education": education,
            "job": rng.choice([f"j{i}" for i in range(6)], n),
            "region": rng.choice([f"r{i}" for i in range(12)], n),
        }
    )


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(21)
    population = _population(3750, 20)
    train, control, fresh = population.iloc[:1500], population.iloc[1500:3000], population.iloc[3000:]
    copies = train.iloc[rng.choice(1500, 750, replace=False)]
    synthetic = pd.concat([copies, fresh]).iloc[rng.permutation(1500)].reset_index(drop=True)
    targets = train.iloc[np.sort(rng.choice(1500, N_TARGETS, replace=False))].reset_index(drop=True)
    control_targets = control.iloc[np.sort(rng.choice(1500, N_TARGETS, replace=False))].reset_index(drop=True)
    return {
        "train": train.reset_index(drop=True),
        "control": control.reset_index(drop=True),
        "synthetic": synthetic,
        "targets": targets,
        "control_targets": control_targets,
    }


def _agree(ours: tuple[float, tuple[float, float]], theirs) -> None:
    value, (low, high) = ours
    assert theirs.value > 0.1 and value > 0.1, "both attacks must find risk for the comparison to mean anything"
    assert low <= theirs.ci[1] and theirs.ci[0] <= high, (
        f"ours {value:.3f} ({low:.3f}, {high:.3f}) vs anonymeter {theirs.value:.3f} {theirs.ci}"
    )


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        yield
        logging.disable(logging.NOTSET)


def test_linkability_agrees(frames):
    aux = ([*COLUMNS[:3], "sex"], ["education", "job", "region"])
    theirs = (
        anonymeter.LinkabilityEvaluator(
            frames["targets"], frames["synthetic"], aux_cols=aux, n_attacks=N_TARGETS, control=frames["control_targets"]
        )
        .evaluate(n_jobs=1)
        .risk()
    )
    data = prepare_inputs(frames["targets"], frames["synthetic"], frames["control_targets"])
    ours = run_metric(get_metric("privacy.linkability")(n_attacks=N_TARGETS, aux_cols=aux), data, seed=0)
    assert ours.details["main_attacks"] == N_TARGETS
    _agree((ours.value, ours.ci), theirs)


@pytest.mark.parametrize("secret, regression", [("income", True), ("education", False)])
def test_inference_agrees(frames, secret, regression):
    aux = [c for c in COLUMNS if c != secret]
    theirs = (
        anonymeter.InferenceEvaluator(
            frames["targets"],
            frames["synthetic"],
            aux_cols=aux,
            secret=secret,
            regression=regression,
            n_attacks=N_TARGETS,
            control=frames["control_targets"],
        )
        .evaluate(n_jobs=1)
        .risk()
    )
    data = prepare_inputs(frames["targets"], frames["synthetic"], frames["control_targets"], sensitive=[secret])
    ours = run_metric(get_metric("privacy.attribute_inference")(n_attacks=N_TARGETS), data, seed=0)
    _agree((ours.value, ours.ci), theirs)


def test_singling_out_agrees(frames):
    theirs_eval = anonymeter.SinglingOutEvaluator(
        frames["train"], frames["synthetic"], n_attacks=300, control=frames["control"], seed=0
    ).evaluate("multivariate")
    data = prepare_inputs(frames["train"], frames["synthetic"], frames["control"])
    ours = run_metric(get_metric("privacy.singling_out")(n_attacks=300), data, seed=0)
    assert ours.details["queries_found"] == len(theirs_eval.queries()) or ours.details["queries_found"] == 300
    _agree((ours.value, ours.ci), theirs_eval.risk())
