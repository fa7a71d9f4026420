"""fidelity.validity and fidelity.coherence: known answers on tiny hand-built frames, and the
dependency search against a plain pandas reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qaharness.engine import run_metric
from qaharness.errors import ParameterError
from qaharness.inputs import prepare_inputs
from qaharness.masking import mask_label
from qaharness.metrics import get_metric
from qaharness.metrics._dependencies import Settings, _lookup, discover
from qaharness.results import Status


def _run(metric_id: str, real: pd.DataFrame, synthetic: pd.DataFrame, holdout=None, **params):
    data = prepare_inputs(real, synthetic, holdout)
    return run_metric(get_metric(metric_id)(**params), data, seed=0)


# -- validity -------------------------------------------------------------------------------------
def _validity_frames():
    real = pd.DataFrame(
        {
            "colour": ["red", "blue", "red", "blue"],
            "count": [1.0, 2.0, 3.0, 4.0],
            "day": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
        }
    )
    synthetic = pd.DataFrame(
        {
            "colour": ["red", "green", None, "blue"],  # one unseen category; missing is not invalid
            "count": [0.0, 2.5, 3.0, 9.0],  # below the minimum, a fraction, fine, above the maximum
            "day": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-02-01"]),  # last after the span
        }
    )
    return real, synthetic


def test_validity_known_answer():
    real, synthetic = _validity_frames()
    result = _run("fidelity.validity", real, synthetic)
    assert result.status is Status.OK, result.message
    # rows 0 (count < 1), 1 (green, 2.5), 3 (count > 4, day after the span) are invalid; row 2 is fine
    assert result.value == pytest.approx(3 / 4)
    assert result.per_column == pytest.approx({"colour": 1 / 4, "count": 3 / 4, "day": 1 / 4})
    columns = result.details["columns"]
    assert columns["colour"]["unseen_categories"] == 1 and columns["colour"]["unseen_rows"] == 1
    assert columns["colour"]["unseen_examples"] == [mask_label("green")]
    count = columns["count"]
    assert (count["below_min_rows"], count["above_max_rows"], count["non_integer_rows"]) == (1, 1, 1)
    assert count["integral"] is True
    assert columns["day"]["above_max_rows"] == 1 and columns["day"]["below_min_rows"] == 0
    assert result.details["invalid_rows"] == 3 and result.details["worst_column"] == "count"
    shares = {k: result.details[f"{k}_share"] for k in ("unseen", "out_of_range", "non_integer")}
    assert shares == {"unseen": 1 / 4, "out_of_range": 2 / 4, "non_integer": 1 / 4}
    assert "3 of 4 synthetic rows" in result.message and "count" in result.message


def test_validity_masks_rare_bounds_and_shows_common_ones():
    real = pd.DataFrame({"age": [17.0] * 8 + [30.0, 40.0, 55.5], "group": [*list("ab" * 5), "a"]})
    result = _run("fidelity.validity", real, real.copy())
    age = result.details["columns"]["age"]
    assert age["real_min"] == "17"  # seen 8 times: more than the k = 7 of qaharness.masking
    assert age["real_max"] == mask_label("55.5")  # seen once: masked
    assert age["integral"] is False and result.value == 0


def test_validity_fraction_in_a_fractional_column_is_fine():
    real = pd.DataFrame({"x": [0.5, 1.5, 2.0, 3.25]})
    synthetic = pd.DataFrame({"x": [0.75, 3.0, 1.1, 2.2]})
    assert _run("fidelity.validity", real, synthetic).value == 0


def test_validity_baseline_is_the_holdout_outside_the_domain():
    real = pd.DataFrame({"c": ["a", "b"] * 10, "n": np.arange(20, dtype=float)})
    holdout = pd.DataFrame({"c": ["a", "z"] * 5, "n": np.arange(10, dtype=float)})  # 5 of 10 rows unseen
    result = _run("fidelity.validity", real, real.copy(), holdout)
    assert result.value == 0 and result.baseline == pytest.approx(0.5)


# -- coherence: known answers -----------------------------------------------------------------------
COUNTRIES = {"DE": "EMEA", "FR": "EMEA", "NL": "EMEA", "US": "AMER", "CA": "AMER", "JP": "APAC"}


def _country_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    country = rng.choice(list(COUNTRIES), n)
    return pd.DataFrame(
        {
            "country": country,
            "region": [COUNTRIES[c] for c in country],
            "noise": rng.choice(["x", "y", "z"], n),
            "amount": np.round(rng.uniform(0, 2000, n), 2),
        }
    )


def test_coherence_lookup_violations_counted_and_named():
    real, synthetic = _country_frame(600, 1), _country_frame(400, 2)
    broken = synthetic.index[synthetic["country"] == "DE"][:12]  # 12 German rows put in AMER
    synthetic.loc[broken, "region"] = "AMER"
    result = _run("fidelity.coherence", real, synthetic)
    assert result.status is Status.OK, result.message
    assert result.value == pytest.approx(12 / 400)
    dependency = result.details["dependencies"][0]
    assert (dependency["determinant"], dependency["dependent"], dependency["shape"]) == (
        ["country"],
        "region",
        "lookup",
    )
    assert dependency["violations"] == 12 and dependency["checked"] == 400
    assert dependency["worst_group"] == "country=DE" and dependency["worst_group_violations"] == 12
    assert "country → region" in result.message and "3.00%" in result.message
    assert result.per_column["region"] == pytest.approx(12 / 400)
    # region does not determine country (EMEA holds three countries)
    assert all(d["dependent"] != "country" for d in result.details["dependencies"])


def test_coherence_interval_dependency_threshold_flag():
    rng = np.random.default_rng(3)
    spend = np.round(rng.uniform(0, 2000, 500), 2)
    real = pd.DataFrame({"spend": spend, "high": np.where(spend >= 1000, "yes", "no")})
    synthetic = pd.DataFrame({"spend": [10.0, 1500.0, 1999.0, 20.0, 1200.0], "high": ["no", "yes", "no", "yes", "yes"]})
    result = _run("fidelity.coherence", real, synthetic)
    found = {(tuple(d["determinant"]), d["dependent"]): d for d in result.details["dependencies"]}
    dependency = found[(("spend",), "high")]
    assert dependency["shape"] == "interval" and dependency["groups"] == 2
    assert dependency["violations"] == 2 and dependency["checked"] == 5  # 1999 → no, 20 → yes
    assert result.value == pytest.approx(2 / 5)


def test_coherence_interval_does_not_judge_the_gap_between_segments():
    real = pd.DataFrame({"x": np.r_[np.arange(100.0), np.arange(200.0, 300.0)], "band": ["low"] * 100 + ["high"] * 100})
    synthetic = pd.DataFrame({"x": [150.0, 50.0, 250.0, 350.0], "band": ["low", "high", "high", "low"]})
    # x is declared numeric: unique integers in file order would otherwise be inferred as a row key
    data = prepare_inputs(real, synthetic, schema={"x": "numeric"})
    result = run_metric(get_metric("fidelity.coherence")(), data, seed=0)
    dependency = next(d for d in result.details["dependencies"] if d["determinant"] == ["x"])
    # 150 (between the segments) and 350 (beyond the real range) are not judged; 50 → high violates
    assert (dependency["checked"], dependency["violations"]) == (2, 1)


def test_coherence_pair_determinant():
    rng = np.random.default_rng(4)
    n = 900
    product = rng.choice(["tee", "mug", "cap"], n)
    size = rng.choice(["S", "L"], n)
    price = np.array([{"tee": 10, "mug": 8, "cap": 12}[p] + (5 if s == "L" else 0) for p, s in zip(product, size)])
    real = pd.DataFrame({"product": product, "size": size, "price": price.astype(str)})
    synthetic = real.iloc[:300].copy()
    synthetic.loc[synthetic.index[:6], "price"] = "999"  # six rows priced off the list (an unseen value)
    result = _run("fidelity.coherence", real, synthetic)
    found = {(tuple(d["determinant"]), d["dependent"]): d for d in result.details["dependencies"]}
    dependency = found[(("product", "size"), "price")]
    assert dependency["violations"] == 6 and dependency["groups"] == 6
    assert result.value == pytest.approx(6 / 300)


def test_coherence_tolerates_real_exceptions_below_the_bar():
    real = _country_frame(2000, 5)
    real.loc[0, "region"] = "APAC" if real.loc[0, "region"] != "APAC" else "EMEA"  # one exception in 2,000
    result = _run("fidelity.coherence", real, _country_frame(300, 6))
    dependency = next(d for d in result.details["dependencies"] if d["dependent"] == "region")
    assert dependency["real_confidence"] == pytest.approx(1999 / 2000)
    assert result.value == 0 and "keep all" in result.message


def test_coherence_independent_columns_have_no_dependency():
    rng = np.random.default_rng(7)
    real = pd.DataFrame({c: rng.choice(list("abcd"), 1000) for c in ("p", "q", "r")} | {"v": rng.normal(size=1000)})
    result = _run("fidelity.coherence", real, real.sample(frac=1, random_state=1))
    assert result.value == 0 and result.details["n_dependencies"] == 0
    assert result.message.startswith("no functional dependency holds in the real data")


def test_coherence_needs_support_and_an_informative_dependent():
    rng = np.random.default_rng(8)
    n = 1000
    code = rng.integers(0, 300, n)  # about 3 rows per value: too few to judge any group
    real = pd.DataFrame(
        {
            "code": np.char.add("c", code.astype(str)),
            "group": np.array(list("abc"))[code % 3],  # determined by code, but never with support
            "mostly": np.where(np.arange(n) < 996, "same", "other"),  # 0.4% off its mode: not informative
        }
    )
    result = _run("fidelity.coherence", real, real.copy())
    assert result.details["n_dependencies"] == 0
    assert result.details["tested"]["dependents"] == 2  # code and group; "mostly" is left out


def test_coherence_needs_enough_real_rows():
    real = _country_frame(50, 9)
    result = _run("fidelity.coherence", real, real.copy())
    assert result.status is Status.SKIPPED and result.details["insufficient_evidence"] is True


def test_coherence_rare_group_values_are_masked():
    real = _country_frame(400, 10)
    real.loc[:9, ["country", "region"]] = ["LU", "EMEA"]  # a country seen in 10 rows: supported, shown
    synthetic = real.iloc[:40].copy()
    synthetic.loc[:4, "region"] = "APAC"
    result = _run("fidelity.coherence", real, synthetic, min_group_rows=3)
    dependency = next(d for d in result.details["dependencies"] if d["dependent"] == "region")
    assert dependency["worst_group"] == "country=LU"
    real.loc[:9, "country"] = ["LU"] * 5 + ["MT"] * 5  # now each is seen 5 times: rare, masked
    result = _run("fidelity.coherence", real, synthetic.assign(country=real["country"][:40]), min_group_rows=3)
    dependency = next(d for d in result.details["dependencies"] if d["dependent"] == "region")
    assert dependency["worst_group"] in (f"country={mask_label('LU')}", f"country={mask_label('MT')}")
    assert "LU" not in result.message and "MT" not in result.message


def test_coherence_parameters_are_validated():
    with pytest.raises(ParameterError, match="min_confidence"):
        get_metric("fidelity.coherence")(min_confidence=0.2)


# -- the search against a reference ---------------------------------------------------------------
def _reference_lookup(x: np.ndarray, y: np.ndarray, min_rows: int) -> tuple[float | None, float]:
    frame = pd.DataFrame({"x": x, "y": y})
    sizes = frame.groupby("x").size()
    supported = sizes[sizes >= min_rows].index
    kept = frame[frame["x"].isin(supported)]
    if kept.empty:
        return None, 0.0
    best = kept.groupby("x")["y"].agg(lambda s: s.value_counts().max()).sum()
    return best / len(kept), len(kept) / len(frame)


@pytest.mark.parametrize("levels", [(5, 3), (400, 7), (3000, 50)], ids=["dense", "mid", "sparse"])
def test_lookup_agrees_with_pandas_groupby(levels):
    rng = np.random.default_rng(sum(levels))
    kx, ky = levels
    x = rng.integers(0, kx, 4000)
    y = np.where(rng.random(4000) < 0.9, x % ky, rng.integers(0, ky, 4000))
    settings = Settings(min_support=0.0)
    confidence, support, _, _ = _lookup(x, kx, y, ky, settings)
    expected_confidence, expected_support = _reference_lookup(x, y, settings.min_group_rows)
    assert support == pytest.approx(expected_support)
    assert confidence == pytest.approx(expected_confidence)


def test_discovery_finds_planted_rules_and_nothing_else():
    rng = np.random.default_rng(11)
    n = 3000
    age = rng.integers(18, 91, n).astype(float)
    frame = _country_frame(n, 12).assign(
        age=age, band=pd.cut(age, [17, 30, 50, 200], labels=["young", "mid", "old"]).astype(str)
    )
    data = prepare_inputs(frame, frame)
    found, tested = discover(data.real, data.schema, data.columns(), Settings())
    assert sorted(d.name for d in found) == ["age → band", "country → region"]
    assert tested["single_tests"] == tested["dependents"] * (len(data.columns()) - 1)
