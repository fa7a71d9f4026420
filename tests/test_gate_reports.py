"""``qaharness gate --report html,pdf --sign``: reports beside results.json, signed, recorded in the store."""

from __future__ import annotations

import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.store import RunStore

runner = CliRunner()


@pytest.fixture
def inputs(tmp_path):
    paths = {}
    for name, seed, n in (("real", 1, 300), ("synthetic", 2, 300), ("holdout", 3, 300)):
        paths[name] = tmp_path / f"{name}.parquet"
        make_mixed_frame(n, seed).to_parquet(paths[name], index=False)
    return paths


def test_gate_writes_signed_reports_and_records_them(inputs, tmp_path):
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    store = tmp_path / "runs.duckdb"
    args = [
        "gate",
        "--real",
        inputs["real"],
        "--synthetic",
        inputs["synthetic"],
        "--holdout",
        inputs["holdout"],
        "--target",
        "label",
        "--out",
        tmp_path / "gate",
        "--store",
        store,
        "--report",
        "html,pdf",
        "--sign",
        "--ticket",
        "DATA-7",
    ]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    pdf = tmp_path / "gate" / "report-DATA-7.pdf"
    assert (tmp_path / "gate" / "report.html").is_file() and pdf.is_file()
    verified = runner.invoke(app, ["verify", str(pdf)])
    assert verified.exit_code == 0, verified.output
    run_id = RunStore(store).list_runs().run_id.iloc[0]
    names = set(RunStore(store).artifacts(run_id).name)
    assert {"results.json", "junit.xml", "summary.md", "report.html", "report.pdf"} <= names
    assert RunStore(store).run_row(run_id)["out_dir"] == str((tmp_path / "gate").resolve())


def test_sign_without_pdf_report_is_bad_usage(inputs, tmp_path):
    result = runner.invoke(
        app,
        [
            "gate",
            "--real",
            str(inputs["real"]),
            "--synthetic",
            str(inputs["synthetic"]),
            "--out",
            str(tmp_path / "g"),
            "--sign",
        ],
    )
    assert result.exit_code == 2 and "--sign" in result.output


@pytest.mark.slow
def test_a_gate_report_carries_the_utility_charts_its_metrics_support(inputs, tmp_path):
    """The default policy computes only utility.tstr_ratio: the report still draws TRTR vs TSTR, and
    results.json names the task the utility metric resolved."""
    from qaharness.gate import run_gate

    result = run_gate(
        inputs["real"],
        inputs["synthetic"],
        inputs["holdout"],
        out=tmp_path / "gate",
        target="label",
        record=False,
        report=["html"],
    )
    assert [m.id for m in result.run.metrics if m.family.value == "utility"] == ["utility.tstr_ratio"]
    assert result.run.task == "binary"
    html = result.files["report.html"].read_text(encoding="utf-8")
    assert 'alt="Train on real vs train on synthetic"' in html
    assert 'alt="Privacy measures on their own scales"' in html
    text = repr(result)
    assert (
        len(text) < 400
        and text.startswith("GateResult(verdict=")
        and f"policy='default {result.run.policy.version}'" in text
    )
    assert "exit_code=" in text and "failed=[" in text


def test_report_store_records_re_rendered_reports_of_the_run_that_wrote_them(inputs, tmp_path):
    """The dashboard's advice when a report is gone: render it again and record it with --store."""
    import hashlib

    from qaharness.app._artifacts import find_artifact

    store = tmp_path / "runs.duckdb"
    args = ["evaluate", "--real", str(inputs["real"]), "--synthetic", str(inputs["synthetic"])]
    ran = runner.invoke(app, [*args, "--metrics", "fidelity.ks", "--out", str(tmp_path / "run"), "--store", str(store)])
    assert ran.exit_code == 0, ran.output
    result = runner.invoke(app, ["report", str(tmp_path / "run"), "--format", "html", "--store", str(store)])
    assert result.exit_code == 0, result.output
    db = RunStore(store)
    run_id = db.list_runs().run_id.iloc[0]
    assert f"recorded as artifacts of run {run_id}" in result.output
    found = find_artifact(db.artifacts(run_id).to_dict("records"), ".html", store)
    html = tmp_path / "run" / "report.html"
    assert found is not None and found.ok and found.sha256 == hashlib.sha256(html.read_bytes()).hexdigest()
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.json").write_bytes(
        (tmp_path / "run" / "results.json").read_bytes().replace(b'"seed": 0', b'"seed": 1')
    )
    refused = runner.invoke(app, ["report", str(other), "--format", "html", "--store", str(store)])
    assert refused.exit_code == 2 and "no run in this store recorded this results.json" in refused.output
    assert not (other / "report.html").exists(), "refused before rendering"
