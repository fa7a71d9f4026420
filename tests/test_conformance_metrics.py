"""The metric conformance suite (``qaharness.testing.metrics``) over every registered metric.

Test ids read ``fidelity.ks-consistent``; a check that does not apply is skipped with the metric's
own reason.
"""

from __future__ import annotations

import pytest

from qaharness.metrics import metric_ids
from qaharness.metrics._base import Metric, RunContext, register_metric
from qaharness.results import Family, Goal
from qaharness.testing import METRIC_CHECKS, CheckSkipped, ConformanceData, check_metric, run_metric_check
from qaharness.testing.metrics import metric_check_cases


@pytest.fixture(scope="module")
def data() -> ConformanceData:
    return ConformanceData()


def test_registry_is_not_empty():
    assert {"fidelity.ks", "fidelity.js", "fidelity.corr_diff", "fidelity.detection"} <= set(metric_ids())


@pytest.mark.parametrize(("metric_id", "check"), metric_check_cases(), ids=lambda v: v)
def test_metric_conformance(metric_id, check, data):
    try:
        run_metric_check(metric_id, check, data)
    except CheckSkipped as exc:
        pytest.skip(str(exc))


class _Broken(Metric):
    """A metric that claims its worst column but reports the mean. Range [0, 1]; lower is better."""

    id = "fidelity.broken_for_test"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    description = "test double"

    def compute(self, data, ctx: RunContext, *, rng):
        per_column = {c: float(i) / 10 for i, c in enumerate(data.columns())}
        return self.result(0.05, per_column=per_column, details={"worst_column": max(per_column, key=per_column.get)})


def test_the_suite_catches_a_metric_whose_headline_is_not_what_it_says(data):
    with pytest.raises(AssertionError, match="consistent: value 0.05 is not per_column"):
        check_metric(_Broken, data)


def test_check_metric_reports_each_check(data):
    from qaharness.metrics import get_metric

    outcomes = check_metric(get_metric("fidelity.ks"), data)
    assert set(outcomes) == set(METRIC_CHECKS)
    assert outcomes["ideal"] == "pass" and outcomes["defect"] == "pass", outcomes


def test_every_builtin_fidelity_and_utility_metric_declares_a_testable_ideal_and_defect():
    from qaharness.metrics import get_metric

    for metric_id in metric_ids():
        cls = get_metric(metric_id)
        if cls.family in (Family.FIDELITY, Family.UTILITY, Family.PROVENANCE):
            assert cls.conformance_identical_is_ideal, f"{metric_id} still skips the ideal check"
            assert cls.conformance_defect or metric_id == "utility.trtr", f"{metric_id} declares no defect"


def test_register_metric_still_rejects_a_bad_id():
    class Bad(Metric):
        id = "nofamily"
        family = Family.FIDELITY
        goal = Goal.MINIMIZE

    with pytest.raises(ValueError, match="must start with its family"):
        register_metric(Bad)
