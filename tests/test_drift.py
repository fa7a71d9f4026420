"""`qaharness diff`: Evidently's data drift preset between two dataset versions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame
from scipy import stats
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.drift import compare, verdict_line, write_diff
from qaharness.errors import BadInputError

runner = CliRunner()
pytestmark = pytest.mark.slow  # importing Evidently alone takes several seconds


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """v1, and v2 with 'age' shifted, a rare category gone, a column added and one removed."""
    folder = tmp_path_factory.mktemp("versions")
    v1, v2 = make_mixed_frame(300, 1), make_mixed_frame(300, 2)
    v2["age"] = v2["age"] + 20
    v1["site"] = ["north"] * 295 + ["Hamlet-7"] * 5  # a rare real value: must never be shown
    v2["site"] = ["north"] * 300
    v1["dropped"] = 1.0
    v2["new_col"] = "x"
    v1.to_parquet(folder / "v1.parquet", index=False)
    v2.to_csv(folder / "v2.csv", index=False)
    return folder, v1, v2


@pytest.fixture(scope="module")
def shifted(versions):
    folder, _, _ = versions
    return compare(folder / "v1.parquet", folder / "v2.csv")


def test_shifted_column_drifts_and_score_matches_scipy(shifted, versions):
    result, _ = shifted
    _, v1, v2 = versions
    age = result.columns["age"]
    assert age.drifted and age.method == "K-S p_value" and age.threshold == 0.05
    assert age.score == pytest.approx(stats.ks_2samp(v1["age"], v2["age"]).pvalue, rel=1e-6)
    income = result.columns["income"]
    assert income.score == pytest.approx(stats.ks_2samp(v1["income"], v2["income"]).pvalue, rel=1e-6)
    assert not income.drifted and not result.columns["group"].drifted


def test_summary_counts_columns_and_versions(shifted):
    result, _ = shifted
    assert set(result.columns) == {"age", "group", "income", "flag", "day", "label", "site"}
    assert result.n_drifted == len(result.drifted_columns)
    assert result.share_drifted == pytest.approx(result.n_drifted / 7)
    assert result.dataset_drift is (result.share_drifted >= 0.5)
    assert result.added == ["new_col"] and result.removed == ["dropped"]
    assert result.old.rows == 300 and result.new.rows == 300


def test_verdict_line_and_outputs_mask_rare_values(shifted, tmp_path):
    result, snapshot = shifted
    line = verdict_line(result)
    assert "\n" not in line and "age" in line and f"{result.n_drifted} of 7 columns drifted" in line
    paths = write_diff(result, snapshot, tmp_path)
    html = paths["drift.html"].read_text(encoding="utf-8")
    assert "Hamlet-7" not in html and "rare#" in html
    data = json.loads(paths["drift.json"].read_text())
    assert data["columns"]["age"]["drifted"] is True and "Hamlet-7" not in json.dumps(data)


def test_identical_versions_do_not_drift(tmp_path):
    path = tmp_path / "v.parquet"
    make_mixed_frame(200, 4).to_parquet(path, index=False)
    res = runner.invoke(app, ["diff", str(path), str(path), "--out", str(tmp_path / "d"), "--fail-on-drift"])
    assert res.exit_code == 0, res.output
    assert "no dataset drift: 0 of 6 columns drifted" in res.output
    data = json.loads((tmp_path / "d" / "drift.json").read_text())
    assert all(c["score"] == pytest.approx(1.0) and not c["drifted"] for c in data["columns"].values())


def test_kind_change_and_identifier_are_skipped_not_fatal():
    rng = np.random.default_rng(0)
    old = pd.DataFrame(
        {"x": rng.normal(size=50), "amount": rng.normal(size=50), "user_id": [f"u{i}" for i in range(50)]}
    )
    new = old.assign(amount=["n/a-" + str(i) for i in range(50)])
    result, _ = compare(old, new)
    assert set(result.columns) == {"x"}
    assert "kind changed" in result.skipped["amount"] and "identifier" in result.skipped["user_id"]


def test_bad_inputs_raise_named_errors(tmp_path):
    a = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(BadInputError, match="no column to compare"):
        compare(a, pd.DataFrame({"b": [1.0, 2.0]}))
    with pytest.raises(BadInputError, match="at least 2 rows"):
        compare(a, a.head(1))
    with pytest.raises(BadInputError, match="drift-share"):
        compare(a, a, drift_share=0)
    with pytest.raises(BadInputError, match="not found"):
        compare(tmp_path / "missing.csv", a)


def test_cli_diff_writes_report_and_exit_codes(versions, tmp_path):
    folder, _, _ = versions
    out = tmp_path / "diff"
    args = ["diff", str(folder / "v1.parquet"), str(folder / "v2.csv"), "--out", str(out)]
    res = runner.invoke(app, [*args, "--drift-share", "0.1", "--fail-on-drift"])
    assert res.exit_code == 1, res.output
    assert "DRIFT:" in res.output and "age" in res.output and "Hamlet-7" not in res.output
    assert (out / "drift.html").is_file() and (out / "drift.json").is_file()
    assert runner.invoke(app, ["diff", str(folder / "v1.parquet"), str(tmp_path / "nope.csv")]).exit_code == 2
    res = runner.invoke(app, ["diff", "--help"])
    assert res.exit_code == 0 and "Example: qaharness diff" in res.output
