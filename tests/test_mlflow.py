"""``--mlflow`` on gate, evaluate and generate, read back from a real MLflow store with ``MlflowClient``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.cli._app import fill_optional_values
from qaharness.integrations.mlflow import INSTALL_LINE, run_record

mlflow = pytest.importorskip("mlflow", reason="MLflow is a test extra (pip install -e '.[test]'); not installed here")
from mlflow.tracking import MlflowClient  # noqa: E402

runner = CliRunner()

POLICY = """id: mlflow-test
version: "1.2"
rules:
  - id: marginals
    metric: fidelity.ks
    op: "<="
    threshold: 0.3
  - id: dependence
    metric: fidelity.corr_diff
    op: "<="
    threshold: 0.0001
    severity: warn
  - id: groups
    kind: constraint
    sql: "\\"group\\" IN ('a', 'b', 'c')"
"""


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A file store (MLflow 3 keeps it in maintenance mode behind MLFLOW_ALLOW_FILE_STORE)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return (tmp_path / "mlruns").as_uri()


@pytest.fixture
def tables(tmp_path):
    paths = {}
    for name, (n, seed) in {"real": (300, 1), "synthetic": (300, 2), "holdout": (200, 3)}.items():
        paths[name] = tmp_path / f"{name}.csv"
        make_mixed_frame(n, seed).to_csv(paths[name], index=False)
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    paths["policy"] = tmp_path / "policy.yaml"
    return paths


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def gate_args(tables, tmp_path, *extra):
    return (
        "gate", "--real", tables["real"], "--synthetic", tables["synthetic"], "--holdout", tables["holdout"],
        "--policy", tables["policy"], "--out", tmp_path / "gate", "--no-store", "--ticket", "DATA-7", *extra,
    )  # fmt: skip


def only_run(uri: str, experiment: str = "Default"):
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id])
    assert len(runs) == 1
    return client, runs[0]


def test_gate_logs_params_metrics_tags_artifacts_and_datasets(store, tables, tmp_path):
    result = invoke(*gate_args(tables, tmp_path, "--mlflow", store))
    assert result.exit_code == 0, result.output
    assert "logged to MLflow run" in result.output
    client, run = only_run(store)
    saved = json.loads((tmp_path / "gate" / "results.json").read_text())
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params["qaharness.policy.id"] == "mlflow-test" and params["qaharness.policy.version"] == "1.2"
    assert params["qaharness.policy.sha256"] == saved["policy"]["sha256"]
    assert params["qaharness.seed"] == "0" and params["qaharness.version"] == saved["qaharness_version"]
    ks = next(m for m in saved["metrics"] if m["id"] == "fidelity.ks")
    assert metrics["fidelity.ks"] == pytest.approx(ks["value"])
    assert metrics["fidelity.ks.baseline"] == pytest.approx(ks["baseline"])
    assert metrics["qaharness.verdict_pass"] == 1.0  # the failed rule is a warning: verdict warn
    assert (metrics["rule.marginals"], metrics["rule.dependence"], metrics["rule.groups"]) == (1.0, 0.0, 1.0)
    assert tags["qaharness.verdict"] == "warn" and tags["qaharness.ticket"] == "DATA-7"
    assert tags["qaharness.rule.dependence"] == "fail" and tags["qaharness.kind"] == "gate"
    assert tags["qaharness.real_fingerprint"] == saved["inputs"]["real"]["fingerprint"]
    assert run.info.status == "FINISHED" and run.info.run_name == "qaharness gate DATA-7"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "qaharness")}
    assert artifacts == {
        "qaharness/results.json",
        "qaharness/junit.xml",
        "qaharness/summary.md",
        "qaharness/run-manifest.json",
    }
    logged = client.download_artifacts(run.info.run_id, "qaharness/results.json", str(tmp_path / "down"))
    assert json.loads(Path(logged).read_text())["verdict"] == "warn"
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"real.csv", "synthetic.csv", "holdout.csv"}
    real = inputs["real.csv"]
    assert real.dataset.digest == saved["inputs"]["real"]["fingerprint"][:32]
    assert json.loads(real.dataset.source) == {"uri": tables["real"].resolve().as_uri()}
    assert json.loads(real.dataset.profile) == {"num_rows": 300, "num_columns": 6}
    assert real.dataset.schema is None  # fingerprint and source only: no columns, no rows
    assert {t.key: t.value for t in real.tags}["mlflow.data.context"] == "real"


def test_a_breached_gate_is_logged_and_still_exits_1(store, tables, tmp_path):
    policy = tables["policy"].read_text().replace("threshold: 0.3", "threshold: 0.0001")
    tables["policy"].write_text(policy)
    result = invoke(*gate_args(tables, tmp_path, "--mlflow", store, "--mlflow-experiment", "synthetic-qa"))
    assert result.exit_code == 1, result.output
    _, run = only_run(store, "synthetic-qa")
    assert run.data.metrics["qaharness.verdict_pass"] == 0.0 and run.data.tags["qaharness.verdict"] == "fail"


def test_evaluate_logs_into_an_existing_run_and_leaves_it_open(store, tables, tmp_path):
    client = MlflowClient(store)
    experiment = client.create_experiment("training")
    training = client.create_run(experiment, run_name="train xgboost")
    client.log_param(training.info.run_id, "learning_rate", "0.1")
    result = invoke(
        "evaluate", "--real", tables["real"], "--synthetic", tables["synthetic"], "--out", tmp_path / "eval",
        "--metrics", "fidelity.ks,fidelity.validity", "--no-store", "--mlflow", store,
        "--mlflow-run-id", training.info.run_id, "--mlflow-experiment", "training",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run = client.get_run(training.info.run_id)
    assert run.data.params["learning_rate"] == "0.1" and "fidelity.validity" in run.data.metrics
    assert run.data.tags["qaharness.kind"] == "evaluate" and "qaharness.verdict" not in run.data.tags
    assert run.info.status == "RUNNING"  # the caller's run: qaharness does not end it
    assert len(client.search_runs([experiment])) == 1


def test_bare_flag_uses_mlflow_default_from_the_environment(store, tables, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    result = invoke(*gate_args(tables, tmp_path, "--mlflow", "--seed", "3"))  # bare --mlflow before an option
    assert result.exit_code == 0, result.output
    _, run = only_run(store)
    assert run.data.params["qaharness.seed"] == "3"


@pytest.mark.parametrize(
    ("extra", "culprit"),
    [
        (("--mlflow-run-id", "0123456789abcdef0123456789abcdef"), "--mlflow-run-id"),
        (("--mlflow-experiment", "x"), None),
    ],
)
def test_bad_mlflow_options_exit_2_before_any_work(store, tables, tmp_path, extra, culprit):
    args = ("--mlflow", store, *extra) if culprit else extra
    result = invoke(*gate_args(tables, tmp_path, *args))
    assert result.exit_code == 2, result.output
    assert (culprit or "--mlflow-experiment: needs --mlflow") in result.output
    assert not (tmp_path / "gate").exists()  # nothing was computed or written


def test_refused_store_is_bad_input(tables, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    result = invoke(*gate_args(tables, tmp_path, "--mlflow", (tmp_path / "mlruns").as_uri()))
    assert result.exit_code == 2, result.output
    assert "--mlflow: MLflow:" in result.output and "MLFLOW_ALLOW_FILE_STORE" in result.output


def test_without_mlflow_the_install_line_is_printed(tables, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    result = invoke(*gate_args(tables, tmp_path, "--mlflow"))
    assert result.exit_code == 2, result.output
    assert INSTALL_LINE in result.output and not (tmp_path / "gate").exists()


@pytest.mark.slow  # fits a generator (about 10 s on the loaded 2-core box)
def test_generate_logs_generator_settings_and_manifest(store, tables, tmp_path):
    out = tmp_path / "synth.parquet"
    result = invoke(
        "generate", "--generator", "independent", "--data", tables["real"], "--rows", 120, "--out", out,
        "--seed", 5, "--mlflow", store, "--mlflow-experiment", "generation",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    client, run = only_run(store, "generation")
    from qaharness.provenance import read_manifest

    manifest = read_manifest(out)
    assert manifest is not None
    params = run.data.params
    assert params["qaharness.generator"] == "independent" and params["qaharness.generator.seed"] == "5"
    assert params["qaharness.generator.config_hash"] == manifest.config_hash and params["qaharness.dp"] == "none"
    assert run.data.tags["qaharness.manifest_id"] == manifest.manifest_id
    assert run.data.tags["qaharness.real_fingerprint"] == manifest.source_fingerprint
    assert run.data.metrics["generate.synthetic_rows"] == 120 and run.data.metrics["generate.rows"] == 300
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "qaharness")}
    assert artifacts == {"qaharness/manifest.json", "qaharness/fit_report.json"}
    contexts = {{t.key: t.value for t in d.tags}["mlflow.data.context"]: d.dataset for d in run.inputs.dataset_inputs}
    assert contexts["synthetic"].digest == manifest.rows_fingerprint[:32]
    assert contexts["training"].digest == manifest.source_fingerprint[:32]


def test_run_record_without_a_gate_has_no_verdict(mixed_frames):
    from qaharness.api import evaluate

    real, synthetic, holdout = mixed_frames
    run = evaluate(real, synthetic, holdout, metrics=["fidelity.ks"], seed=0)
    record = run_record(run, kind="evaluate")
    assert "qaharness.verdict_pass" not in record.metrics and "qaharness.policy.id" not in record.params
    assert {d.context for d in record.datasets} == {"real", "synthetic", "holdout"}
    assert record.metrics["fidelity.ks"] == run.metric("fidelity.ks").value


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["gate", "--mlflow"], ["gate", "--mlflow", "default"]),
        (["gate", "--mlflow", "--seed", "1"], ["gate", "--mlflow", "default", "--seed", "1"]),
        (["gate", "--mlflow", "file:/x"], ["gate", "--mlflow", "file:/x"]),
        (["gate", "--mlflow=file:/x"], ["gate", "--mlflow=file:/x"]),
    ],
)
def test_bare_mlflow_option_means_default(args, expected):
    assert fill_optional_values(args) == expected


def test_a_run_whose_logging_fails_is_marked_failed(store, tmp_path):
    from qaharness.errors import BadInputError
    from qaharness.integrations.mlflow import MlflowTarget, Record, log_record

    record = Record("gate", params={"qaharness.seed": "0"}, artifacts={"gone": tmp_path / "missing.json"})
    with pytest.raises(BadInputError, match="--mlflow"):
        log_record(MlflowTarget(tracking_uri=store, experiment="broken"), record)
    _, run = only_run(store, "broken")
    assert run.info.status == "FAILED" and run.data.params == {"qaharness.seed": "0"}
