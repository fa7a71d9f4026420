"""The privacy pillar's acceptance scenarios and per-metric known answers.

Copies of training rows must be flagged (CI clear of the ideal) by exact_match, DCR, the DCR tail
and MIA; unseen real rows must be flagged by none, at a training : holdout ratio of 1:1, 4:1 and
8:1; copies with 1% numeric jitter must be flagged by the distance metrics but not by exact_match.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame

from qaharness.engine import run_metric, run_metrics
from qaharness.errors import ParameterError
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric, metric_ids
from qaharness.results import Goal, Status

PRIVACY = [m for m in metric_ids() if m.startswith("privacy.")]
FLAGGED_BY_COPIES = ["privacy.exact_match", "privacy.dcr", "privacy.dcr_tail", "privacy.mia", "privacy.nndr"]
RATIOS = {"1:1": 400, "4:1": 100, "8:1": 50}  # holdout rows beside 400 training rows


def _run(metric_id, data, seed=0, **params):
    return run_metric(get_metric(metric_id)(**params), data, seed=seed)


def _flags(result) -> bool:
    """The CI lies entirely on the bad side of the ideal (beyond it for a target metric: above)."""
    assert result.status is Status.OK, result.message
    return result.ci is not None and result.ci[0] > get_metric(result.id).ideal_value() + 1e-12


def _insufficient(result) -> bool:
    return result.status is Status.SKIPPED and bool(result.details.get("insufficient_evidence"))


def _jittered(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    for column in ("age", "income"):
        out[column] = out[column] * (1 + 0.01 * rng.standard_normal(len(out)))
    return out


@pytest.fixture(scope="module")
def frames():
    train, holdout, unseen = make_mixed_frame(400, 11), make_mixed_frame(400, 12), make_mixed_frame(400, 13)
    rng = np.random.default_rng(5)
    copies = train.iloc[rng.permutation(400)].reset_index(drop=True)
    return {"train": train, "holdout": holdout, "unseen": unseen, "copies": copies, "jitter": _jittered(copies, rng)}


def _data(frames, synthetic, ratio="1:1"):
    holdout = frames["holdout"].iloc[: RATIOS[ratio]]
    return prepare_inputs(frames["train"], frames[synthetic], holdout, target="label")


@pytest.mark.parametrize("metric_id", FLAGGED_BY_COPIES)
def test_copies_of_training_rows_are_flagged(frames, metric_id):
    assert _flags(_run(metric_id, _data(frames, "copies")))


@pytest.mark.slow
@pytest.mark.parametrize("ratio", list(RATIOS))
@pytest.mark.parametrize("metric_id", PRIVACY)
def test_unseen_real_rows_are_not_flagged_at_any_ratio(frames, metric_id, ratio):
    result = _run(metric_id, _data(frames, "unseen", ratio))
    if metric_id == "privacy.dcr_tail" and ratio == "8:1":  # 50 holdout rows cannot resolve a 1% quantile
        assert _insufficient(result), result.message
        return
    assert not _flags(result), (result.value, result.ci)


@pytest.mark.parametrize("ratio", list(RATIOS))
@pytest.mark.parametrize(
    "metric_id, flagged",
    [("privacy.dcr", True), ("privacy.dcr_tail", True), ("privacy.mia", True), ("privacy.exact_match", False)],
)
def test_jittered_copies_at_any_ratio(frames, metric_id, flagged, ratio):
    """Training rows with 1% jitter, as many as the training rows: flagged whatever the holdout's size
    (training was subsampled to the holdout's size before, which hid most copies at 8:1). The tail
    says 'insufficient evidence' on a 50-row holdout rather than judge a 1% quantile it cannot see."""
    result = _run(metric_id, _data(frames, "jitter", ratio))
    if metric_id == "privacy.dcr_tail" and ratio == "8:1":
        assert _insufficient(result), result.message
        return
    assert _flags(result) is flagged


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


def test_target_goal_for_share_and_auc_metrics():
    """DCR, NNDR and MIA are worse on either side of their ideal; the risks only above it."""
    assert {m for m in PRIVACY if get_metric(m).goal is Goal.TARGET} == {"privacy.dcr", "privacy.nndr", "privacy.mia"}
    assert get_metric("privacy.mia").ideal_value() == 0.5 and get_metric("privacy.dcr").ideal_value() == 0.0


def test_exact_match_known_answer():
    """Pooled attribution: t = 4 training, h = 2 holdout rows, chance π = 2/3.
    Rows 1 and 2 copy training rows (score 1 each), rows 3 and 4 copy a holdout row (score 0):
    excess = 2 (1 − 2/3) + 2 (0 − 2/3) = −2/3, so value = −2/3 / (n (1 − π)) = −0.5."""
    real = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "z", "w"]})
    synthetic = pd.DataFrame({"a": [1.0, 2.0, 9.0, 9.0], "b": ["x", "y", "q", "q"]})
    holdout = pd.DataFrame({"a": [9.0, 5.0], "b": ["q", "v"]})
    result = _run("privacy.exact_match", prepare_inputs(real, synthetic, holdout))
    assert result.value == pytest.approx(-0.5)
    assert result.details["share_identical_to_training"] == 0.5
    assert result.details["share_identical_to_holdout"] == 0.5
    assert result.details["synthetic_duplicate_rate"] == 0.25
    assert result.baseline == 0.0  # no holdout row equals a training row
    only_training = _run("privacy.exact_match", prepare_inputs(real, real.iloc[:2], holdout))
    assert only_training.value == pytest.approx(1.0)  # both rows copy training rows no holdout row equals


def test_exact_match_is_size_fair_on_discrete_data():
    """Honest rows of a low-cardinality table match training rows often; at 4:1 they match the larger
    training table more often than the holdout — the pooled attribution must still sit at 0."""
    rng = np.random.default_rng(3)

    def draw(n):
        return pd.DataFrame({c: rng.choice(list("abc"), n, p=[0.6, 0.3, 0.1]) for c in "uvwxy"})

    train, holdout, honest = draw(2000), draw(500), draw(1000)
    data = prepare_inputs(train, honest, holdout)
    result = _run("privacy.exact_match", data)
    assert result.details["share_identical_to_training"] > result.details["share_identical_to_holdout"] + 0.05
    assert result.ci[0] <= 0.0 <= result.ci[1], (result.value, result.ci)
    copies = pd.concat([honest.iloc[:700], train.iloc[:300]], ignore_index=True)
    assert _run("privacy.exact_match", prepare_inputs(train, copies, holdout)).value >= 0.0


def test_dcr_known_answer_and_null_share():
    """Pooled nearest neighbour: 4 training, 4 holdout rows → chance 0.5. Two synthetic rows sit on
    training rows, two nearer holdout rows: share 0.5, value 0."""
    real = pd.DataFrame({"a": [0.0, 10.0, 20.0, 30.0]})
    holdout = pd.DataFrame({"a": [5.0, 15.0, 25.0, 35.0]})
    synthetic = pd.DataFrame({"a": [0.0, 10.0, 16.0, 34.0]})
    result = _run("privacy.dcr", prepare_inputs(real, synthetic, holdout))
    assert result.value == 0.0 and result.details["share"] == 0.5 and result.details["null_share"] == 0.5
    assert result.details["share_exact_zero_to_training"] == 0.5
    assert result.details["dcr_p5_synthetic_to_training"] == 0.0
    on_training = _run("privacy.dcr", prepare_inputs(real, real.copy(), holdout))
    assert on_training.value == 1.0
    on_holdout = _run("privacy.dcr", prepare_inputs(real, holdout.copy(), holdout))
    assert on_holdout.value == -1.0  # every synthetic row sits on a holdout row (share 0 at chance 0.5)


def test_dcr_ties_count_the_training_share():
    """A synthetic row equally near 6 training rows and 2 holdout rows scores 6/8 (the chance level at
    t = 7, h = 3 is 0.7): value 1/6 ((0.75 − 0.7) / 0.3), not the 0.5 a tie counted half would give."""
    real = pd.DataFrame({"a": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0], "b": list("xxxxxxy")})
    holdout = pd.DataFrame({"a": [1.0, 1.0, 9.0], "b": list("xxy")})
    synthetic = pd.DataFrame({"a": [1.0, 1.0], "b": ["x", "x"]})
    data = prepare_inputs(real, synthetic, holdout)
    result = _run("privacy.dcr", data)
    assert result.details["ties"] == 2 and result.details["share"] == pytest.approx(0.75)
    assert result.details["null_share"] == pytest.approx(0.7) and result.value == pytest.approx(0.05 / 0.3)


def test_dcr_sampling_reported_and_widens_the_interval():
    tables = [make_mixed_frame(300, s) for s in (1, 2, 3)]
    sampled = _run("privacy.dcr", prepare_inputs(*tables), max_queries=50)
    full = _run("privacy.dcr", prepare_inputs(*tables))
    assert sampled.details["synthetic_rows_used"] == 50 and full.details["training_rows_used"] == 300
    assert sampled.ci[1] - sampled.ci[0] > full.ci[1] - full.ci[0]


def test_distance_metrics_share_one_neighbour_search():
    """DCR, NNDR and the tail read one cached search: the same synthetic rows, the same sizes."""
    data = prepare_inputs(make_mixed_frame(300, 1), make_mixed_frame(200, 2), make_mixed_frame(100, 3))
    results, _ = run_metrics(data, ["privacy.dcr", "privacy.nndr", "privacy.dcr_tail"], seed=0)
    dcr, nndr, tail = results
    assert dcr.details["synthetic_rows_used"] == nndr.details["synthetic_rows_used"] == 200
    assert tail.details["holdout_rows_used"] == dcr.details["holdout_rows_for_p5"] == 100
    alone = _run("privacy.nndr", data)
    assert alone.value == nndr.value and alone.ci == nndr.ci  # the order of metrics changes nothing


def test_dcr_tail_catches_five_percent_near_copies():
    """5% of 2,000 synthetic rows are training rows with 1% jitter: the tail test flags them while
    the DCR share's interval (diluted by 95% honest rows) need not."""
    train, holdout, unseen = (make_mixed_frame(2000, s) for s in (21, 22, 23))
    rng = np.random.default_rng(0)
    mixed = unseen.copy()
    mixed.iloc[:100] = _jittered(train.iloc[rng.choice(2000, 100, replace=False)], rng).to_numpy()
    tail = _run("privacy.dcr_tail", prepare_inputs(train, mixed, holdout))
    assert tail.ci[0] > 0.02 and tail.details["p_value"] < 1e-6
    assert tail.details["tails"]["q5"]["excess"] > 0.02
    honest = _run("privacy.dcr_tail", prepare_inputs(train, unseen, holdout))
    assert honest.ci[0] <= 0.0 <= honest.ci[1] and honest.details["p_value"] > 0.01


def test_nndr_known_answer():
    """A synthetic row on an isolated training record is distinctive (ratio 0); one between two
    records is not (ratio 1)."""
    real = pd.DataFrame({"a": [0.0, 100.0, 101.0]})
    holdout = pd.DataFrame({"a": [50.0, 60.0, 70.0]})
    synthetic = pd.DataFrame({"a": [0.0, 100.5]})
    result = _run("privacy.nndr", prepare_inputs(real, synthetic, holdout))
    assert result.details["distinctive_rows"] == 1
    assert result.details["share"] == 1.0 and result.details["null_share"] == 0.5
    assert result.value == pytest.approx(0.5)  # (1 − 0.5 · 1) / (2 · (1 − 0.5))


def test_mia_known_answer_on_copies():
    real = pd.DataFrame({"a": np.arange(0.0, 40.0, 2.0)})  # even numbers: members
    holdout = pd.DataFrame({"a": np.arange(1.0, 81.0, 2.0)})  # odd numbers: non-members and reference
    # declared numeric: unique integers packed into a range of about the row count read as a row key
    result = _run("privacy.mia", prepare_inputs(real, real.copy(), holdout, schema={"a": "numeric"}))
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
    assert inference.value == max(inference.per_column.values())  # every column leaks: all equal


def test_attribute_inference_headline_is_the_strongest_evidence(frames):
    """Honest data: the headline is not the noisiest column's point risk, and its interval is at the
    Bonferroni level over the attacked columns."""
    data = _data(frames, "unseen", "4:1")
    result = _run("privacy.attribute_inference", data, n_attacks=400)
    details = result.details
    assert details["selected_column"] in result.per_column
    lower = {c: d["simultaneous_ci"][0] for c, d in details["per_column"].items()}
    assert lower[details["selected_column"]] == max(lower.values())
    assert details["largest_point_risk"] == max(result.per_column.values()) >= result.value
    assert result.ci_level == pytest.approx(1 - 0.05 / len(result.per_column))


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


def test_singling_out_is_size_corrected(frames):
    """Unseen rows at 4:1: the holdout alone singles out far more queries than 400 training rows
    can, so an uncorrected control would hide risk; the corrected control is near the training rate."""
    result = _run("privacy.singling_out", _data(frames, "unseen", "4:1"), n_attacks=300)
    details = result.details
    assert "empirical Bayes" in details["control_correction"]
    assert abs(details["control_rate"] - details["main_rate"]) < 0.1
    assert details["control_observed_successes"] != round(details["control_successes"])


def test_holdout_overlap_flags_a_leaky_split(frames):
    leaky = pd.concat([frames["holdout"].iloc[:300], frames["train"].iloc[:100]], ignore_index=True)
    data = prepare_inputs(frames["train"], frames["unseen"], leaky, target="label")
    result = _run("privacy.holdout_overlap", data)
    assert _flags(result) and result.value == pytest.approx(0.25)
    assert any("holdout may not be unseen" in note for note in data.notes)
    assert not _flags(_run("privacy.holdout_overlap", _data(frames, "unseen")))


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


def test_pii_flags_a_replayed_integer_row_id():
    """An integer key declared an identifier: synthetic rows carrying training row ids are flagged."""
    real = make_mixed_frame(200, 1).assign(rownames=np.arange(200))
    holdout = make_mixed_frame(100, 2).assign(rownames=np.arange(200, 300))
    synthetic = make_mixed_frame(100, 3).assign(rownames=np.r_[np.arange(10), np.arange(1000, 1090)])
    data = prepare_inputs(real, synthetic, holdout, schema={"rownames": "identifier"})
    result = _run("privacy.pii", data)
    assert result.value == pytest.approx(0.1) and result.details["replayed_real_values"]["rownames"]["rows"] == 10
    assert "rownames" not in _run("privacy.dcr", data).details["columns"]


def test_too_little_evidence_is_said_not_passed(frames):
    """A handful of holdout rows cannot resolve the tail's quantile or an AUC: the metrics say
    so (skipped, insufficient evidence), and a rule reading them is 'insufficient', not 'pass'."""
    from datetime import date

    from qaharness.policy import load_policy
    from qaharness.results import InputInfo, Run
    from qaharness.rules import RuleContext
    from qaharness.rules.metric import MetricRule

    data = prepare_inputs(frames["train"], frames["jitter"], frames["holdout"].iloc[:12], target="label")
    results, _ = run_metrics(data, ["privacy.dcr_tail", "privacy.mia"], seed=0)
    for result in results:
        assert result.status is Status.SKIPPED and result.details["insufficient_evidence"] is True, result.message
    run = Run(
        qaharness_version="-",
        created_at="-",
        seed=0,
        inputs={n: InputInfo(source=n, sha256="-", rows=r, columns=6) for n, r in [("real", 400), ("holdout", 12)]},
        schema={},
        metrics=results,
    )
    rules = [r for r in load_policy("default").policy.rules if r.id in ("memorised-tail", "membership-inference")]
    rules.append(MetricRule(id="no-minimum", metric="privacy.dcr_tail", field="ci_low", op="<=", threshold=0.01))
    assert rules[-1].min_rows is None  # insufficient because the metric says so, not by a size floor
    assert {r.check(RuleContext(run=run, today=date.today())).status for r in rules} == {"insufficient"}
