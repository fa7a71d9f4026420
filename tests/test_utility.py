"""Known-answer tests of the utility pillar (utility.trtr, tstr, tstr_ratio, trts, feature_importance_corr)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import f1_score, roc_auc_score

from qaharness.api import evaluate
from qaharness.engine import metric_rng
from qaharness.errors import BadInputError, ParameterError
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric
from qaharness.metrics._base import RunContext
from qaharness.metrics._utility import UtilityParams, get_fit
from qaharness.results import Run, Status

IDS = ["utility.trtr", "utility.tstr", "utility.tstr_ratio", "utility.trts", "utility.feature_importance_corr"]


def make_task_frame(n_rows: int, seed: int, task: str = "binary") -> pd.DataFrame:
    """x1 matters most, then x2, then the category; x3 is noise."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=(3, n_rows))
    group = rng.choice(["a", "b", "c"], n_rows, p=[0.5, 0.3, 0.2])
    signal = 2.0 * x1 + 1.0 * x2 + np.where(group == "a", 0.7, 0.0)
    if task == "binary":
        target = np.where(signal + rng.logistic(size=n_rows) > 0, "yes", "no")
    elif task == "multiclass":
        target = np.select([signal < -1, signal < 1], ["low", "mid"], "high")
    else:
        target = signal + rng.normal(scale=0.5, size=n_rows)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "group": group, "y": target})


def run_utility(real, synthetic, holdout, *, seed=0, task=None, metrics=None, params=None):
    return evaluate(
        real, synthetic, holdout, target="y", metrics=metrics or ["utility"], seed=seed, task=task, params=params
    )


@pytest.fixture(scope="module")
def binary_frames():
    return make_task_frame(1500, 1), make_task_frame(1500, 2), make_task_frame(800, 3)


def test_holdout_like_synthetic_keeps_the_utility(binary_frames):
    real, synthetic, holdout = binary_frames  # "synthetic" = fresh real rows
    run = run_utility(real, synthetic, holdout)
    assert all(run.metric(i).ok for i in IDS), [run.metric(i).message for i in IDS]
    trtr, tstr, ratio = (run.metric(i) for i in ("utility.trtr", "utility.tstr", "utility.tstr_ratio"))
    assert trtr.details["task"] == "binary" and trtr.details["score"] == "roc_auc"
    assert 0.75 < trtr.value < 1 and ratio.value == pytest.approx(1.0, abs=0.06)
    assert ratio.value == pytest.approx((tstr.value - 0.5) / (trtr.value - 0.5))  # skill above chance (AUC 0.5)
    assert trtr.details["chance"] == 0.5 and trtr.details["train_rows"] == {"real": 1500, "synthetic": 1500}
    assert ratio.ci[0] < 1.0 < ratio.ci[1] or abs(ratio.value - 1) < 0.01
    for result in (trtr, tstr):
        low, high = result.ci
        assert low < result.value < high and high - low < 0.1
        assert set(result.details["per_model"]) == {"xgboost", "logistic_regression"}
        assert result.details["per_model"]["logistic_regression"]["roc_auc"] > 0.8
    assert run.metric("utility.feature_importance_corr").value > 0.7
    assert run.task == "binary"


def test_identical_inputs_give_ratio_exactly_one_and_importance_corr_one(binary_frames):
    real, _, holdout = binary_frames
    run = run_utility(real, real.copy(), holdout, metrics=["utility.tstr_ratio", "utility.feature_importance_corr"])
    assert run.metric("utility.tstr_ratio").value == 1.0
    assert run.metric("utility.feature_importance_corr").value == pytest.approx(1.0)


def test_shuffled_target_gives_chance(binary_frames):
    real, synthetic, holdout = binary_frames
    shuffled = synthetic.assign(y=np.random.default_rng(5).permutation(synthetic["y"].to_numpy()))
    run = run_utility(real, shuffled, holdout)
    assert run.metric("utility.tstr").value == pytest.approx(0.5, abs=0.07)
    assert run.metric("utility.tstr_ratio").value < 0.65
    assert run.metric("utility.trts").value == pytest.approx(0.5, abs=0.07)  # the real model can't score it
    assert run.metric("utility.feature_importance_corr").value < 0.7


def test_trtr_matches_a_plain_xgboost_fit_and_sklearn_auc(binary_frames):
    real, synthetic, holdout = binary_frames
    data = prepare_inputs(real, synthetic, holdout, target="y")
    result = get_metric("utility.trtr")().compute(data, RunContext(), rng=np.random.default_rng(0))
    features = real[["x1", "x2", "x3"]].assign(group=pd.Categorical(real["group"], categories=["a", "b", "c"]))
    test = holdout[["x1", "x2", "x3"]].assign(group=pd.Categorical(holdout["group"], categories=["a", "b", "c"]))
    params = {
        k: v
        for k, v in result.details["model"].items()
        if k not in ("name", "num_boost_round", "single_thread_below_rows")
    }
    params["nthread"] = 1
    booster = xgb.train(params, xgb.DMatrix(features, label=(real["y"] == "yes"), enable_categorical=True), 200)
    expected = roc_auc_score(holdout["y"] == "yes", booster.predict(xgb.DMatrix(test, enable_categorical=True)))
    assert result.value == pytest.approx(expected, abs=1e-6)
    assert result.details["positive_class"] == "True"  # yes/no is read as boolean


def test_regression_reports_r2_and_mae():
    real, synthetic, holdout = (make_task_frame(1200, s, "regression") for s in (11, 12, 13))
    run = run_utility(real, synthetic, holdout, metrics=["utility.trtr", "utility.tstr_ratio", "utility.tstr"])
    trtr = run.metric("utility.trtr")
    assert trtr.details["task"] == "regression" and trtr.details["score"] == "r2"
    assert set(trtr.details["scores"]) == {"r2", "mae"} and trtr.details["scores"]["mae"] > 0
    assert 0.8 < trtr.value <= 1 and trtr.details["per_model"]["ridge_regression"]["r2"] > 0.8
    assert run.metric("utility.tstr_ratio").value == pytest.approx(1.0, abs=0.05)
    noise = synthetic.assign(y=np.random.default_rng(1).permutation(synthetic["y"].to_numpy()))
    bad = run_utility(real, noise, holdout, metrics=["utility.tstr"]).metric("utility.tstr")
    assert bad.ok and bad.value < 0.05  # no better than the mean; R² may go below 0


def test_multiclass_reports_macro_f1_and_accuracy():
    real, synthetic, holdout = (make_task_frame(1200, s, "multiclass") for s in (21, 22, 23))
    data = prepare_inputs(real, synthetic, holdout, target="y")
    result = get_metric("utility.tstr")().compute(data, RunContext(), rng=np.random.default_rng(0))
    assert result.details["task"] == "multiclass" and result.details["score"] == "macro_f1"
    fit = get_fit(data, UtilityParams(), RunContext())
    predicted = np.array(fit.classes)[fit.predict("synthetic", "holdout").argmax(axis=1)]
    assert result.value == pytest.approx(f1_score(holdout["y"], predicted, average="macro"))
    assert result.details["scores"]["accuracy"] > 0.75 and result.value > 0.7
    assert result.details["n_classes"] == 3


def test_task_override_and_detection():
    real, synthetic, holdout = (make_task_frame(400, s) for s in (1, 2, 3))
    run = run_utility(real, synthetic, holdout, task="multiclass", metrics=["utility.trtr"])
    assert run.metric("utility.trtr").details["score"] == "macro_f1"
    bad = run_utility(real, synthetic, holdout, task="regression", metrics=["utility.trtr"]).metric("utility.trtr")
    assert bad.status is Status.ERROR and "numeric target" in bad.message
    with pytest.raises(BadInputError, match="unknown task 'ranking'"):  # rejected at the input boundary
        run_utility(real, synthetic, holdout, task="ranking", metrics=["utility.trtr"])
    continuous = [make_task_frame(400, s, "regression") for s in (1, 2, 3)]
    many = run_utility(*continuous, task="classification", metrics=["utility.trtr"]).metric("utility.trtr")
    assert many.status is Status.ERROR and "400 classes" in many.message and "--task regression" in many.message
    ints = [f.assign(y=np.where(f["y"] == "yes", 1.0, 3.0) + (f["x1"] > 1)) for f in (real, synthetic, holdout)]
    assert run_utility(*ints, metrics=["utility.trtr"]).metric("utility.trtr").details["task"] == "multiclass"


def test_leakage_warning_names_the_column(binary_frames):
    real, synthetic, holdout = (f.assign(outcome_code=np.where(f["y"] == "yes", "P", "N")) for f in binary_frames)
    run = run_utility(real, synthetic, holdout, metrics=["utility.trtr", "utility.tstr"])
    for metric_id in ("utility.trtr", "utility.tstr"):
        result = run.metric(metric_id)
        assert "leakage suspected" in result.message and "'outcome_code'" in result.message
        assert [d["column"] for d in result.details["leakage"]] == ["outcome_code"]
    clean = run_utility(*binary_frames, metrics=["utility.trtr"]).metric("utility.trtr")
    assert clean.details["leakage"] == [] and "leakage" not in clean.message


def test_class_missing_from_synthetic_is_named_and_rare_ones_masked():
    real, synthetic, holdout = (make_task_frame(900, s, "multiclass") for s in (31, 32, 33))
    no_high = synthetic[synthetic["y"] != "high"]
    result = run_utility(real, no_high, holdout, metrics=["utility.tstr"]).metric("utility.tstr")
    assert result.ok and "missing from the synthetic target: 'high'" in result.message
    rare_real = pd.concat([real, real.head(5).assign(y="vip")], ignore_index=True)  # 5 rows ≤ k = 7
    masked = run_utility(rare_real, synthetic, holdout, metrics=["utility.tstr"]).metric("utility.tstr")
    assert masked.ok and "rare#" in masked.message and "vip" not in json.dumps(masked.model_dump(mode="json"))


def test_single_class_synthetic_is_an_error_not_a_crash(binary_frames):
    real, synthetic, holdout = binary_frames
    only_yes = synthetic[synthetic["y"] == "yes"]
    run = run_utility(real, only_yes, holdout)
    for metric_id in ("utility.tstr", "utility.tstr_ratio", "utility.feature_importance_corr", "utility.trts"):
        result = run.metric(metric_id)
        assert result.status is Status.ERROR and "single class (True)" in result.message, result.message
    assert run.metric("utility.trtr").ok


def test_without_holdout_or_target_utility_is_skipped(binary_frames):
    real, synthetic, holdout = binary_frames
    no_holdout = evaluate(real, synthetic, target="y", metrics=["utility"])
    no_target = evaluate(real, synthetic, holdout, metrics=["utility"])
    for run, word in ((no_holdout, "holdout"), (no_target, "target")):
        assert all(r.status is Status.SKIPPED and word in r.message for r in run.metrics)
    data = prepare_inputs(real, synthetic, target="y")
    direct = get_metric("utility.tstr")().compute(data, RunContext(), rng=np.random.default_rng(0))
    assert direct.status is Status.SKIPPED and "holdout" in direct.message


def test_same_seed_same_numbers_and_results_json(tmp_path, binary_frames):
    real, synthetic, holdout = binary_frames
    first = run_utility(real, synthetic, holdout, seed=4)
    # a new run refits from scratch (the fit lives in the run's context): fits must be deterministic
    second = run_utility(real.copy(), synthetic.copy(), holdout.copy(), seed=4)
    assert [m.model_dump() for m in first.metrics] == [m.model_dump() for m in second.metrics]
    path = first.write(tmp_path)
    stored = json.loads(path.read_text())
    assert [m["id"] for m in stored["metrics"]] == sorted(IDS)
    assert Run.read(tmp_path).metric("utility.tstr_ratio").value == first.metric("utility.tstr_ratio").value
    other = run_utility(real, synthetic, holdout, seed=5, metrics=["utility.tstr"]).metric("utility.tstr")
    assert other.value == first.metric("utility.tstr").value and other.ci != first.metric("utility.tstr").ci


def test_the_five_metrics_share_one_fit(binary_frames):
    real, synthetic, holdout = binary_frames
    data = prepare_inputs(real, synthetic, holdout, target="y")
    ctx = RunContext()
    fit = get_fit(data, UtilityParams(), ctx)
    for metric_id in IDS:
        get_metric(metric_id)().compute(data, ctx, rng=metric_rng(0, metric_id))
    assert len(ctx) == 1, "the five metrics with default parameters share one fit"
    assert get_fit(data, UtilityParams(), ctx) is fit
    assert {("booster", "real"), ("booster", "synthetic")} <= set(fit._cache)
    assert get_fit(data, UtilityParams(model_seed=1), ctx) is not fit
    other = prepare_inputs(real, synthetic, holdout, target="y")
    assert get_fit(other, UtilityParams(), ctx) is not fit
    assert get_fit(data, UtilityParams(), RunContext()) is not fit, "a new run shares nothing"


def test_bad_parameter_is_named():
    real, synthetic, holdout = (make_task_frame(200, s) for s in (1, 2, 3))
    with pytest.raises(ParameterError, match="The 'n_estimators' parameter of utility.trtr must be greater"):
        run_utility(real, synthetic, holdout, metrics=["utility.trtr"], params={"utility.trtr": {"n_estimators": 0}})
    with pytest.raises(ParameterError, match="utility.tstr has no parameter 'n_estimator'; known: model_seed") as typo:
        run_utility(real, synthetic, holdout, metrics=["utility.tstr"], params={"utility.tstr": {"n_estimator": 10}})
    assert (typo.value.owner, typo.value.parameter, typo.value.exit_code) == ("utility.tstr", "n_estimator", 2)


def test_mixed_frame_runs_fast_and_in_bounds(mixed_frames):
    real, synthetic, holdout = mixed_frames
    run = evaluate(real, synthetic, holdout, target="label", metrics=["utility"], seed=0)
    for result in run.metrics:
        assert result.ok, result.message
        low, high = result.bounds
        assert (low is None or result.value >= low) and (high is None or result.value <= high)
    assert sum(run.timings.values()) < 10


def test_skill_ratio_is_excess_over_chance_and_chance_matches_sklearn():
    real, synthetic, holdout = (make_task_frame(900, s, "multiclass") for s in (41, 42, 43))
    run = run_utility(real, synthetic, holdout, metrics=["utility.tstr_ratio", "utility.trtr", "utility.tstr"])
    ratio, trtr, tstr = (run.metric(i) for i in ("utility.tstr_ratio", "utility.trtr", "utility.tstr"))
    majority = real["y"].value_counts().idxmax()
    constant = f1_score(holdout["y"], [majority] * len(holdout), average="macro")
    # labels guessed at random in real's proportions q: expected per-class F1 2pq / (p + q)
    p = holdout["y"].value_counts(normalize=True)
    q = real["y"].value_counts(normalize=True).reindex(p.index, fill_value=0)
    guessing = float((2 * p * q / (p + q)).mean())
    chance = max(constant, guessing)
    assert guessing > constant  # three classes: the majority alone would overstate skill
    assert ratio.details["chance"] == pytest.approx(chance) == trtr.details["chance"]
    assert ratio.value == pytest.approx((tstr.value - chance) / (trtr.value - chance))
    assert ratio.ci[0] <= ratio.value <= ratio.ci[1]


def test_a_target_the_real_model_cannot_predict_makes_utility_insufficient_evidence(tmp_path):
    from qaharness.gate import run_gate

    rng = np.random.default_rng(7)
    real, synthetic, holdout = (make_task_frame(n, s) for n, s in ((600, 51), (600, 52), (300, 53)))
    real, synthetic, holdout = (f.assign(y=rng.choice(["yes", "no"], len(f))) for f in (real, synthetic, holdout))
    run = run_utility(real, synthetic, holdout, metrics=["utility.tstr_ratio", "utility.feature_importance_corr"])
    for metric_id in ("utility.tstr_ratio", "utility.feature_importance_corr"):
        result = run.metric(metric_id)
        assert result.status is Status.SKIPPED and result.details["insufficient_evidence"] is True
        assert "the real model barely beats chance; utility cannot be judged" in result.message
    gate = run_gate(real, synthetic, holdout, out=tmp_path, policy="ml-training", target="y", seed=0, record=False)
    rule = next(r for r in gate.run.rules if r.metric == "utility.tstr_ratio")
    assert rule.status == "insufficient" and rule.severity == "error" and gate.exit_code == 1


def test_rows_with_a_missing_target_are_named_in_the_run_notes(binary_frames):
    real, synthetic, holdout = binary_frames
    holdout = holdout.copy()
    holdout.loc[holdout.index[:37], "y"] = None
    run = run_utility(real, synthetic, holdout, metrics=["utility.trtr", "utility.tstr_ratio"])
    assert run.metric("utility.trtr").details["rows_dropped"]["holdout"] == 37
    notes = [n for n in run.notes if n.startswith("utility:")]
    assert notes == [
        "utility: 37 holdout row(s) of 'y' left out of model training and scoring (37 with a missing target)"
    ]


def test_the_real_model_learns_from_as_many_rows_as_synthetic_has(binary_frames):
    from qaharness.metrics._utility import matched_rows

    real, synthetic, holdout = binary_frames
    small = synthetic.head(150)
    run = run_utility(real, small, holdout, metrics=["utility.trtr", "utility.tstr_ratio"])
    trtr = run.metric("utility.trtr")
    assert trtr.details["train_rows"] == {"real": 150, "synthetic": 150}
    data = prepare_inputs(real, small, holdout, target="y")
    fit = get_fit(data, UtilityParams(), RunContext())
    rows = matched_rows(fit.y["real"], 150, 0, True)
    assert rows.size == 150 and np.bincount(fit.y["real"][rows]).tolist() == pytest.approx(
        (np.bincount(fit.y["real"]) * 150 / 1500).round().tolist(), abs=1
    )
    full = run_utility(real, synthetic, holdout, metrics=["utility.trtr"]).metric("utility.trtr")
    assert full.details["train_rows"]["real"] == 1500 and full.value > trtr.value  # more rows, more skill
    assert run.metric("utility.tstr_ratio").value == pytest.approx(1.0, abs=0.25)  # judged like for like


def test_importance_agreement_known_answers():
    from qaharness.metrics.utility_feature_importance_corr import importance_agreement

    assert importance_agreement(np.array([0.3, 0.1, -0.05]), np.array([0.2, 0.2, 0.0])) == pytest.approx(0.75)
    assert importance_agreement(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 0.0
    assert importance_agreement(np.array([1.0, 0.0]), np.array([-1.0, -2.0])) == 0.0  # relies on nothing
    # noise features near 0 in both models weigh almost nothing, however many there are
    noise = np.full(50, 1e-4)
    assert importance_agreement(np.r_[0.2, 0.1, noise], np.r_[0.2, 0.1, noise[::-1]]) == pytest.approx(1.0)
    # a synthetic model with half the real importances reproduces half of them
    assert importance_agreement(np.array([0.4, 0.2, 0.0]), np.array([0.2, 0.1, 0.0])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="relies on no feature"):
        importance_agreement(np.zeros(3), np.ones(3))


def test_shuffled_target_loses_the_importance_agreement(binary_frames):
    real, synthetic, holdout = binary_frames
    shuffled = synthetic.assign(y=np.random.default_rng(9).permutation(synthetic["y"].to_numpy()))
    honest = run_utility(real, synthetic, holdout, metrics=["utility.feature_importance_corr"])
    bad = run_utility(real, shuffled, holdout, metrics=["utility.feature_importance_corr"])
    good, worse = honest.metric("utility.feature_importance_corr"), bad.metric("utility.feature_importance_corr")
    assert good.value > 0.8 and worse.value < 0.5, (good.value, worse.value)
    assert good.details["importance"] == "permutation" and good.details["spearman"] is not None


def test_a_model_fit_to_a_shuffled_multiclass_target_has_no_skill_above_chance():
    """A model trained on shuffled labels scores about 1/K macro-F1 — chance, not skill (the
    majority class's macro-F1 is far below that, and would count guessing as skill)."""
    real, synthetic, holdout = (make_task_frame(1500, s, "multiclass") for s in (61, 62, 63))
    rng = np.random.default_rng(5)
    synthetic = synthetic.assign(y=rng.permutation(synthetic["y"].to_numpy()))
    run = run_utility(real, synthetic, holdout, metrics=["utility.tstr", "utility.tstr_ratio"])
    tstr, ratio = run.metric("utility.tstr"), run.metric("utility.tstr_ratio")
    assert abs(tstr.value - tstr.details["chance"]) < 0.06
    assert ratio.ci[1] < 0.5, ratio.ci
