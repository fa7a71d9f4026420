"""The calibration case builders (qaharness.testing.cases) and the verdict judge: no gate runs here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qaharness.results import Family, RuleResult
from qaharness.testing import cases
from qaharness.testing.calibration import judge
from qaharness.testing.tables import TABLES, ShapeUnavailable


def _rows(frame: pd.DataFrame) -> set[int]:
    return set(pd.util.hash_pandas_object(frame, index=False))


@pytest.mark.parametrize("table", list(TABLES))
def test_tables_have_their_columns_and_structure(table):
    spec = TABLES[table]
    frame = spec.draw(600, np.random.default_rng(0))
    assert len(frame) == 600 and list(frame.index) == list(range(600))
    for column in (spec.target, spec.shift_column, spec.collapse_column, *spec.id_columns):
        assert column in frame.columns, column
    assert frame[spec.target].nunique() >= 2
    for column in spec.id_columns:
        assert frame[column].is_unique, column
    if spec.shift_levels:
        assert set(frame[spec.shift_column]) <= set(spec.shift_levels)


def test_seeded_tables_have_the_promised_shape():
    wide = TABLES["wide"].draw(400, np.random.default_rng(1))
    assert wide.shape[1] == 74
    missing = TABLES["missing"].draw(2000, np.random.default_rng(1))
    rates = missing.isna().mean()
    assert 0.05 < rates["bmi"] < 0.15 and rates["cholesterol"] > 0.05 and rates["age"] == 0
    # not at random: unrecorded cholesterol goes with higher blood pressure (both load on one latent)
    unrecorded = missing["cholesterol"].isna()
    assert missing.loc[unrecorded, "systolic_bp"].mean() > missing.loc[~unrecorded, "systolic_bp"].mean() + 3
    discrete = TABLES["discrete"].draw(2000, np.random.default_rng(1))
    assert all(discrete[c].nunique() <= 5 for c in discrete.columns)
    assert discrete.duplicated().mean() > 0.2  # few distinct rows: the point of this table
    ids = TABLES["ids"].draw(500, np.random.default_rng(1))
    assert ids["rownames"].dtype.kind == "i" and ids["patient_id"].str.fullmatch(r"PT\d{7}").all()


def test_table_columns_depend_on_each_other():
    wide = TABLES["wide"].draw(3000, np.random.default_rng(2))
    numeric = wide.select_dtypes("number")
    corr = numeric.corr().abs().to_numpy()
    assert np.nanmax(corr - np.eye(len(corr))) > 0.3
    discrete = TABLES["discrete"].draw(3000, np.random.default_rng(2))
    table = pd.crosstab(discrete["age_band"], discrete["employment"], normalize="index")
    assert table.loc["75+", "retired"] > 0.5 > table.loc["18-29", "retired"]


def test_adult_is_the_bundled_data():
    frame = TABLES["adult"].draw(100, np.random.default_rng(0))
    assert frame["income"].isin(["<=50K", ">50K"]).all() and frame.shape[1] == 15
    with pytest.raises(ShapeUnavailable, match="48,842 rows"):
        TABLES["adult"].draw(60_000, np.random.default_rng(0))


def test_build_is_deterministic_and_leaves_global_state_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = cases.build("missing", "1:1-300", "jitter-10", seed=4)
    b = cases.build("missing", "1:1-300", "jitter-10", seed=4)
    assert np.array_equal(np.random.get_state()[1], before)
    for x, y in zip(list(a)[:3], list(b)[:3], strict=True):
        pd.testing.assert_frame_equal(x, y)
    c = cases.build("missing", "1:1-300", "jitter-10", seed=5)
    assert not a.real.equals(c.real)


def test_cases_of_one_draw_share_training_and_holdout():
    honest = cases.build("adult", "4:1-2k", "honest", seed=0)
    copied = cases.build("adult", "4:1-2k", "copies-30", seed=0)
    pd.testing.assert_frame_equal(honest.real, copied.real)
    pd.testing.assert_frame_equal(honest.holdout, copied.holdout)
    assert (len(honest.real), len(honest.holdout), len(honest.synthetic)) == (2000, 500, 2000)


def test_honest_rows_are_unseen_and_copies_are_training_rows():
    real, synthetic, holdout, target, expected = cases.build("adult", "1:1-300", "honest", seed=0)
    assert target == "income" and expected.outcome == "pass"
    assert len(_rows(synthetic) & _rows(real)) <= 3 and len(_rows(holdout) & _rows(real)) <= 3  # coincidences only
    full = cases.build("adult", "1:1-300", "copies", seed=0)
    assert _rows(full.synthetic) <= _rows(full.real)
    part = cases.build("adult", "1:1-300", "copies-10", seed=0)
    copied = pd.util.hash_pandas_object(part.synthetic, index=False).isin(_rows(part.real)).sum()
    assert copied >= 30  # 10 % of 300 (an unseen row may coincide with a training row by chance)


@pytest.mark.parametrize("table", ["adult", "wide", "ids", "missing"])
def test_jittered_copies_leave_no_exact_match(table):
    case = cases.build(table, "1:1-300", "jitter", seed=1)
    assert not (_rows(case.synthetic) & _rows(case.real))
    spec = TABLES[table]
    for column in spec.id_columns:  # ids are fresh: the jitter case is about the attribute values
        assert not set(case.synthetic[column]) & set(case.real[column])
    assert case.synthetic.dtypes.equals(case.real.dtypes)


def test_defects_change_what_they_say():
    collapse = cases.build("adult", "1:1-300", "collapse", seed=0)
    assert collapse.synthetic["occupation"].nunique() == 1
    shift = cases.build("adult", "1:1-300", "shift", seed=0)
    honest = cases.build("adult", "1:1-300", "honest", seed=0)
    assert (shift.synthetic["age"] - honest.synthetic["age"]).eq(3).all()
    shifted_band = cases.build("discrete", "1:1-300", "shift", seed=0).synthetic["age_band"].eq("75+").mean()
    honest_band = cases.build("discrete", "1:1-300", "honest", seed=0).synthetic["age_band"].eq("75+").mean()
    assert shifted_band > honest_band > 0
    shuffled = cases.build("adult", "1:1-300", "shuffled-target", seed=0)
    assert sorted(shuffled.synthetic["income"]) == sorted(honest.synthetic["income"])
    assert not shuffled.synthetic["income"].equals(honest.synthetic["income"])
    ids = cases.build("ids", "1:1-300", "replayed-ids", seed=0)
    assert set(ids.synthetic["patient_id"]) <= set(ids.real["patient_id"])
    weak = cases.build("adult", "1:1-300", "weak-signal", seed=0)
    assert not weak.real["income"].equals(honest.real["income"])  # the task itself is weakened


def test_independent_columns_break_dependence():
    case = cases.build("wide", "1:1-2k", "independent", seed=0)
    corr = case.synthetic[["age", "num_0", "num_1"]].corr().abs().to_numpy()
    real = case.real[["age", "num_0", "num_1"]].corr().abs().to_numpy()
    assert np.max(corr - np.eye(3)) < 0.1 < np.max(real - np.eye(3))


def test_shapes_with_special_holdouts():
    same = cases.build("adult", "holdout=train", "honest", seed=0)
    pd.testing.assert_frame_equal(same.real, same.holdout)
    assert same.real is not same.holdout and same.expected.outcome == "refused"
    tiny = cases.build("adult", "tiny-holdout", "jitter", seed=0)
    assert len(tiny.holdout) == 6 and tiny.expected.outcome == "not-pass" and tiny.expected.catch == {"privacy"}
    small = cases.build("adult", "small-synthetic", "honest", seed=0)
    assert len(small.synthetic) == 150 and small.expected.outcome == "pass"


def test_expectations_follow_power():
    assert cases.build("adult", "1:1-300", "jitter-5", seed=0).expected.outcome == "clean-only"
    strong = cases.build("adult", "1:1-2k", "jitter-5", seed=0).expected
    assert strong.outcome == "caught" and strong.catch == {"privacy"} and strong.clean == {"utility"}
    copies = cases.build("adult", "1:1-2k", "copies-5", seed=0).expected
    assert copies.clean == {"fidelity", "utility"}  # exact copies leave the marginals as they are
    ids = cases.build("ids", "1:1-300", "replayed-ids", seed=0).expected
    assert ids.metrics == {"privacy.pii"}


def test_unavailable_cells_say_why():
    assert "identifier columns" in cases.unavailable("adult", "1:1-300", "replayed-ids")
    assert "numeric" in cases.unavailable("discrete", "1:1-300", "jitter")
    assert "48,842" in cases.unavailable("adult", "1:1-50k", "honest")
    with pytest.raises(ShapeUnavailable):
        cases.build("adult", "1:1-50k", "honest", seed=0)
    with pytest.raises(KeyError, match="unknown case 'nope'; known: honest"):
        cases.build("adult", "1:1-300", "nope", seed=0)
    cells = list(cases.grid(["adult", "ids"], ["1:1-300"], ["honest", "replayed-ids"]))
    assert cells == [("adult", "1:1-300", "honest"), ("ids", "1:1-300", "honest"), ("ids", "1:1-300", "replayed-ids")]


def _rule(rule_id: str, family: Family, status: str, metric: str = "m.x", severity: str = "error") -> RuleResult:
    return RuleResult(id=rule_id, metric=metric, family=family, status=status, severity=severity)


def test_judge_known_answers():
    caught = cases.Expected("caught", "", frozenset({"privacy"}), frozenset({"fidelity"}))
    ok = judge(caught, "fail", [_rule("dcr", Family.PRIVACY, "fail"), _rule("ks", Family.FIDELITY, "pass")])
    assert ok.ok and ok.caught and not ok.wrongly_failed
    # a warning catches a defect only where the policy has no error-severity rule on that pillar
    warned = judge(caught, "warn", [_rule("nndr", Family.PRIVACY, "fail", severity="warn")])
    assert warned.ok and warned.caught
    let_through = [_rule("nndr", Family.PRIVACY, "fail", severity="warn"), _rule("dcr", Family.PRIVACY, "pass")]
    assert not judge(caught, "warn", let_through).ok
    wrong = judge(caught, "fail", [_rule("dcr", Family.PRIVACY, "fail"), _rule("ks", Family.FIDELITY, "fail")])
    assert not wrong.ok and wrong.wrongly_failed == ("fidelity",)
    missed = judge(caught, "fail", [_rule("ks", Family.UTILITY, "fail")])
    assert not missed.ok and missed.caught is False
    via = cases.Expected("caught", "", frozenset({"privacy"}), metrics=frozenset({"privacy.pii"}))
    assert not judge(via, "fail", [_rule("dcr", Family.PRIVACY, "fail", metric="privacy.dcr")]).ok
    assert judge(via, "fail", [_rule("pii", Family.PRIVACY, "insufficient", metric="privacy.pii")]).ok
    honest = cases.Expected("pass", "", clean=frozenset(cases.PILLARS))
    assert judge(honest, "pass", [_rule("ks", Family.FIDELITY, "pass")]).ok
    assert not judge(honest, "warn", [_rule("cov", Family.FIDELITY, "fail", severity="warn")]).ok
    # a warning that cannot decide (too few rows for that check) is no false alarm; an error rule that cannot is
    assert judge(honest, "warn", [_rule("feat", Family.UTILITY, "insufficient", severity="warn")]).ok
    assert not judge(honest, "fail", [_rule("util", Family.UTILITY, "insufficient")]).ok
    refused = cases.Expected("refused", "")
    assert judge(refused, "refused", []).ok and not judge(refused, "pass", []).ok
    assert not judge(honest, "refused", []).ok and not judge(honest, "error", []).ok
    not_pass = cases.Expected("not-pass", "", frozenset({"privacy"}))
    assert judge(not_pass, "fail", [_rule("x", Family.PRIVACY, "insufficient")]).ok
    assert not judge(not_pass, "pass", []).ok
    # failing for another reason (utility cannot run on 6 rows) does not excuse a privacy pass
    assert not judge(not_pass, "fail", [_rule("u", Family.UTILITY, "error"), _rule("x", Family.PRIVACY, "pass")]).ok


def test_judge_counts_an_undecided_warning_as_caught_on_a_warn_only_pillar():
    weak = cases.Expected("caught", "", frozenset({"utility"}), frozenset({"privacy"}))
    undecided = _rule("ml-utility", Family.UTILITY, "insufficient", severity="warn")
    assert judge(weak, "warn", [undecided, _rule("dcr", Family.PRIVACY, "pass")]).caught is True
    # where the policy has an error rule on the pillar, a warning (decided or not) lets the defect through
    blocking = _rule("ml-utility-error", Family.UTILITY, "pass")
    assert judge(weak, "warn", [undecided, blocking]).caught is False


def test_copies_of_common_rows_are_not_required_to_be_caught():
    # Adult rows are unique: 5 % copies at 4:1-2k are far out of the exact-match test's noise
    adult = cases.build("adult", "4:1-2k", "copies-5", 0)
    assert adult.expected.outcome == "caught"
    # 7 categoricals of 2-5 levels: a copied row is mostly a combination many rows share
    common = cases.build("discrete", "4:1-2k", "copies-5", 0)
    assert common.expected.outcome == "clean-only" and "common rows" in common.expected.reason
    assert cases.build("discrete", "4:1-2k", "copies-30", 0).expected.outcome == "caught"
    z_adult = cases.copy_signal(adult.real, adult.holdout, adult.synthetic, 0.05, ())
    z_common = cases.copy_signal(common.real, common.holdout, common.synthetic, 0.05, ())
    assert z_adult > cases.MIN_COPY_SIGNAL > z_common > 0


def test_copy_signal_known_answer():
    # training rows unique and absent from the holdout: each copy scores 1 against chance 1/2
    train = pd.DataFrame({"x": range(10)})
    holdout = pd.DataFrame({"x": range(100, 110)})
    synthetic = pd.DataFrame({"x": [0, 1, 200, 201]})  # two copies among four rows
    # planted excess: share 0.5 × 4 rows × gain (1 − 1/2) = 1; null variance per matched row
    # (k = 1, pool 20): 0.25 × 19 / 19 = 0.25, two matched rows: se = sqrt(0.5)
    assert cases.copy_signal(train, holdout, synthetic, 0.5, ()) == pytest.approx(1 / np.sqrt(0.5))


def test_insufficient_evidence_is_the_right_answer_below_a_pillars_minimum_size():
    small = cases.build("adult", "small-synthetic", "honest", 0).expected
    assert small.outcome == "pass" and small.undecidable == {"utility"}
    undecided = _rule("ml-utility", Family.UTILITY, "insufficient")
    assert judge(small, "fail", [undecided, _rule("ks", Family.FIDELITY, "pass")]).ok
    # only "cannot decide": a utility rule that fails outright, or another pillar's insufficiency, is wrong
    assert not judge(small, "fail", [_rule("ml-utility", Family.UTILITY, "fail")]).ok
    assert not judge(small, "fail", [_rule("exact-copies", Family.PRIVACY, "insufficient")]).ok
    assert cases.build("adult", "4:1-2k", "honest", 0).expected.undecidable == frozenset()
