"""The privacy metrics' declared conformance: on honest data (synthetic = fresh real rows of the same
population) each sits at its ideal within its stated tolerance, and the declared defect (a verbatim
copy of training) moves it at least 0.05 further away.

The inputs are the conformance suite's (300 training, 300 synthetic, 200 holdout rows of
``conftest.make_mixed_frame``), so these checks hold where the shared suite runs them.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_mixed_frame

from qaharness.engine import run_metric
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric, metric_ids

PRIVACY = [m for m in metric_ids() if m.startswith("privacy.")]


@pytest.fixture(scope="module")
def inputs():
    real, synthetic, holdout = make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(200, 3)
    copy = real.iloc[np.random.default_rng(11).permutation(300)].reset_index(drop=True)
    return {
        "honest": prepare_inputs(real, synthetic, holdout, target="label"),
        "identical": prepare_inputs(real, real.copy(), holdout, target="label"),
        "copy": prepare_inputs(real, copy, holdout, target="label"),
    }


@pytest.mark.parametrize("metric_id", PRIVACY)
def test_declared_input_gives_the_ideal(inputs, metric_id):
    cls = get_metric(metric_id)
    declared = getattr(cls, "conformance_input", "identical")
    assert declared in inputs, f"{metric_id} declares an ideal input this suite does not build: {declared!r}"
    result = run_metric(cls(), inputs[declared], seed=0)
    assert abs(result.value - cls.ideal_value()) <= cls.ideal_tolerance, (result.value, cls.ideal_tolerance)


@pytest.mark.parametrize("metric_id", [m for m in PRIVACY if getattr(get_metric(m), "conformance_defect", None)])
def test_declared_defect_moves_away_from_the_ideal(inputs, metric_id):
    cls = get_metric(metric_id)
    assert cls.conformance_defect == "copy"
    ideal = cls.ideal_value()
    honest = run_metric(cls(), inputs[cls.conformance_input], seed=0).value
    copied = run_metric(cls(), inputs["copy"], seed=0).value
    assert abs(copied - ideal) >= abs(honest - ideal) + 0.05, (honest, copied)
