"""Each column against its own noise floor: ``details.worst_ratio`` and the marginal rules reading it.

The max-over-columns baseline is set by the noisiest column, so a clear shift in a quiet column hides
under another column's noise (a +3-year shift of age on the ``missing`` table at 4:1-2k: KS 0.078
within twice a floor of 0.049). The engine divides each column's value by that column's own floor
(``engine.worst_ratio``); the bundled policies' per-column rules read the largest ratio. Thresholds
and their evidence: ``benchmarks/calibration_fidelity.py --grid`` (benchmarks/README.md, "Per-column
noise floors").
"""

from __future__ import annotations

import pandas as pd
import pytest

from qaharness.api import evaluate
from qaharness.engine import RATIO_FLOOR_MIN, RATIO_FLOOR_SHARE, run_metric, worst_ratio
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric
from qaharness.policy import Policy, evaluate_policy, load_policy
from qaharness.testing.cases import build

#: x: values 1-4; z: 18 zeros, a one and a two; w: constant. Every holdout row is (1, 0, 5), so each
#: holdout draw scores the same KS on every column: a fixed baseline.
REAL = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 5, "z": [0.0] * 18 + [1.0, 2.0], "w": [5.0] * 20})
HOLDOUT = pd.DataFrame({"x": [1.0] * 40, "z": [0.0] * 40, "w": [5.0] * 40})


def _ks(synthetic: pd.DataFrame):
    return run_metric(get_metric("fidelity.ks")(), prepare_inputs(REAL, synthetic, HOLDOUT), seed=0)


def test_worst_ratio_known_answer_on_a_hand_built_frame():
    # synthetic x: 1-4 twice, then 1, 2 (F at 1, 2, 3: 0.3, 0.6, 0.8 against 0.25, 0.5, 0.75): KS 0.1
    # synthetic z: all ones: F(0) = 0 against 0.9: KS 0.9; w: one 6 among ten fives: KS 0.1
    synthetic = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 2 + [1.0, 2.0], "z": [1.0] * 10, "w": [5.0] * 9 + [6.0]})
    result = _ks(synthetic)
    # floors: x all ones against F(1) = 0.25 -> 0.75; z all zeros against F(0) = 0.9 -> 0.1; w identical -> 0
    assert result.details["baseline_per_column"] == pytest.approx({"x": 0.75, "z": 0.1, "w": 0.0})
    assert result.value == pytest.approx(0.9) and result.baseline == pytest.approx(0.75)
    # z: 0.9 / 0.1 = 9; x: 0.1 / 0.75; w: 0.1 against the guard, a tenth of the largest floor (0.075)
    assert result.details["worst_ratio"] == pytest.approx(9.0)
    assert result.details["worst_ratio_column"] == "z" and result.details["ratio_columns"] == 3
    # the old max-over-columns comparison passes it: 0.9 <= 2 * 0.75
    assert result.value <= 2 * result.baseline
    get_metric("fidelity.ks").Details.model_validate(result.details)


def test_a_constant_column_is_judged_against_the_guarded_floor():
    matching = _ks(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 5, "z": [0.0] * 18 + [1.0, 2.0], "w": [5.0] * 20}))
    assert matching.details["baseline_per_column"]["w"] == 0.0 and matching.per_column["w"] == 0.0
    assert matching.details["worst_ratio"] == pytest.approx(0.0)  # identical to real: every ratio is 0
    moved = _ks(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 5, "z": [0.0] * 18 + [1.0, 2.0], "w": [6.0] * 20}))
    # w: KS 1.0 where no holdout draw differed: 1.0 / (RATIO_FLOOR_SHARE * 0.75), finite
    assert moved.details["worst_ratio_column"] == "w"
    assert moved.details["worst_ratio"] == pytest.approx(1.0 / (RATIO_FLOOR_SHARE * 0.75))


def test_worst_ratio_guards():
    assert worst_ratio({"a": 0.2, "b": 0.3}, {"a": 0.1, "b": 0.3}) == {
        "worst_ratio": pytest.approx(2.0),
        "worst_ratio_column": "a",
        "ratio_columns": 2,
    }
    # every floor 0 (every column constant and matched by the holdout): a finite ratio still
    assert worst_ratio({"a": 0.0, "b": 0.5}, {"a": 0.0, "b": 0.0})["worst_ratio"] == pytest.approx(
        0.5 / RATIO_FLOOR_MIN
    )
    assert worst_ratio({"a": 0.0}, {"a": 0.0})["worst_ratio"] == 0.0
    # only columns with a floor count; none: nothing reported
    assert worst_ratio({"a": 0.2, "c": 9.0}, {"a": 0.1})["ratio_columns"] == 1
    assert worst_ratio({"a": 0.2}, {}) == {}


def test_no_holdout_no_ratio_and_the_rule_says_the_baseline_is_missing():
    result = run_metric(get_metric("fidelity.wasserstein")(), prepare_inputs(REAL, REAL.head(10)), seed=0)
    assert "worst_ratio" not in result.details
    run = evaluate(REAL, REAL.head(10), metrics=["fidelity.wasserstein"], seed=0)
    rules = [r for r in load_policy("default").policy.rules if getattr(r, "field", "") == "details.worst_ratio"]
    assert [r.metric for r in rules] == ["fidelity.wasserstein"]
    judged = evaluate_policy(Policy(id="p", version="1", rules=rules), run)
    assert [r.status for r in judged] == ["insufficient"]  # min_rows: no holdout rows
    without_min_rows = [r.model_copy(update={"min_rows": None}) for r in rules]
    judged = evaluate_policy(Policy(id="p", version="1", rules=without_min_rows), run)
    assert [r.status for r in judged] == ["error"] and "has no baseline" in judged[0].message


MARGINAL_METRICS = ["fidelity.ks", "fidelity.js", "fidelity.wasserstein"]


def judge(case, policy: str = "default") -> dict[str, tuple[str, str]]:
    """{rule id: (status, message)} of the policy's rules on the marginal metrics, on one grid case."""
    loaded = load_policy(policy).policy
    rules = [r for r in loaded.rules if getattr(r, "metric", None) in MARGINAL_METRICS]
    run = evaluate(case.real, case.synthetic, case.holdout, metrics=MARGINAL_METRICS, seed=case.seed)
    return {r.id: (r.status, r.message) for r in evaluate_policy(loaded.model_copy(update={"rules": rules}), run)}


@pytest.mark.parametrize(("table", "shape"), [("missing", "4:1-2k"), ("ids", "4:1-2k")])
def test_a_one_column_shift_at_2000_rows_fails_where_the_max_over_columns_rules_passed(table, shape):
    """+3 years of age (a quarter of its spread): the old rules, KS and JS within twice the noisiest
    column's floor, pass it (missing: KS 0.078 <= 2 x 0.049; ids: 0.0975 <= 2 x 0.0492); age against its
    own floor does not."""
    verdict = judge(build(table, shape, "shift", seed=0))
    assert verdict["marginals-numeric"][0] == "pass" and verdict["marginals-categorical"][0] == "pass", verdict
    assert verdict["marginals-numeric-columns"][0] == "fail", verdict
    assert "details.worst_ratio" in verdict["marginals-numeric-columns"][1]


@pytest.mark.parametrize("policy", ["ml-training", "external-sharing"])
def test_the_other_policies_judge_the_shift_per_column_too(policy):
    verdict = judge(build("missing", "4:1-2k", "shift", seed=0), policy)
    assert verdict["marginals-numeric-columns"][0] == "fail", verdict


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("table", "shape"), [("missing", "4:1-2k"), ("ids", "1:1-2k"), ("wide", "8:1-2k")])
def test_honest_data_passes_every_marginal_rule(table, shape, seed):
    verdict = judge(build(table, shape, "honest", seed=seed))
    assert {status for status, _ in verdict.values()} == {"pass"}, verdict
    assert set(verdict) == {"marginals-numeric", "marginals-categorical", "marginals-numeric-columns"}
