"""A metric that has nothing to measure on these tables (KS without numeric columns) passes its rule
and says so; a metric that could measure but cannot (a numeric column empty on one side) is an error."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qaharness.api import evaluate
from qaharness.policy import apply_policy, parse_policy

POLICY = """\
id: p
version: 1.0.0
rules:
  - id: marginals-numeric
    metric: fidelity.ks
    op: "<="
    threshold: 0.1
    rationale: test
  - id: transport
    metric: fidelity.wasserstein
    op: "<="
    threshold: 0.5
    rationale: test
"""


def _categorical(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"colour": rng.choice(["red", "blue", "green"], n), "size": rng.choice(["S", "M"], n)})


def _judged(real: pd.DataFrame, synthetic: pd.DataFrame):
    run = evaluate(real, synthetic, metrics=["fidelity.ks", "fidelity.wasserstein"], seed=0)
    return run, apply_policy(run, parse_policy(POLICY))


def test_ks_on_a_table_without_numeric_columns_does_not_apply_and_its_rule_passes():
    run, judged = _judged(_categorical(200, 1), _categorical(200, 2))
    ks = run.metric("fidelity.ks")
    assert ks.status.value == "skipped" and ks.details == {"not_applicable": True}
    assert ks.value is None  # never a number made up for it
    rules = {r.id: r for r in judged.rules or []}
    numeric = rules["marginals-numeric"]
    assert numeric.status == "pass" and "does not apply" in (numeric.message or "")
    assert rules["transport"].status == "pass"
    assert judged.verdict == "pass"


def test_a_numeric_column_empty_in_synthetic_is_still_an_error_of_the_rule():
    real = _categorical(200, 1).assign(age=np.random.default_rng(3).normal(40, 10, 200))
    synthetic = _categorical(200, 2).assign(age=np.nan)
    run, judged = _judged(real, synthetic)
    assert run.metric("fidelity.ks").details.get("not_applicable") is None
    rules = {r.id: r for r in judged.rules or []}
    assert rules["marginals-numeric"].status == "error"
    assert judged.verdict == "fail"
