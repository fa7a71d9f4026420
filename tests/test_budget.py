"""The privacy-budget ledger: composition known answers, the store table, the budget rule, the CLI."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.budget import (
    Release,
    compose,
    ledger,
    manifest_from_provenance,
    record_release,
    release_from_manifest,
    resolve_source,
)
from qaharness.cli import app
from qaharness.errors import BadInputError
from qaharness.gate import run_gate
from qaharness.policy import parse_policy
from qaharness.provenance import data_fingerprint, make_manifest, write_tagged
from qaharness.store import RunStore

runner = CliRunner()
SOURCE = "ab" * 32
BUDGET_POLICY = """\
id: budget-test
version: "1"
rules:
  - id: privacy-budget
    kind: budget
    max_epsilon: 5
"""


def release(name: str, **fields) -> Release:
    """A DP-SGD release with every accounting field (override any)."""
    base = {
        "manifest_id": name,
        "source_fingerprint": SOURCE,
        "sealed": True,
        "dp": True,
        "epsilon": 1.0,
        "delta": 1e-6,
        "accountant": "rdp",
        "mechanism": "dp-sgd",
        "noise_multiplier": 1.1,
        "sample_rate": 0.01,
        "steps": 1000,
        "preprocessing_epsilon": 0.0,
        "preprocessing_delta": 0.0,
        "origin": "api",
    }
    return Release(**{**base, **fields})


def rdp_epsilon(history, delta):
    """Opacus' RDP accountant on a history, on its default orders (the reference implementation)."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = list(history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "optimal order is the largest alpha": a valid, looser bound
        return accountant.get_epsilon(delta)


# -- composition known answers ------------------------------------------------------------
def test_basic_composition_adds_epsilon_and_delta():
    releases = [
        release("a", epsilon=1.0, delta=1e-6, mechanism=None),
        release("b", epsilon=2.0, delta=1e-6, mechanism=None),
        release("c", epsilon=0.5, delta=1e-5, mechanism=None),
    ]
    composition = compose(releases)
    assert composition.method == "basic" and composition.releases == 3
    assert composition.epsilon == pytest.approx(3.5) and composition.basic_epsilon == pytest.approx(3.5)
    assert composition.delta == pytest.approx(1.2e-5)
    assert composition.tight_epsilon is None and "a, b, c" in composition.note


def test_a_release_seen_twice_counts_once():
    composition = compose([release("a", mechanism=None), release("a", mechanism=None, origin="gate")])
    assert composition.releases == 1 and composition.epsilon == pytest.approx(1.0)


@pytest.mark.parametrize(
    "broken, reason",
    [({"dp": False, "epsilon": None, "delta": None}, "not DP"), ({"sealed": False}, "seal broken")],
)
def test_non_dp_or_unsealed_release_makes_the_total_unbounded(broken, reason):
    composition = compose([release("a"), release("b", **broken)])
    assert composition.method == "unbounded" and composition.epsilon is None, reason
    assert composition.unbounded == ["b"] and "unbounded" in composition.describe()


def test_no_release_spends_nothing():
    composition = compose([], SOURCE)
    assert composition.method == "none" and composition.epsilon == 0.0 and composition.releases == 0


def test_rdp_of_the_plain_gaussian_matches_the_closed_form():
    """q = 1: each step is the Gaussian mechanism, RDP α/(2σ²); T₁ steps at σ₁ and T₂ at σ₂ compose to
    α(T₁/σ₁² + T₂/σ₂²)/2, converted by Balle et al. 2020 (Thm 21) at the best order of the grid."""
    from qaharness.budget import _ALPHAS

    a = release("a", sample_rate=1.0, noise_multiplier=8.0, steps=10, epsilon=5.0, delta=1e-5)
    b = release("b", sample_rate=1.0, noise_multiplier=4.0, steps=3, epsilon=5.0, delta=1e-5)
    composition = compose([a, b])
    alphas = np.array(_ALPHAS, dtype=float)
    rho = alphas * (10 / 8.0**2 + 3 / 4.0**2) / 2
    delta = 2e-5
    expected = np.min(rho - (np.log(delta) + np.log(alphas)) / (alphas - 1) + np.log((alphas - 1) / alphas))
    assert composition.tight_method == "rdp" and composition.method == "rdp"
    assert composition.tight_epsilon == pytest.approx(expected, rel=1e-9)
    assert composition.delta == pytest.approx(delta) and composition.basic_epsilon == pytest.approx(10.0)


def test_five_releases_at_about_epsilon_two_compose_far_below_ten():
    single = rdp_epsilon([(1.1, 0.01, 1000)], 1e-6)
    composition = compose([release(str(i), epsilon=single) for i in range(5)])
    assert composition.basic_epsilon == pytest.approx(5 * single)
    same_as_one_run = rdp_epsilon([(1.1, 0.01, 5000)], 5e-6)  # five identical releases = one 5× longer run
    assert composition.tight_epsilon == pytest.approx(same_as_one_run, rel=0.02)
    assert composition.tight_epsilon <= same_as_one_run + 1e-9  # our order grid is a superset of Opacus'
    assert composition.epsilon < 0.5 * composition.basic_epsilon and composition.method == "rdp"


def test_preprocessing_is_added_on_top_of_the_accountant():
    plain = compose([release("a"), release("b")])
    with_pre = compose(
        [
            release("a", epsilon=1.3, delta=2e-6, preprocessing_epsilon=0.3, preprocessing_delta=1e-6),
            release("b", epsilon=1.3, delta=2e-6, preprocessing_epsilon=0.3, preprocessing_delta=1e-6),
        ]
    )
    # same DP-SGD steps at the same DP-SGD δ (2 × 1e-6), plus 0.6 of pure-ε preprocessing
    assert with_pre.tight_epsilon == pytest.approx(plain.tight_epsilon + 0.6, rel=1e-9)
    assert with_pre.delta == pytest.approx(4e-6) and "preprocessing" in with_pre.note


def test_basic_is_used_when_it_is_tighter():
    # one release that states a smaller ε than the RDP recomputation gives (e.g. a PRV-accounted one)
    single = rdp_epsilon([(1.1, 0.01, 1000)], 1e-6)
    composition = compose([release("a", epsilon=single * 0.9)])
    assert composition.method == "basic" and composition.epsilon == pytest.approx(single * 0.9)
    assert composition.tight_epsilon == pytest.approx(single, rel=1e-3) and "basic composition was tighter" in (
        composition.note
    )


@pytest.mark.slow  # the PRV accountant's FFTs take several seconds here
def test_prv_is_used_when_every_release_was_accounted_with_prv():
    from opacus.accountants import PRVAccountant

    releases = [release(str(i), accountant="prv", epsilon=2.0) for i in range(3)]
    composition = compose(releases)
    reference = PRVAccountant()
    reference.history = [(1.1, 0.01, 1000)] * 3
    assert composition.tight_method == "prv" and composition.method == "prv"
    assert composition.tight_epsilon == pytest.approx(reference.get_epsilon(3e-6), rel=1e-6)
    assert composition.tight_epsilon <= compose([release(str(i), epsilon=2.0) for i in range(3)]).tight_epsilon


def test_a_dp_generation_composes_back_to_its_own_epsilon():
    """The manifest a DP fit writes carries what the accountant needs: one release recomposes to ≈ its ε."""
    from qaharness.generators import make_generator
    from qaharness.generators._api import manifest_for

    real = make_mixed_frame(200, 1)
    declared = {
        "age": {"min": 18, "max": 80},
        "income": {"min": -20000, "max": 120000},
        "day": {"min": "2024-01-01", "max": "2024-12-31"},
        "group": {"categories": ["a", "b", "c"]},
        "flag": {"categories": ["no", "yes"]},
        "label": {"categories": ["<=50K", ">50K"]},
    }
    model = make_generator("tvae", epsilon=2.0, delta=1e-5, epochs=2, batch_size=50, device="cpu")
    report = model.fit(real, seed=0, declared=declared)
    manifest = manifest_for(model, real, 0)
    dp = manifest.dp
    assert dp is not None and dp.mechanism == "dp-sgd" and dp.steps == report.dp_steps == 8
    assert dp.sample_rate == pytest.approx(0.25) and dp.noise_multiplier == report.noise_multiplier
    composition = compose([release_from_manifest(manifest, origin="api")])
    assert composition.tight_epsilon == pytest.approx(report.epsilon, rel=0.02)
    assert composition.epsilon <= report.epsilon + 1e-9


def test_manifests_without_accounting_fields_keep_their_seal():
    manifest = make_manifest(generator="x", source_fingerprint=SOURCE, epsilon=1.0, delta=1e-5)
    assert "mechanism" not in manifest.to_json() and manifest.intact
    accounted = manifest.sealed(dp={"epsilon": 1.0, "delta": 1e-5, "mechanism": "dp-sgd", "steps": 3})
    assert accounted.intact and accounted.manifest_id != manifest.manifest_id


# -- the ledger in the store ---------------------------------------------------------------
def test_ledger_round_trip_and_source_lookup(tmp_path):
    store = RunStore(tmp_path / "runs.duckdb")
    manifest = make_manifest(generator="ctgan", source_fingerprint=SOURCE, epsilon=1.5, delta=1e-6, accountant="rdp")
    first = release_from_manifest(manifest, origin="generate", tool="qaharness generate", synthetic="s.parquet")
    record_release(store, first, manifest)
    record_release(store, release_from_manifest(manifest, origin="gate", run_id="r1"), manifest)
    rows = ledger(store, SOURCE)
    assert [r.origin for r in rows] == ["generate", "gate"] and rows[1].run_id == "r1"
    assert rows[0].epsilon == 1.5 and rows[0].sealed and rows[0].recorded_at and rows[0].actor
    assert json.loads(store.ledger(SOURCE).manifest_json.iloc[0])["manifest_id"] == manifest.manifest_id
    assert compose(rows).releases == 1
    assert resolve_source(store, "ababa") == SOURCE
    other = make_manifest(generator="x", source_fingerprint="abab" + "0" * 60)
    record_release(store, release_from_manifest(other, origin="generate"), other)
    with pytest.raises(BadInputError, match="ambiguous"):
        resolve_source(store, "abab")
    with pytest.raises(BadInputError, match="no source"):
        resolve_source(store, "ffff")
    with pytest.raises(BadInputError, match="neither a table file"):
        resolve_source(store, "not-a-file.csv")


def test_actor_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("QAHARNESS_ACTOR", "ci-job-42")
    manifest = make_manifest(generator="x", source_fingerprint=SOURCE)
    assert release_from_manifest(manifest, origin="api").actor == "ci-job-42"


# -- the budget rule ------------------------------------------------------------------------
def _gate_files(tmp_path, epsilon: float | None):
    real, holdout = make_mixed_frame(300, 1), make_mixed_frame(200, 3)
    real_path = tmp_path / "real.parquet"
    real.to_parquet(real_path, index=False)
    dp = {"epsilon": epsilon, "delta": 1e-6, "accountant": "rdp"} if epsilon is not None else None
    manifest = make_manifest(generator="ctgan", source=real, dp=dp, seed=1)
    synthetic = write_tagged(make_mixed_frame(300, 2), tmp_path / "synthetic.parquet", manifest)
    return real_path, synthetic, holdout


def test_budget_rule_passes_then_fails_the_release_that_would_overspend(tmp_path):
    policy = parse_policy(BUDGET_POLICY)
    store = tmp_path / "runs.duckdb"
    real, synthetic, holdout = _gate_files(tmp_path, 2.0)
    first = run_gate(real, synthetic, holdout, out=tmp_path / "g1", policy=policy, store=store)
    rule = first.run.rules[0]
    assert first.exit_code == 0 and rule.status == "pass" and rule.observed == pytest.approx(2.0)
    assert rule.kind == "budget" and rule.details["composition"]["method"] == "basic"
    again = run_gate(real, synthetic, holdout, out=tmp_path / "g2", policy=policy, store=store)
    assert again.run.rules[0].observed == pytest.approx(2.0), "the same release gated twice counts once"
    fingerprint = first.run.inputs["real"].fingerprint
    assert [r.origin for r in ledger(RunStore(store), fingerprint)] == ["gate", "gate"]
    (tmp_path / "b").mkdir()
    _real, second, _ = _gate_files(tmp_path / "b", 3.5)
    over = run_gate(real, second, holdout, out=tmp_path / "g3", policy=policy, store=store)
    rule = over.run.rules[0]
    assert over.exit_code == 1 and rule.status == "fail" and rule.observed == pytest.approx(5.5)
    assert "allowed: ε ≤ 5" in rule.message and rule.details["ledger_entries"] == 2


def test_budget_rule_fails_an_untagged_or_non_dp_release_and_errors_without_a_store(tmp_path):
    policy = parse_policy(BUDGET_POLICY)
    real, synthetic, holdout = _gate_files(tmp_path, None)
    non_dp = run_gate(real, synthetic, holdout, out=tmp_path / "g1", policy=policy, store=tmp_path / "s.duckdb")
    assert non_dp.run.rules[0].status == "fail" and "unbounded" in non_dp.run.rules[0].message
    untagged = run_gate(
        make_mixed_frame(300, 1), make_mixed_frame(300, 2), holdout, out=tmp_path / "g2", policy=policy, record=False
    )
    assert untagged.run.rules[0].status == "fail" and "no provenance manifest" in untagged.run.rules[0].message
    from qaharness.policy import apply_policy

    rejudged = apply_policy(non_dp.run, policy)  # a stored run judged again without a store
    assert rejudged.rules[0].status == "error" and "run store" in rejudged.rules[0].message


def test_manifest_from_provenance_ignores_check_fields_and_invalid_blocks():
    manifest = make_manifest(generator="x", source_fingerprint=SOURCE)
    block = {**manifest.model_dump(mode="json"), "checks": {"seal": True}, "verified": True, "tag_share": None}
    assert manifest_from_provenance(block) == manifest
    assert manifest_from_provenance({"generator": ""}) is None and manifest_from_provenance(None) is None


# -- CLI -----------------------------------------------------------------------------------
def test_generate_records_the_release_and_budget_show_prints_the_composition(tmp_path):
    real = make_mixed_frame(120, 1)
    data = tmp_path / "real.csv"
    real.to_csv(data, index=False)
    store = tmp_path / "runs.duckdb"
    for seed in ("1", "2"):
        out = tmp_path / f"s{seed}.parquet"
        args = ["generate", "-g", "independent", "--data", str(data), "--rows", "50", "--out", str(out)]
        result = runner.invoke(app, [*args, "--seed", seed, "--store", str(store)])
        assert result.exit_code == 0, result.output
        assert "not DP: an unbounded spend" in result.output
    shown = runner.invoke(app, ["budget", "show", str(data), "--store", str(store)])
    assert shown.exit_code == 0, shown.output
    assert "∞ (not DP)" in shown.output and "used: unbounded" in shown.output and "independent" in shown.output
    fingerprint = data_fingerprint(real)
    as_json = runner.invoke(app, ["budget", "show", fingerprint[:10], "--store", str(store), "--json"])
    body = json.loads(as_json.output)
    assert body["composition"]["releases"] == 2 and body["composition"]["epsilon"] is None
    assert {r["origin"] for r in body["releases"]} == {"generate"}
    listed = runner.invoke(app, ["budget", "list", "--store", str(store)])
    assert listed.exit_code == 0 and fingerprint[:16] in listed.output and "∞" in listed.output
    none = runner.invoke(
        app,
        [
            "generate",
            "-g",
            "independent",
            "--data",
            str(data),
            "--rows",
            "5",
            "--out",
            str(tmp_path / "x.csv"),
            "--store",
            str(tmp_path / "other.duckdb"),
            "--no-store",
        ],
    )
    assert none.exit_code == 0 and not (tmp_path / "other.duckdb").exists()


def test_budget_show_bad_source_exits_2(tmp_path):
    result = runner.invoke(app, ["budget", "show", "zz-not-hex", "--store", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2 and "fingerprint prefix" in result.output
    empty = runner.invoke(app, ["budget", "list", "--store", str(tmp_path / "s.duckdb")])
    assert empty.exit_code == 0 and "no releases" in empty.output


def test_composition_json_has_no_nan():
    from qaharness.budget import composition_json

    text = composition_json(compose([release("a", dp=False, epsilon=None, delta=None)]), [])
    assert "NaN" not in text and "Infinity" not in text and json.loads(text)["composition"]["epsilon"] is None
    assert not math.isnan(compose([release("a")]).delta)
