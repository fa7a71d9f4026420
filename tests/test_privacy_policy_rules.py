"""The bundled policies' privacy rules on the cases they were calibrated for (the whole grid is
``benchmarks/calibrate_privacy.py``): honest tables of a few hundred rows pass, a handful of holdout
rows cannot pass, 10% near-copies fail from a few hundred rows, 5% near-copies fail the default policy
at 2,000 rows, and replayed identifiers fail every policy."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame

from qaharness.engine import run_metrics
from qaharness.inputs import prepare_inputs
from qaharness.metrics import metric_ids
from qaharness.policy import load_policy
from qaharness.results import Run
from qaharness.rules import RuleContext

POLICIES = ("default", "ml-training", "external-sharing")
PRIVACY = [m for m in metric_ids() if m.startswith("privacy.")]


def _statuses(real, synthetic, holdout, policy: str, schema=None) -> dict[str, str]:
    data = prepare_inputs(real, synthetic, holdout, target="label", schema=schema)
    results, _ = run_metrics(data, PRIVACY, seed=0)
    run = Run(qaharness_version="-", created_at="-", seed=0, inputs=data.inputs, schema={}, metrics=results)
    rules = [r for r in load_policy(policy).policy.rules if (getattr(r, "metric", "") or "").startswith("privacy.")]
    return {r.id: r.check(RuleContext(run=run, today=date.today())).status for r in rules}


def _jittered(train: pd.DataFrame, unseen: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    k = round(share * len(unseen))
    near = train.iloc[rng.choice(len(train), k, replace=False)].copy()
    for column in ("age", "income"):
        near[column] = near[column] * (1 + 0.01 * rng.standard_normal(k))
    return pd.concat([near, unseen.iloc[k:]], ignore_index=True)


@pytest.fixture(scope="module")
def small():
    return make_mixed_frame(300, 31), make_mixed_frame(300, 32), make_mixed_frame(300, 33)


@pytest.mark.parametrize("policy", POLICIES)
def test_honest_tables_of_a_few_hundred_rows_pass(small, policy):
    train, holdout, unseen = small
    statuses = _statuses(train, unseen, holdout, policy)
    assert set(statuses.values()) == {"pass"}, statuses


@pytest.mark.parametrize("policy", POLICIES)
def test_a_six_row_holdout_cannot_pass(small, policy):
    train, holdout, unseen = small
    statuses = _statuses(train, unseen, holdout.iloc[:6], policy)
    assert "insufficient" in statuses.values(), statuses
    assert statuses["no-pii"] == "pass"  # no holdout needed: judged as usual


@pytest.mark.parametrize("policy", POLICIES)
def test_ten_percent_near_copies_fail_from_a_few_hundred_rows(small, policy):
    train, holdout, unseen = small
    statuses = _statuses(train, _jittered(train, unseen, 0.10, np.random.default_rng(1)), holdout, policy)
    assert "fail" in statuses.values(), statuses


@pytest.mark.slow
def test_five_percent_near_copies_fail_the_default_policy_at_2000_rows():
    train, holdout, unseen = (make_mixed_frame(2000, s) for s in (41, 42, 43))
    statuses = _statuses(train, _jittered(train, unseen, 0.05, np.random.default_rng(2)), holdout, "default")
    # a dense six-column table: 1% jitter lands inside the closest 5% of unseen rows, not the closest 1%
    assert statuses["memorised-tail-5pct"] == "fail", statuses
    honest = _statuses(train, unseen, holdout, "default")
    assert set(honest.values()) == {"pass"}, honest


@pytest.mark.parametrize("policy", POLICIES)
def test_replayed_identifiers_fail_every_policy(small, policy):
    train, holdout, unseen = (f.assign(patient=[f"P{s}-{i:05d}" for i in range(len(f))]) for s, f in enumerate(small))
    replayed = unseen.assign(patient=train["patient"].to_numpy())
    statuses = _statuses(train, replayed, holdout, policy, schema={"patient": "identifier"})
    assert statuses["no-pii"] == "fail", statuses
    clean = _statuses(train, unseen, holdout, policy, schema={"patient": "identifier"})
    assert clean["no-pii"] == "pass", clean
