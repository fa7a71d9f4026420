"""provenance.tagged known answers, the input boundary, and `qaharness provenance` through Typer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.api import evaluate
from qaharness.cli import app
from qaharness.engine import run_metric
from qaharness.inputs import prepare_inputs
from qaharness.metrics import get_metric
from qaharness.provenance import TAG_COLUMN, make_manifest, run_provenance, sidecar_path, write_tagged

runner = CliRunner()


def _tiny(tags: list | None) -> pd.DataFrame:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    if tags is not None:
        frame[TAG_COLUMN] = tags
    return frame


def _tagged(data):
    return run_metric(get_metric("provenance.tagged")(), data, seed=0)


@pytest.mark.parametrize(
    "tags, expected",
    [
        (["synthetic:ab", "synthetic:ab", "synthetic:ab", "synthetic:ab"], 1.0),
        (["synthetic:ab", "synthetic:cd", None, ""], 0.5),
        (["synthetic:ab", "real", None, "synthetic"], 0.25),  # only 'synthetic:<id>' counts
        (None, 0.0),
    ],
)
def test_known_answers_from_the_tag_column(tags, expected):
    data = prepare_inputs(_tiny(None), _tiny(tags))
    assert TAG_COLUMN not in data.synthetic.columns  # metrics never see the tag column
    result = _tagged(data)
    assert result.ok and result.value == pytest.approx(expected)
    if tags is None:
        assert "untagged" in result.message and result.details["manifest_present"] is False


@pytest.fixture
def files(tmp_path):
    real = tmp_path / "real.csv"
    make_mixed_frame(80, 1).to_csv(real, index=False)
    manifest = make_manifest(
        generator="ctgan", generator_version="2", source=real, seed=3, epsilon=1.0, delta=1e-6, accountant="rdp"
    )
    return tmp_path, real, manifest


def test_tagged_file_scores_one_with_consistent_details(files):
    tmp, real, manifest = files
    synth = write_tagged(make_mixed_frame(50, 2), tmp / "s.parquet", manifest)
    run = evaluate(real, synth, metrics=["provenance.tagged"])
    result = run.metric("provenance.tagged")
    assert result.value == 1.0 and result.message == ""
    assert result.details["consistent"] is True and result.details["source_match"] is True
    assert result.details["generator"] == "ctgan" and result.details["dp"]["epsilon"] == 1.0
    assert run.inputs["synthetic"].columns == 6 and run.inputs["synthetic"].rows == 50  # tag column dropped


def test_half_tagged_csv_scores_half(files):
    tmp, real, manifest = files
    synth = write_tagged(make_mixed_frame(50, 2), tmp / "s.csv", manifest)
    frame = pd.read_csv(synth)
    frame.loc[25:, TAG_COLUMN] = None
    frame.to_csv(synth, index=False)
    result = evaluate(real, synth, metrics=["provenance.tagged"]).metric("provenance.tagged")
    assert result.value == pytest.approx(0.5)
    assert result.details["checks"]["tags"] is False and "50.0% of rows" in result.message


def test_manifest_only_counts_all_rows_unless_rows_changed(files):
    tmp, real, manifest = files
    synth = write_tagged(make_mixed_frame(50, 2), tmp / "s.csv", manifest, column=False)
    assert evaluate(real, synth, metrics=["provenance.tagged"]).metric("provenance.tagged").value == 1.0
    frame = pd.read_csv(synth)
    pd.concat([frame, frame.head(5)]).to_csv(synth, index=False)  # rows appended after tagging
    result = evaluate(real, synth, metrics=["provenance.tagged"]).metric("provenance.tagged")
    assert result.value == 0.0 and "does not cover these rows" in result.message


def test_source_mismatch_is_reported_not_hidden(files):
    tmp, _real, manifest = files
    synth = write_tagged(make_mixed_frame(50, 2), tmp / "s.parquet", manifest)
    other = tmp / "other.csv"
    make_mixed_frame(80, 5).to_csv(other, index=False)
    result = evaluate(other, synth, metrics=["provenance.tagged"]).metric("provenance.tagged")
    assert result.value == 1.0 and result.details["source_match"] is False
    assert result.details["consistent"] is False and "source fingerprint" in result.message


def test_boundary_keeps_fingerprints_manifest_and_run_provenance(files):
    tmp, real, manifest = files
    synth = write_tagged(make_mixed_frame(50, 2), tmp / "s.parquet", manifest)
    data = prepare_inputs(real, synth)
    assert data.synthetic_manifest["manifest_id"] == manifest.manifest_id
    assert data.inputs["real"].fingerprint == manifest.source_fingerprint
    assert data.with_synthetic(data.real).synthetic_manifest is None  # the baseline seat is untagged
    block = run_provenance(data)
    assert block["generator"] == "ctgan" and block["verified"] is True and block["tag_share"] == 1.0
    assert run_provenance(prepare_inputs(real, make_mixed_frame(50, 2))) is None


def test_malformed_sidecar_is_a_note_not_a_crash(files):
    tmp, real, _ = files
    synth = tmp / "s.csv"
    make_mixed_frame(50, 2).to_csv(synth, index=False)
    sidecar_path(synth).write_text("[1, 2]")
    data = prepare_inputs(real, synth)
    assert data.synthetic_manifest is None and any("manifest ignored" in n for n in data.notes)


def test_tagged_rows_in_the_real_table_are_noted():
    real = _tiny(["synthetic:ab", None, None, None])
    data = prepare_inputs(real, _tiny(None))
    assert any("real table has 1 row(s) tagged synthetic" in n for n in data.notes)


# -- CLI --------------------------------------------------------------------------------
def test_cli_tag_show_verify(files):
    tmp, real, _ = files
    synth = tmp / "s.parquet"
    make_mixed_frame(30, 2).to_parquet(synth, index=False)
    res = runner.invoke(
        app,
        [
            "provenance",
            "tag",
            str(synth),
            "--generator",
            "gc",
            "--source",
            str(real),
            "--seed",
            "4",
            "--epsilon",
            "3",
            "--delta",
            "1e-5",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "tagged" in res.output and TAG_COLUMN in res.output
    res = runner.invoke(app, ["provenance", "show", str(synth), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["dp"]["epsilon"] == 3.0
    res = runner.invoke(app, ["provenance", "verify", str(synth), "--real", str(real)])
    assert res.exit_code == 0 and "verified" in res.output
    other = tmp / "other.csv"
    make_mixed_frame(80, 9).to_csv(other, index=False)
    res = runner.invoke(app, ["provenance", "verify", str(synth), "--real", str(other), "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["ok"] is False


def test_cli_exit_codes_for_untagged_and_bad_input(files):
    tmp, real, _ = files
    plain = tmp / "plain.csv"
    make_mixed_frame(30, 2).to_csv(plain, index=False)
    assert runner.invoke(app, ["provenance", "show", str(plain)]).exit_code == 1
    assert runner.invoke(app, ["provenance", "verify", str(plain)]).exit_code == 1
    assert runner.invoke(app, ["provenance", "verify", str(tmp / "missing.csv")]).exit_code == 2
    res = runner.invoke(
        app, ["provenance", "tag", str(plain), "--generator", "g", "--source", str(real), "--epsilon", "1"]
    )
    assert res.exit_code == 2 and "delta" in res.output
    res = runner.invoke(app, ["provenance", "tag", str(plain), "--generator", "g", "--source", str(tmp / "nope.csv")])
    assert res.exit_code == 2 and "nope.csv" in res.output


@pytest.mark.parametrize("command", ["tag", "show", "verify"])
def test_cli_help_has_an_example(command):
    res = runner.invoke(app, ["provenance", command, "--help"])
    assert res.exit_code == 0 and "Example: qaharness provenance " + command in res.output


def test_metric_is_deterministic_and_bounded(files):
    tmp, real, manifest = files
    synth = write_tagged(make_mixed_frame(50, 2), tmp / "s.csv", manifest)
    data = prepare_inputs(real, synth)
    first, second = _tagged(data), _tagged(data)
    assert first == second and 0.0 <= first.value <= 1.0
    assert np.isfinite(first.value)
