"""The utility rules' minimum sizes, pinned through the gate on seeded calibration cases.

The sizes come from ``benchmarks/calibrate_utility.py`` (benchmarks/README.md, "Utility rules' minimum
sizes"): the smallest synthetic size at which a rule passes honest data in ≥ 95 % of seeds and still
catches every planted utility defect (fails, or says insufficient). Each test gates a case with a policy
holding only the bundled rule under test, so that rule's verdict is what is checked.
"""

from __future__ import annotations

import dataclasses

import pytest
from threadpoolctl import threadpool_limits

from qaharness.policy import LoadedPolicy, Policy, load_policy
from qaharness.testing import cases
from qaharness.testing.calibration import gate_case

#: (policy, rule) -> its minimum sizes, as calibrated; a change here needs a new calibration run
MIN_ROWS = {
    ("default", "ml-utility"): {"holdout": 200, "synthetic": 300},
    ("ml-training", "ml-utility"): {"holdout": 200, "synthetic": 300},
    ("external-sharing", "ml-utility"): {"holdout": 200, "synthetic": 500},
    ("ml-training", "ml-utility-confident"): {"holdout": 2000, "synthetic": 1000},
    ("ml-training", "same-features"): {"holdout": 1000, "synthetic": 1000},
}
#: the rules on the skill ratio; each is gated on the first rows of a 2,000-row honest / shuffled-target table
SKILL_RULES = [k for k in MIN_ROWS if k[1].startswith("ml-utility")]


def _one_rule(policy: str, rule_id: str) -> LoadedPolicy:
    bundled = load_policy(policy).policy
    rule = next(r for r in bundled.rules if r.id == rule_id)
    return LoadedPolicy(Policy(id=f"{policy}-{rule_id}", version=bundled.version, rules=[rule]), "<test>", "0" * 64)


def _rule_status(case: cases.Case, policy: LoadedPolicy, n_synthetic: int) -> tuple[str, str]:
    case = dataclasses.replace(case, synthetic=case.synthetic.iloc[:n_synthetic].reset_index(drop=True))
    with threadpool_limits(1):
        outcome = gate_case(case, policy, seed=case.seed)
    assert outcome.verdict not in ("error", "refused"), outcome.message
    (rule,) = outcome.rules
    return rule.status, rule.message


def test_bundled_minimum_sizes_are_the_calibrated_ones():
    for (policy, rule_id), rows in MIN_ROWS.items():
        rule = next(r for r in load_policy(policy).policy.rules if r.id == rule_id)
        assert rule.min_rows == rows, f"{policy}/{rule_id}: min_rows {rule.min_rows}, calibrated {rows}"
        assert "calibrate_utility.py" in rule.rationale, f"{policy}/{rule_id}: the rationale cites no calibration"


@pytest.mark.parametrize("policy, rule_id", SKILL_RULES, ids=["/".join(k) for k in SKILL_RULES])
def test_skill_ratio_decides_from_its_minimum(policy, rule_id):
    """At the minimum an honest extract passes and a shuffled target does not; one row fewer cannot decide."""
    loaded = _one_rule(policy, rule_id)
    n = MIN_ROWS[(policy, rule_id)]["synthetic"]
    honest = cases.build("adult", "1:1-2k", "honest", 0)
    shuffled = cases.build("adult", "1:1-2k", "shuffled-target", 0)
    status, message = _rule_status(honest, loaded, n)
    assert status == "pass", f"honest {n}-row extract: {status}: {message}"
    status, message = _rule_status(shuffled, loaded, n)
    assert status in ("fail", "insufficient"), f"shuffled target at {n} rows: {status}: {message}"
    status, message = _rule_status(honest, loaded, n - 1)
    assert status == "insufficient" and f"at least {n:,} synthetic rows" in message, message
