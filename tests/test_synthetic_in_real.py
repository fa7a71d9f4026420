"""Synthetic rows passed off as real: the ``synthetic_in_real`` rule kind, in every bundled policy."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.gate import run_gate
from qaharness.inputs import InputMarks, prepare_inputs
from qaharness.policy import apply_policy, bundled_policies, load_policy, parse_policy
from qaharness.provenance import TAG_COLUMN, make_manifest, write_tagged
from qaharness.rules.synthetic_in_real import synthetic_marks
from qaharness.store import RunStore

runner = CliRunner()
POLICY = """\
id: inputs-only
version: "1"
rules:
  - id: real-is-real
    kind: synthetic_in_real
"""


@pytest.mark.parametrize(
    "marks, expected",
    [
        (InputMarks(10), (0, [])),
        (InputMarks(10, tags={"": 10}), (0, [])),
        (InputMarks(10, tags={"": 7, "synthetic:abc": 2, "synthetic:def": 1}), (3, ["abc", "def"])),
        (InputMarks(10, manifest={"manifest_id": "m1"}), (10, ["m1"])),
        (InputMarks(10, tags={"": 10}, manifest={"manifest_id": "m1"}), (10, ["m1"])),
        (InputMarks(4, manifest_error="provenance manifest is not valid JSON"), (4, ["unreadable manifest"])),
    ],
)
def test_synthetic_marks_known_answers(marks, expected):
    assert synthetic_marks(marks) == expected


def _mixed_real(n_synthetic: int = 30) -> pd.DataFrame:
    """300 real rows, then ``n_synthetic`` rows tagged with one manifest id (a concatenation)."""
    real = make_mixed_frame(300, 1).assign(**{TAG_COLUMN: None})
    synthetic = make_mixed_frame(n_synthetic, 5).assign(**{TAG_COLUMN: "synthetic:0123456789abcdef"})
    return pd.concat([real, synthetic], ignore_index=True)


def test_tagged_rows_in_real_fail_with_count_and_manifest_id():
    data = prepare_inputs(_mixed_real(), make_mixed_frame(300, 2), make_mixed_frame(200, 3))
    run = apply_policy(_empty_run(data), parse_policy(POLICY), data=data)
    rule = run.rules[0]
    assert rule.status == "fail" and run.verdict == "fail" and rule.observed == 30
    assert "30 of 330 real rows are synthetic (manifest 0123456789abcdef)" in rule.message
    assert rule.details["inputs"]["real"] == {"rows": 330, "synthetic_rows": 30, "manifest_ids": ["0123456789abcdef"]}
    assert rule.details["inputs"]["holdout"]["synthetic_rows"] == 0


def _empty_run(data):
    from qaharness.api import evaluate_input

    return evaluate_input(data, metrics=[])


def test_a_holdout_file_with_a_manifest_is_synthetic_as_a_whole(tmp_path):
    manifest = make_manifest(generator="tvae", source_fingerprint="ab" * 32)
    holdout = write_tagged(make_mixed_frame(200, 3), tmp_path / "holdout.parquet", manifest, column=False)
    data = prepare_inputs(make_mixed_frame(300, 1), make_mixed_frame(300, 2), holdout)
    rule = apply_policy(_empty_run(data), parse_policy(POLICY), data=data).rules[0]
    assert rule.status == "fail" and rule.observed == 200
    assert f"200 of 200 holdout rows are synthetic (manifest {manifest.manifest_id})" in rule.message


def test_clean_inputs_pass_and_a_stored_run_cannot_be_rejudged():
    data = prepare_inputs(make_mixed_frame(300, 1), make_mixed_frame(300, 2))
    run = apply_policy(_empty_run(data), parse_policy(POLICY), data=data)
    assert run.rules[0].status == "pass" and run.rules[0].message == "no synthetic rows in real"
    assert apply_policy(run, parse_policy(POLICY)).rules[0].status == "error"


def test_every_bundled_policy_has_the_rule():
    for name in bundled_policies():
        kinds = {rule.kind for rule in load_policy(name).policy.rules}
        assert "synthetic_in_real" in kinds, name


def test_gate_fails_then_allowed_with_a_reason_recorded_in_results_and_store(tmp_path):
    real = tmp_path / "real.parquet"
    _mixed_real().to_parquet(real, index=False)
    store = tmp_path / "runs.duckdb"
    failed = run_gate(real, make_mixed_frame(300, 2), out=tmp_path / "g1", policy=parse_policy(POLICY), store=store)
    assert failed.exit_code == 1 and failed.failed_rules() == ["real-is-real"]
    reason = "augmentation study DATA-7: 10% synthetic minority rows"
    allowed = run_gate(
        real,
        make_mixed_frame(300, 2),
        out=tmp_path / "g2",
        policy=parse_policy(POLICY),
        store=store,
        allow_synthetic_in_real=reason,
    )
    assert allowed.exit_code == 0 and allowed.verdict == "pass"
    written = json.loads((tmp_path / "g2" / "results.json").read_text())
    rule = written["rules"][0]
    assert rule["status"] == "waived" and rule["waiver"]["reason"] == reason and rule["details"]["allowed"] == reason
    assert rule["waiver"]["owner"] == "--allow-synthetic-in-real" and reason in rule["message"]
    assert any(reason in note for note in written["notes"])
    stored = RunStore(store).rules(allowed.run_id)
    assert stored.status.tolist() == ["waived"] and reason in stored.message.iloc[0]
    summary = (tmp_path / "g2" / "summary.md").read_text()
    assert "for this run (active)" in summary and reason in summary


def test_gate_cli_exit_codes_and_empty_reason(tmp_path):
    real = tmp_path / "real.csv"
    _mixed_real().to_csv(real, index=False)
    synthetic = tmp_path / "synthetic.csv"
    make_mixed_frame(300, 2).to_csv(synthetic, index=False)
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    base = ["gate", "--real", str(real), "--synthetic", str(synthetic), "--policy", str(policy), "--no-store"]
    failed = runner.invoke(app, [*base, "--out", str(tmp_path / "g1")])
    assert failed.exit_code == 1 and "real-is-real" in failed.output
    allowed = runner.invoke(app, [*base, "--out", str(tmp_path / "g2"), "--allow-synthetic-in-real", "a study"])
    assert allowed.exit_code == 0, allowed.output
    assert "waived" in allowed.output and "verdict: PASS" in allowed.output
    message = json.loads((tmp_path / "g2" / "results.json").read_text())["rules"][0]["message"]
    assert message.endswith("allowed by --allow-synthetic-in-real: a study")
    empty = runner.invoke(app, [*base, "--out", str(tmp_path / "g3"), "--allow-synthetic-in-real", " "])
    assert empty.exit_code == 2 and "needs a reason" in empty.output
