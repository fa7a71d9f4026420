"""The gate: outputs (results.json, junit.xml, summary.md), exit codes, the store, the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.gate import run_gate
from qaharness.policy import parse_policy
from qaharness.results import Run
from qaharness.store import RunStore

FUTURE = (date.today() + timedelta(days=30)).isoformat()
PAST = (date.today() - timedelta(days=1)).isoformat()


def policy_text(*, ks: str = "0.5", js_severity: str = "warn", js: str = "0.5", waiver: str = "") -> str:
    return f"""\
id: small
version: 2.1.0
rules:
  - id: numeric
    metric: fidelity.ks
    op: "<="
    threshold: {ks}
    rationale: numeric marginals close
  - id: categories
    metric: fidelity.js
    op: "<="
    threshold: {js}
    severity: {js_severity}
    rationale: category frequencies close
  - id: covered
    metric: fidelity.coverage
    op: ">="
    threshold: 0.5
    rationale: most categories reached
{waiver}"""


@pytest.fixture
def frames():
    return make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(200, 3)


def gate(frames, tmp_path, text: str, **kwargs):
    real, synthetic, holdout = frames
    tmp_path.mkdir(parents=True, exist_ok=True)
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    kwargs.setdefault("store", tmp_path / "runs.duckdb")
    return run_gate(real, synthetic, holdout, out=tmp_path / "out", policy=policy, **kwargs)


def junit_cases(path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = {c.get("name").split(" ")[0]: c for c in suite.findall("testcase")}
    for attr in ("tests", "failures", "errors", "skipped"):
        assert suite.get(attr) == root.get(attr)
    assert int(suite.get("tests")) == len(cases)
    assert int(suite.get("failures")) == sum(len(c.findall("failure")) for c in cases.values())
    assert int(suite.get("errors")) == sum(len(c.findall("error")) for c in cases.values())
    assert int(suite.get("skipped")) == sum(len(c.findall("skipped")) for c in cases.values())
    return suite, cases


def test_passing_gate_writes_every_output_and_records_the_run(frames, tmp_path):
    result = gate(frames, tmp_path, policy_text())
    assert (result.verdict, result.exit_code) == ("pass", 0)
    assert set(result.files) == {"results.json", "junit.xml", "summary.md", "run-manifest.json"}
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["verdict"] == "pass"
    assert data["policy"]["id"] == "small" and data["policy"]["version"] == "2.1.0"
    assert len(data["policy"]["sha256"]) == 64
    assert [r["id"] for r in data["rules"]] == ["numeric", "categories", "covered"]
    for rule in data["rules"]:
        assert {
            "id",
            "metric",
            "family",
            "field",
            "op",
            "threshold",
            "observed",
            "severity",
            "status",
            "message",
        } <= set(rule)
    # only the metrics the policy needs were computed
    assert [m["id"] for m in data["metrics"]] == ["fidelity.ks", "fidelity.js", "fidelity.coverage"]
    store = RunStore(tmp_path / "runs.duckdb")
    row = store.run_row(result.run_id)
    assert (row["kind"], row["verdict"], row["policy_id"]) == ("gate", "pass", "small")
    artifacts = store.artifacts(result.run_id)
    assert set(artifacts.name) == {"results.json", "junit.xml", "summary.md", "run-manifest.json"}
    assert artifacts.sha256.notna().all()
    assert len(store.rules(result.run_id)) == 3
    assert store.get_run(result.run_id) == Run.read(tmp_path / "out")


def test_error_severity_failure_exits_1_with_a_junit_failure(frames, tmp_path):
    result = gate(frames, tmp_path, policy_text(ks="0.0001"))
    assert (result.verdict, result.exit_code) == ("fail", 1)
    assert result.failed_rules() == ["numeric"]
    suite, cases = junit_cases(result.files["junit.xml"])
    failure = cases["numeric"].find("failure")
    assert failure is not None and "is not <=" in failure.get("message")
    assert "rationale: numeric marginals close" in failure.text
    assert cases["categories"].find("failure") is None and cases["categories"].find("skipped") is None
    assert suite.find("properties/property[@name='verdict']").get("value") == "fail"


def test_warning_passes_but_is_visible_and_strict_fails_it(frames, tmp_path):
    result = gate(frames, tmp_path, policy_text(js="0.0001"))
    assert (result.verdict, result.exit_code) == ("warn", 0)
    _, cases = junit_cases(result.files["junit.xml"])
    skipped = cases["categories"].find("skipped")
    assert skipped is not None and skipped.get("message").startswith("WARNING:")
    assert cases["categories"].find("properties/property[@name='severity']").get("value") == "warn"
    assert "⚠️" in result.files["summary.md"].read_text()

    strict = gate(frames, tmp_path, policy_text(js="0.0001"), strict=True, overwrite=True)
    assert (strict.verdict, strict.exit_code) == ("warn", 1)
    _, cases = junit_cases(strict.files["junit.xml"])
    assert cases["categories"].find("failure") is not None


@pytest.mark.parametrize(
    ("expires", "verdict", "status"), [(FUTURE, "pass", "waived"), (PAST, "fail", "fail")], ids=["active", "expired"]
)
def test_waivers_show_in_every_output(frames, tmp_path, expires, verdict, status):
    waiver = f"waivers:\n  - {{rule: numeric, owner: ana, reason: tracked in DATA-9, expires: {expires}}}\n"
    result = gate(frames, tmp_path, policy_text(ks="0.0001", waiver=waiver))
    assert result.verdict == verdict
    rule = result.run.rules[0]
    assert rule.status == status and rule.waiver["owner"] == "ana"
    assert "ana" in result.files["results.json"].read_text()
    summary = result.files["summary.md"].read_text()
    assert "### Waivers" in summary and "DATA-9" in summary
    assert ("expired" in summary) == (expires == PAST)
    _, cases = junit_cases(result.files["junit.xml"])
    marker = cases["numeric"].find("skipped" if status == "waived" else "failure")
    assert marker is not None and "ana" in marker.get("message")


def test_a_metric_that_cannot_run_fails_its_rule_as_a_junit_error(frames, tmp_path):
    real, synthetic, _ = frames
    text = (
        policy_text()
        + """\
  - id: memorisation
    metric: privacy.dcr
    field: ci_low
    op: "<="
    threshold: 0.55
    rationale: needs a holdout
"""
    )
    (tmp_path / "p.yaml").write_text(text)
    result = run_gate(real, synthetic, None, out=tmp_path / "out", policy=tmp_path / "p.yaml", record=False)
    assert (result.verdict, result.exit_code) == ("fail", 1)
    rule = result.run.rules[-1]
    assert rule.status == "error" and "skipped" in rule.message and "holdout" in rule.message
    _, cases = junit_cases(result.files["junit.xml"])
    assert cases["memorisation"].find("error") is not None
    assert result.run_id is None


def test_summary_is_appended_to_github_step_summary(frames, tmp_path, monkeypatch):
    step = tmp_path / "step.md"
    step.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    result = gate(frames, tmp_path, policy_text(ks="0.0001"), ticket="DATA-42")
    text = step.read_text()
    assert text.startswith("previous step\n")
    assert "qaharness gate: FAIL" in text and "| ❌ | numeric |" in text and "DATA-42" in text
    assert text.strip() == ("previous step\n" + result.files["summary.md"].read_text()).strip()


def test_same_seed_same_judgement(frames, tmp_path):
    first = gate(frames, tmp_path / "a", policy_text(), seed=7, record=False)
    second = gate(frames, tmp_path / "b", policy_text(), seed=7, record=False)
    assert [r.model_dump() for r in first.run.rules] == [r.model_dump() for r in second.run.rules]


# -- CLI ---------------------------------------------------------------------------------------
@pytest.fixture
def files(frames, tmp_path):
    paths = {}
    for name, frame in zip(("real", "synthetic", "holdout"), frames):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def cli(files, tmp_path, *extra: str):
    args = [
        "gate",
        "--real",
        str(files["real"]),
        "--synthetic",
        str(files["synthetic"]),
        "--holdout",
        str(files["holdout"]),
        "--out",
        str(tmp_path / "gate"),
        "--store",
        str(tmp_path / "runs.duckdb"),
        *extra,
    ]
    return CliRunner().invoke(app, args)


@pytest.mark.parametrize(
    ("ks", "js", "extra", "code"),
    [("0.5", "0.5", (), 0), ("0.0001", "0.5", (), 1), ("0.5", "0.0001", (), 0), ("0.5", "0.0001", ("--strict",), 1)],
    ids=["pass", "fail", "warn", "warn-strict"],
)
def test_cli_exit_codes(files, tmp_path, ks, js, extra, code):
    policy = tmp_path / "p.yaml"
    policy.write_text(policy_text(ks=ks, js=js))
    result = cli(files, tmp_path, "--policy", str(policy), *extra)
    assert result.exit_code == code, result.output
    assert "verdict:" in result.output and "recorded as run" in result.output
    assert (tmp_path / "gate" / "junit.xml").is_file()


def test_cli_bad_input_exits_2_naming_the_file(files, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "gate",
            "--real",
            str(tmp_path / "nope.csv"),
            "--synthetic",
            str(files["synthetic"]),
            "--out",
            str(tmp_path / "g"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "nope.csv" in result.output and "Traceback" not in result.output


def test_cli_unknown_bundled_policy_exits_2(files, tmp_path):
    result = cli(files, tmp_path, "--policy", "no-such-policy")
    assert result.exit_code == 2 and "bundled policies" in result.output


def test_cli_internal_error_exits_3_with_a_log(files, tmp_path, monkeypatch):
    import qaharness.cli.gate as gate_cli

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(gate_cli, "run_gate", boom)
    result = cli(files, tmp_path)
    assert result.exit_code == 3 and "simulated bug" in result.output and "crash-" in result.output


def test_runs_list_and_show(files, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(policy_text(ks="0.0001"))
    assert cli(files, tmp_path, "--policy", str(policy), "--ticket", "DATA-7").exit_code == 1
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.list_runs().run_id.iloc[0]
    listed = CliRunner().invoke(app, ["runs", "list", "--store", str(store.path)])
    assert listed.exit_code == 0, listed.output
    assert run_id in listed.output and "fail" in listed.output and "DATA-7" in listed.output
    shown = CliRunner().invoke(app, ["runs", "show", run_id[:6], "--store", str(store.path)])
    assert shown.exit_code == 0, shown.output
    for text in (run_id, "small 2.1.0", "fidelity.ks", "numeric", "junit.xml", "summary.md"):
        assert text in shown.output
    missing = CliRunner().invoke(app, ["runs", "show", "zzzz", "--store", str(store.path)])
    assert missing.exit_code == 2 and "no run 'zzzz'" in missing.output


def test_runs_list_on_an_empty_store(tmp_path):
    result = CliRunner().invoke(app, ["runs", "list", "--store", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 0 and "no runs" in result.output


def test_default_policy_is_applied_when_omitted(frames, tmp_path):
    real, synthetic, holdout = frames
    loaded = parse_policy(policy_text(), source="x")
    result = run_gate(real, synthetic, holdout, out=tmp_path / "o", policy=loaded, record=False)
    assert result.run.policy.id == "small"
    from qaharness.policy import load_policy

    assert load_policy(None).policy.id == "default"


def test_a_policy_can_require_provenance_tags(files, tmp_path):
    text = """\
id: tagged
version: 1.0.0
rules:
  - id: tagged-synthetic
    metric: provenance.tagged
    op: ">="
    threshold: 1.0
    rationale: every released row carries a synthetic tag
"""
    (tmp_path / "p.yaml").write_text(text)
    result = run_gate(
        files["real"], files["synthetic"], None, out=tmp_path / "o", policy=tmp_path / "p.yaml", record=False
    )
    rule = result.run.rules[0]
    assert (rule.family.value, rule.observed, rule.status) == ("provenance", 0.0, "fail")
    assert result.exit_code == 1
    assert [m.id for m in result.run.metrics] == ["provenance.tagged"]


def test_runs_list_filters_by_kind(frames, tmp_path):
    from qaharness.api import evaluate

    real, synthetic, _ = frames
    store = RunStore(tmp_path / "runs.duckdb")
    evaluate_id = store.record_run(evaluate(real, synthetic, metrics=["fidelity.ks"]), kind="evaluate")
    gate_id = gate(frames, tmp_path, policy_text()).run_id
    listed = CliRunner().invoke(app, ["runs", "list", "--kind", "gate", "--store", str(store.path)])
    assert listed.exit_code == 0 and gate_id in listed.output and evaluate_id not in listed.output


def test_out_that_is_a_file_is_bad_input(frames, tmp_path):
    (tmp_path / "out").write_text("not a folder")
    from qaharness.errors import BadInputError

    with pytest.raises(BadInputError, match="--out .*not a folder"):
        gate(frames, tmp_path, policy_text())


def test_unwritable_step_summary_is_bad_input(frames, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "step.md"))
    from qaharness.errors import BadInputError

    with pytest.raises(BadInputError, match="GITHUB_STEP_SUMMARY"):
        gate(frames, tmp_path, policy_text())
