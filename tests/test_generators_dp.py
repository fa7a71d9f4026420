"""Differential privacy: recorded ε ≤ target, budgeted vs declared preprocessing, invalid set-ups rejected."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_mixed_frame

from qaharness.errors import BadInputError, GeneratorError
from qaharness.generators import make_generator
from qaharness.generators._domain import fit_domains
from qaharness.generators._torch import plan_dp
from qaharness.schema import infer_schema

DECLARED = {
    "age": {"min": 18, "max": 80, "integral": True},
    "income": {"min": -20000, "max": 120000},
    "day": {"min": "2024-01-01", "max": "2024-12-31"},
    "group": {"categories": ["a", "b", "c"]},
    "label": {"categories": ["<=50K", ">50K"]},
}


@pytest.fixture(scope="module")
def real():
    return make_mixed_frame(200, 1)


@pytest.mark.parametrize(
    "gid, accountant",
    [
        ("tvae", "rdp"),
        ("ctgan", "rdp"),
        pytest.param("tvae", "prv", marks=pytest.mark.slow),  # the PRV accountant's FFTs take ~8 s here
    ],
)
def test_recorded_epsilon_within_target_with_declared_domain(gid, accountant, real):
    generator = make_generator(
        gid, epsilon=2.0, delta=1e-5, accountant=accountant, epochs=3, batch_size=50, device="cpu"
    )
    report = generator.fit(real, seed=0, declared=DECLARED)
    assert report.preprocessing == "declared_schema" and report.preprocessing_epsilon == 0.0
    assert 0 < report.epsilon <= 2.0 and report.delta <= 1e-5
    assert report.accountant == accountant and report.noise_multiplier > 0
    assert report.steps == 12 and report.epochs == 3
    synthetic = generator.sample(50, seed=1)
    assert synthetic.equals(generator.sample(50, seed=1))
    assert set(synthetic["group"]) <= {"a", "b", "c"}
    assert synthetic["age"].between(18, 80).all()


def test_budgeted_preprocessing_is_counted(real):
    generator = make_generator("tvae", epsilon=300.0, epochs=1, device="cpu")
    report = generator.fit(real, seed=0)
    assert report.preprocessing == "data_dependent_budgeted"
    assert report.preprocessing_epsilon == pytest.approx(30.0)
    assert report.preprocessing_epsilon < report.epsilon <= 300.0
    assert report.delta <= 1 / 200**2


def test_small_budget_without_declared_domain_is_refused(real):
    with pytest.raises(BadInputError, match="declare its categories|declare min/max"):
        make_generator("tvae", epsilon=1.0, epochs=1, device="cpu").fit(real, seed=0)


def test_dp_determinism(real):
    def run():
        generator = make_generator("ctgan", epsilon=5.0, epochs=1, batch_size=50, device="cpu")
        generator.fit(real, seed=4, declared=DECLARED)
        return generator.sample(30, seed=2)

    assert run().equals(run())


def test_training_stops_before_the_budget_is_exceeded():
    plan = plan_dp(epsilon=1.0, delta=1e-5, sample_rate=0.1, steps=200, accountant="rdp", generator_id="t")
    for _ in range(plan.max_steps):
        plan.accountant.step(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate)
    assert plan.spent() <= 1.0
    assert plan.max_steps <= 200


def test_private_domain_keeps_only_frequent_categories():
    rng = np.random.default_rng(0)
    frame = make_mixed_frame(3000, 0)
    frame.loc[:2, "group"] = "rare"  # 3 rows: must not survive the DP threshold
    schema = infer_schema(frame)
    domains, eps, _ = fit_domains(frame, schema, {}, epsilon=30.0, delta=1e-6, rng=rng)
    assert "rare" not in domains["group"].categories and {"a", "b", "c"} <= set(domains["group"].categories)
    assert domains["age"].low <= 18 and domains["age"].high >= 80 and eps == 30.0
    assert {c: d.source for c, d in domains.items()} == {
        **{c: "data_dependent_budgeted" for c in frame},
        "flag": "declared_schema",
    }


@pytest.mark.parametrize(
    "params, match",
    [
        ({"pac": 10}, "PacGAN"),
        ({"gradient_penalty": 10.0}, "gradient penalty"),
    ],
)
def test_invalid_dp_setups_are_rejected(params, match):
    with pytest.raises(GeneratorError, match=match):
        make_generator("ctgan", epsilon=1.0, **params)


@pytest.mark.parametrize(
    "gid, params", [("ctgan", {"discriminator_norm": "batch"}), ("tvae", {"encoder_norm": "batch"})]
)
def test_batchnorm_in_a_private_module_is_rejected(gid, params, real):
    generator = make_generator(gid, epsilon=5.0, epochs=1, device="cpu", **params)
    with pytest.raises(GeneratorError, match="BatchNorm"):
        generator.fit(real, seed=0, declared=DECLARED)


def test_dp_on_a_baseline_is_refused():
    with pytest.raises(GeneratorError, match="does not support differential privacy"):
        make_generator("gaussian_copula", epsilon=1.0)


def test_declared_domain_for_an_unknown_column_is_bad_input(real):
    with pytest.raises(BadInputError, match="not in the data: nope"):
        make_generator("independent").fit(real, seed=0, declared={"nope": {"min": 0, "max": 1}})


def test_out_of_domain_rows_are_dropped_and_bounds_clip(real):
    declared = {**DECLARED, "group": {"categories": ["a", "b"]}, "age": {"min": 30, "max": 50}}
    generator = make_generator("tvae", epsilon=5.0, epochs=1, batch_size=50, device="cpu")
    report = generator.fit(real, seed=0, declared=declared)
    assert report.rows == int((real["group"] != "c").sum())
    synthetic = generator.sample(100, seed=0)
    assert set(synthetic["group"]) <= {"a", "b"} and synthetic["age"].between(30, 50).all()
