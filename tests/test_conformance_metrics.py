"""One conformance suite over every registered metric (ids like ``fidelity.ks-bounds``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame

from qaharness.engine import run_metric
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric, metric_ids
from qaharness.results import MetricResult, Status

IDS = metric_ids()


def _frames():
    real = make_mixed_frame(300, 1)
    return real, make_mixed_frame(300, 2), make_mixed_frame(200, 3)


@pytest.fixture(scope="module")
def honest():
    real, synthetic, holdout = _frames()
    return prepare_inputs(real, synthetic, holdout, target="label")


@pytest.fixture(scope="module")
def identical():
    real, _, holdout = _frames()
    return prepare_inputs(real, real.copy(), holdout, target="label")


def _digest(frame: pd.DataFrame) -> str:
    return str(pd.util.hash_pandas_object(frame, index=True).sum()) + str(list(frame.dtypes))


def test_registry_is_not_empty():
    assert {"fidelity.ks", "fidelity.js", "fidelity.corr_diff", "fidelity.detection"} <= set(IDS)


@pytest.mark.parametrize("metric_id", IDS, ids=lambda i: f"{i}-bounds")
def test_bounds_and_status(metric_id, honest):
    cls = get_metric(metric_id)
    result = run_metric(cls(), honest, seed=0)
    assert result.id == metric_id and result.family == cls.family
    assert result.status is Status.OK, result.message
    low, high = cls.bounds
    assert (low is None or result.value >= low) and (high is None or result.value <= high)
    if result.ci:
        assert result.ci[0] <= result.ci[1]


@pytest.mark.parametrize("metric_id", IDS, ids=lambda i: f"{i}-ideal")
def test_identical_inputs_give_ideal(metric_id, identical):
    cls = get_metric(metric_id)
    if not cls.conformance_identical_is_ideal:
        pytest.skip(f"{metric_id}: {cls.identical_inputs_note} (declared by the metric)")
    result = run_metric(cls(), identical, seed=0)
    assert result.status is Status.OK, result.message
    assert result.value == pytest.approx(cls.ideal_value(), abs=cls.ideal_tolerance)


@pytest.mark.parametrize("metric_id", IDS, ids=lambda i: f"{i}-determinism")
def test_same_seed_same_result(metric_id, honest):
    cls = get_metric(metric_id)
    first = run_metric(cls(), honest, seed=7).model_dump_json()
    second = run_metric(cls(), honest, seed=7).model_dump_json()
    assert first == second


@pytest.mark.parametrize("metric_id", IDS, ids=lambda i: f"{i}-no-mutation")
def test_inputs_not_mutated(metric_id, honest):
    before = {name: _digest(getattr(honest, name)) for name in ("real", "synthetic", "holdout")}
    run_metric(get_metric(metric_id)(), honest, seed=0)
    assert before == {name: _digest(getattr(honest, name)) for name in ("real", "synthetic", "holdout")}


@pytest.mark.parametrize("metric_id", IDS, ids=lambda i: f"{i}-json")
def test_json_round_trip(metric_id, honest):
    result = run_metric(get_metric(metric_id)(), honest, seed=0)
    text = result.model_dump_json()
    json.loads(text)  # strict JSON (no NaN)
    assert MetricResult.model_validate_json(text) == result


@pytest.mark.parametrize("metric_id", IDS, ids=lambda i: f"{i}-docs")
def test_metric_is_documented(metric_id):
    cls = get_metric(metric_id)
    assert "range" in (cls.__doc__ or "").lower(), f"{metric_id}: docstring must state the range"
    assert cls.description, f"{metric_id}: needs a plain-language description for reports"


@pytest.mark.parametrize("metric_id", IDS, ids=lambda i: f"{i}-all-missing-column")
def test_all_missing_column_is_handled(metric_id):
    real, synthetic, holdout = _frames()
    for frame in (real, synthetic, holdout):
        frame["empty"] = np.nan
    data = prepare_inputs(real, synthetic, holdout, target="label")
    result = run_metric(get_metric(metric_id)(), data, seed=0)
    assert result.status is not Status.ERROR, result.message
