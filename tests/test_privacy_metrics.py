"""The privacy pillar's acceptance scenarios and per-metric known answers.

Copies of training rows must be flagged (CI clear of the ideal) by exact_match, DCR share and MIA;
unseen real rows must be flagged by none; copies with 1% numeric jitter must be flagged by DCR share
and MIA but not by exact_match.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame

from qaharness.engine import run_metric
from qaharness.errors import ParameterError
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric, metric_ids
from qaharness.results import Status

PRIVACY = [m for m in metric_ids() if m.startswith("privacy.")]
FLAGGED_BY_COPIES = ["privacy.exact_match", "privacy.dcr", "privacy.mia"]


def _run(metric_id, data, seed=0, **params):
    return run_metric(get_metric(metric_id)(**params), data, seed=seed)


def _flags(result) -> bool:
    """The CI lies entirely on the bad side of the ideal (every privacy metric here minimises)."""
    assert result.status is Status.OK, result.message
    return result.ci is not None and result.ci[0] > get_metric(result.id).ideal_value() + 1e-12


@pytest.fixture(scope="module")
def frames():
    train, holdout, unseen = make_mixed_frame(400, 11), make_mixed_frame(400, 12), make_mixed_frame(400, 13)
    rng = np.random.default_rng(5)
    copies = train.iloc[rng.permutation(400)].reset_index(drop=True)
    jitter = copies.copy()
    for column in ("age", "income"):
        jitter[column] = jitter[column] * (1 + 0.01 * rng.standard_normal(400))
    return {"train": train, "holdout": holdout, "unseen": unseen, "copies": copies, "jitter": jitter}


def _data(frames, synthetic):
    return prepare_inputs(frames["train"], frames[synthetic], frames["holdout"], target="label")


@pytest.mark.parametrize("metric_id", FLAGGED_BY_COPIES)
def test_copies_of_training_rows_are_flagged(frames, metric_id):
    assert _flags(_run(metric_id, _data(frames, "copies")))


@pytest.mark.parametrize("metric_id", PRIVACY)
def test_unseen_real_rows_are_not_flagged(frames, metric_id):
    result = _run(metric_id, _data(frames, "unseen"))
    assert not _flags(result), (result.value, result.ci)


@pytest.mark.parametrize(
    "metric_id, flagged", [("privacy.dcr", True), ("privacy.mia", True), ("privacy.exact_match", False)]
)
def test_jittered_copies(frames, metric_id, flagged):
    assert _flags(_run(metric_id, _data(frames, "jitter"))) is flagged


@pytest.mark.parametrize(
    "metric_id", ["privacy.singling_out", "privacy.linkability", "privacy.attribute_inference", "privacy.nndr"]
)
def test_anonymeter_style_risks_flag_copies(frames, metric_id):
    assert _flags(_run(metric_id, _data(frames, "copies")))


@pytest.mark.parametrize("metric_id", [m for m in PRIVACY if get_metric(m).requires_holdout])
def test_skipped_with_reason_without_holdout(frames, metric_id):
    data = prepare_inputs(frames["train"], frames["unseen"], target="label")
    result = _run(metric_id, data)
    assert result.status is Status.SKIPPED and "holdout" in result.message


def test_exact_match_known_answer():
    real = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "z", "w"]})
    synthetic = pd.DataFrame({"a": [1.0, 2.0, 9.0, 9.0], "b": ["x", "y", "q", "q"]})
    holdout = pd.DataFrame({"a": [9.0, 5.0], "b": ["q", "v"]})
    result = _run("privacy.exact_match", prepare_inputs(real, synthetic, holdout))
    assert result.value == 0.5 and result.baseline == 0.5
    assert result.details["synthetic_duplicate_rate"] == 0.25
    assert result.ci[0] < 0.5 < result.ci[1]


def test_dcr_known_answer_and_sampling_reported():
    real = pd.DataFrame({"a": [0.0, 10.0, 20.0, 30.0]})
    holdout = pd.DataFrame({"a": [5.0, 15.0, 25.0, 35.0]})
    synthetic = pd.DataFrame({"a": [0.0, 10.0, 16.0, 34.0]})  # two copies, two nearer the holdout
    result = _run("privacy.dcr", prepare_inputs(real, synthetic, holdout))
    assert result.value == 0.5
    assert result.details["share_exact_zero_to_training"] == 0.5
    assert result.details["dcr_p5_synthetic_to_training"] == 0.0
    sampled = _run(
        "privacy.dcr",
        prepare_inputs(make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(300, 3)),
        max_queries=50,
    )
    assert sampled.details["synthetic_rows_used"] == 50
    full = _run(
        "privacy.dcr", prepare_inputs(make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(300, 3))
    )
    assert sampled.ci[1] - sampled.ci[0] > full.ci[1] - full.ci[0]  # fewer rows, wider interval


def test_mia_known_answer_on_copies():
    real = pd.DataFrame({"a": np.arange(0.0, 40.0, 2.0)})  # even numbers: members
    holdout = pd.DataFrame({"a": np.arange(1.0, 81.0, 2.0)})  # odd numbers: non-members and reference
    result = _run("privacy.mia", prepare_inputs(real, real.copy(), holdout))
    assert result.value == 1.0 and result.details["attacks"]["distance"]["tpr_at_1pct_fpr"] == 1.0
    assert result.details["members"] == result.details["non_members"] == 20


def test_linkability_and_inference_known_answer_on_copies():
    rng = np.random.default_rng(0)
    real = pd.DataFrame(
        {
            "a": rng.permutation(50).astype(float),
            "b": rng.permutation(50).astype(float),
            "c": [f"k{i}" for i in rng.permutation(50)],
        }
    )
    holdout = pd.DataFrame(
        {"a": rng.permutation(50) + 0.5, "b": rng.permutation(50) + 0.5, "c": [f"k{i}" for i in rng.permutation(50)]}
    )
    data = prepare_inputs(real, real.copy(), holdout, schema={"c": "categorical"})
    link = _run("privacy.linkability", data)
    assert link.details["main_successes"] == 50
    inference = _run("privacy.attribute_inference", data)
    assert set(inference.per_column) == {"a", "b", "c"}
    assert all(d["main_successes"] == 50 for d in inference.details["per_column"].values())
    assert inference.value == max(inference.per_column.values())


def test_attribute_inference_uses_sensitive_columns(frames):
    data = prepare_inputs(
        frames["train"], frames["unseen"], frames["holdout"], target="label", sensitive=["group", "income"]
    )
    result = _run("privacy.attribute_inference", data, n_attacks=100)
    assert set(result.per_column) == {"group", "income"}
    assert result.details["per_column"]["income"]["regression"] is True
    assert result.details["secrets"] == "from --sensitive"
    capped = _run("privacy.attribute_inference", _data(frames, "unseen"), n_attacks=50, max_secrets=2)
    assert len(capped.per_column) == 2 and "cap" in capped.details["secrets"]


def test_bad_n_attacks_is_named():
    with pytest.raises(ParameterError, match=r"The 'n_attacks' parameter of privacy.linkability .*Got -3 instead"):
        get_metric("privacy.linkability")(n_attacks=-3)
    with pytest.raises(ParameterError, match="privacy.linkability has no parameter 'n_attack'; known: n_attacks"):
        get_metric("privacy.linkability")(n_attack=300)


def test_rare_real_values_never_appear_in_outputs(frames):
    train = frames["train"].assign(group=frames["train"]["group"].where(np.arange(400) != 7, "Zelda-Rare-Value"))
    synthetic = train.iloc[::-1].reset_index(drop=True)
    data = prepare_inputs(train, synthetic, frames["holdout"], target="label")
    for metric_id in PRIVACY:
        params = {"n_attacks": 200} if "n_attacks" in get_metric(metric_id).Params.model_fields else {}
        text = _run(metric_id, data, **params).model_dump_json()
        assert "Zelda-Rare-Value" not in text, metric_id


def test_pii_metric_counts_and_masks():
    n = 40
    real = pd.DataFrame(
        {
            "customer_id": [f"C{1000 + i}" for i in range(n)],
            "note": [f"client number {i} asked about the weekly plan again" for i in range(n)],
            "city": ["Oslo", "Rome"] * (n // 2),
        }
    )
    synthetic = real.copy()
    synthetic["customer_id"] = [f"C{1000 + i}" if i < 4 else f"S{i}" for i in range(n)]
    synthetic["note"] = [
        "mail jane.doe@example.org now please"
        if i == 0
        else "card 4111 1111 1111 1111 on file thanks"
        if i == 1
        else "iban GB82 WEST 1234 5698 7654 32 was given"
        if i == 2
        else f"quiet row {i} with nothing personal in it"
        for i in range(n)
    ]
    result = _run("privacy.pii", prepare_inputs(real, synthetic))
    assert result.details["replayed_real_values"]["customer_id"]["rows"] == 4
    hits = result.details["pattern_hits"]["note"]
    assert {"email", "card_luhn", "iban"} <= set(hits)
    assert result.value == pytest.approx(4 / n)  # rows 0-3 replay an id; rows 0-2 also carry patterns
    text = json.dumps(result.details)
    for raw in ("jane.doe@example.org", "4111 1111 1111 1111", "C1000", "GB82"):
        assert raw not in text
    assert hits["email"]["examples"] == ["xxxx.xxx@xxxxxxx.xxx"]
