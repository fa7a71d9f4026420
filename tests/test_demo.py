"""``qaharness demo`` end to end on a small sample of the bundled Adult data."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.store import RunStore

runner = CliRunner()


@pytest.mark.slow  # two generators, a DP release and four reports: about two minutes on 2 shared cores
def test_demo_gates_two_generators_signs_reports_and_points_at_the_dashboard(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--rows", "2000", "--max-minutes", "0.05"])
    assert result.exit_code == 0, result.output
    assert "Generators under the default policy" in result.output
    for generator in ("gaussian_copula", "autoregressive"):  # one plain sentence each, verdict first
        assert re.search(rf"{generator}: (PASS|WARN|FAIL) under the default policy", result.output)
    assert f"open the dashboard: qaharness app --store {out / 'runs.duckdb'}" in result.output
    for generator in ("gaussian_copula", "autoregressive"):
        data = json.loads((out / generator / "results.json").read_text())
        assert data["verdict"] in ("pass", "warn", "fail") and data["policy"]["id"] == "default"
        assert data["provenance"]["generator"] == generator and data["provenance"]["verified"] is True
        assert (out / generator / "junit.xml").is_file() and (out / generator / "report.html").is_file()
        verified = runner.invoke(app, ["verify", str(out / generator / "report-DEMO-1.pdf")])
        assert verified.exit_code == 0, verified.output
    runs = RunStore(out / "runs.duckdb").list_runs()
    assert sorted(runs.kind) == ["gate", "gate"] and set(runs.generator) == {"gaussian_copula", "autoregressive"}
    # the DP example: the training table's ledger holds the two gated (non-DP) releases and the DP one
    assert "differentially private release:" in result.output and "unbounded: 2 of 3 release(s)" in result.output
    ledger = RunStore(out / "runs.duckdb").ledger()
    assert sorted(ledger.origin) == ["gate", "gate", "generate"] and ledger.source_fingerprint.nunique() == 1
    dp = ledger[ledger.dp]
    assert dp.generator.tolist() == ["tvae"] and 0 < dp.epsilon.iloc[0] <= 3.0 and dp.steps.iloc[0] > 0
    shown = runner.invoke(app, ["budget", "show", str(out / "train.parquet"), "--store", str(out / "runs.duckdb")])
    assert shown.exit_code == 0 and "used: unbounded" in shown.output and "tvae" in shown.output, shown.output
