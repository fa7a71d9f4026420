"""``qaharness evaluate`` end to end, and every bad input → exit 2 naming the culprit."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.results import SCHEMA_VERSION

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def files(tmp_path):
    real, synthetic, holdout = make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(200, 3)
    paths = {}
    for name, frame in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def run_eval(files, tmp_path, *extra, real=None, synthetic=None):
    return invoke(
        "evaluate",
        "--real",
        real or files["real"],
        "--synthetic",
        synthetic or files["synthetic"],
        "--out",
        tmp_path / "out",
        "--metrics",
        "fidelity.ks,fidelity.js",
        *extra,
    )


def test_evaluate_writes_the_results_contract(files, tmp_path):
    result = invoke(
        "evaluate",
        "--real",
        files["real"],
        "--synthetic",
        files["synthetic"],
        "--holdout",
        files["holdout"],
        "--target",
        "label",
        "--metrics",
        "fidelity",
        "--out",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION == 3 and data["seed"] == 0
    assert set(data["inputs"]) == {"real", "synthetic", "holdout"}
    assert data["inputs"]["real"]["rows"] == 300 and len(data["inputs"]["real"]["sha256"]) == 64
    assert data["schema"] == {
        "age": "numeric",
        "group": "categorical",
        "income": "numeric",
        "flag": "boolean",
        "day": "datetime",
        "label": "categorical",
    }
    ids = [m["id"] for m in data["metrics"]]
    assert "fidelity.ks" in ids and all(i.startswith("fidelity.") for i in ids)
    for m in data["metrics"]:
        assert set(m) >= {
            "id",
            "family",
            "value",
            "goal",
            "bounds",
            "status",
            "message",
            "per_column",
            "ci",
            "baseline",
            "details",
        }
        assert m["status"] == "ok" and m["baseline"] is not None
    assert "recorded as run" in result.output


def test_same_seed_identical_results_json(files, tmp_path):
    outputs = []
    for name in ("a", "b"):
        assert (
            invoke(
                "evaluate",
                "--real",
                files["real"],
                "--synthetic",
                files["synthetic"],
                "--seed",
                5,
                "--out",
                tmp_path / name,
                "--no-store",
            ).exit_code
            == 0
        )
        data = json.loads((tmp_path / name / "results.json").read_text())
        data.pop("created_at"), data.pop("timings"), data.pop("seal")  # the seal signs the time too
        outputs.append(data)
    assert outputs[0] == outputs[1]


def test_readers_agree_across_formats(tmp_path):
    frame = make_mixed_frame(50, 4)
    frame["income"] = frame["income"].round(2)  # text formats keep ~15 significant digits
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    # the same rows as real, in other bytes: the same file twice is refused (exit 2) as a usage error
    frame.to_parquet(tmp_path / "real.parquet", index=False, compression="gzip")
    frame.to_json(tmp_path / "t.jsonl", orient="records", lines=True, date_format="iso", double_precision=15)
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    con = duckdb.connect(str(tmp_path / "w.db"))
    con.execute("CREATE TABLE training_entity_view AS SELECT * FROM frame")
    con.close()
    sources = ["t.parquet", "t.jsonl", "t.xlsx", "t.tsv"]
    for source in sources:
        result = invoke(
            "evaluate",
            "--real",
            tmp_path / "real.parquet",
            "--synthetic",
            tmp_path / source,
            "--metrics",
            "fidelity.ks,fidelity.js",
            "--out",
            tmp_path / source.replace(".", "_"),
            "--no-store",
        )
        assert result.exit_code == 0, (source, result.output)
        data = json.loads((tmp_path / source.replace(".", "_") / "results.json").read_text())
        assert data["metrics"][0]["value"] == pytest.approx(0.0, abs=1e-9), source
    query = f"duckdb:{tmp_path / 'w.db'}::SELECT * FROM training_entity_view"
    result = invoke(
        "evaluate",
        "--real",
        query,
        "--synthetic",
        tmp_path / "t.parquet",
        "--metrics",
        "fidelity.ks",
        "--out",
        tmp_path / "q",
        "--no-store",
    )
    assert result.exit_code == 0, result.output


def test_cp1252_csv_reads_correctly(tmp_path):
    text = "name,city\n" + "\n".join(f"r{i},{'Zürich' if i % 2 else 'Malmö'}" for i in range(30)) + "\n"
    (tmp_path / "latin.csv").write_bytes(text.encode("cp1252"))
    (tmp_path / "utf.csv").write_text(text, encoding="utf-8")
    result = invoke(
        "evaluate",
        "--real",
        tmp_path / "utf.csv",
        "--synthetic",
        tmp_path / "latin.csv",
        "--metrics",
        "fidelity.js",
        "--out",
        tmp_path / "o",
        "--no-store",
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "o" / "results.json").read_text())
    assert data["metrics"][0]["value"] == pytest.approx(0.0)


def _bad(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


BAD_CASES = {
    "missing file": (lambda t: t / "nope.csv", "nope.csv"),
    "empty file": (lambda t: _bad(t, "empty.csv", b""), "empty"),
    "header only": (lambda t: _bad(t, "header.csv", b"age,group,income,flag,day,label\n"), "no rows"),
    "one row": (lambda t: _bad(t, "one.csv", b"age,group,income,flag,day,label\n1,a,2,yes,2024-01-01,x\n"), "1 row"),
    "duplicate names": (lambda t: _bad(t, "dup.csv", b"age,age,income\n1,2,3\n4,5,6\n"), "duplicate column names: age"),
    "unknown type": (lambda t: _bad(t, "data.xml", b"<a/>"), "unknown file type"),
    "not utf8 nor cp1252": (lambda t: _bad(t, "bad.csv", b"a,b\n\x81\x8d,1\n\x8f,2\n\x90\xc3,3\n"), "not valid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_synthetic_file_exits_2_naming_the_file(case, files, tmp_path):
    make, expected = BAD_CASES[case]
    path = make(tmp_path)
    result = run_eval(files, tmp_path, synthetic=path)
    assert result.exit_code == 2, result.output
    assert path.name in result.output and expected in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_column_mismatch_names_missing_and_extra(files, tmp_path):
    frame = pd.read_csv(files["synthetic"]).drop(columns=["age"]).rename(columns={"group": "grp"})
    frame.to_csv(tmp_path / "s.csv", index=False)
    result = run_eval(files, tmp_path, synthetic=tmp_path / "s.csv")
    assert result.exit_code == 2
    assert (
        "missing in synthetic: age, group" in result.output and "extra in synthetic (not in real): grp" in result.output
    )


def test_unknown_target_lists_columns(files, tmp_path):
    result = run_eval(files, tmp_path, "--target", "salary")
    assert result.exit_code == 2
    assert "'salary'" in result.output and "age, group, income" in result.output


def test_inf_values_name_the_column(files, tmp_path):
    frame = pd.read_csv(files["synthetic"])
    frame.loc[3, "income"] = np.inf
    frame.to_csv(tmp_path / "inf.csv", index=False)
    result = run_eval(files, tmp_path, synthetic=tmp_path / "inf.csv")
    assert result.exit_code == 2 and "'income'" in result.output and "infinite" in result.output


def test_non_numeric_value_in_numeric_column(files, tmp_path):
    frame = pd.read_csv(files["synthetic"])
    frame["age"] = frame["age"].astype(object)
    frame.loc[0, "age"] = "old"
    frame.to_csv(tmp_path / "s.csv", index=False)
    result = run_eval(files, tmp_path, synthetic=tmp_path / "s.csv")
    assert result.exit_code == 2 and "'age'" in result.output and "s.csv" in result.output


def test_all_missing_and_constant_columns_are_recorded_not_fatal(files, tmp_path):
    for name in ("real", "synthetic"):
        frame = pd.read_csv(files[name]).assign(empty=np.nan, const=1.5)
        frame.to_csv(tmp_path / f"{name}2.csv", index=False)
    result = invoke(
        "evaluate",
        "--real",
        tmp_path / "real2.csv",
        "--synthetic",
        tmp_path / "synthetic2.csv",
        "--metrics",
        "fidelity",
        "--out",
        tmp_path / "o",
        "--no-store",
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "o" / "results.json").read_text())
    assert any("all-missing in real" in n and "empty" in n for n in data["notes"])
    assert any("constant in real" in n and "const" in n for n in data["notes"])
    assert all(m["status"] == "ok" for m in data["metrics"])


def test_schema_override_and_bad_schema(files, tmp_path):
    (tmp_path / "schema.yaml").write_text("columns:\n  age: categorical\n")
    assert run_eval(files, tmp_path, "--schema", tmp_path / "schema.yaml").exit_code == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["schema"]["age"] == "categorical"
    (tmp_path / "bad.yaml").write_text("columns:\n  age: number\n")
    result = run_eval(files, tmp_path, "--schema", tmp_path / "bad.yaml", "--overwrite")
    assert result.exit_code == 2 and "bad.yaml" in result.output and "'age'" in result.output


def test_unknown_metric_lists_known(files, tmp_path):
    result = invoke(
        "evaluate",
        "--real",
        files["real"],
        "--synthetic",
        files["synthetic"],
        "--out",
        tmp_path / "o",
        "--metrics",
        "fidelity.nope",
    )
    assert result.exit_code == 2 and "fidelity.nope" in result.output and "fidelity.ks" in result.output


def test_missing_option_is_usage_error(files):
    assert invoke("evaluate", "--real", files["real"]).exit_code == 2


def test_internal_error_exits_3_with_log(files, tmp_path, monkeypatch):
    import qaharness.cli.evaluate as command

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(command, "evaluate_api", boom)
    result = run_eval(files, tmp_path)
    assert result.exit_code == 3
    assert "internal error: RuntimeError: kaboom" in result.output
    log = result.output.split("the traceback is in ")[1].split(";")[0]
    assert "Traceback" in Path(log).read_text()


def test_every_command_has_help_with_example():
    from typer.main import get_command

    group = get_command(app)
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        for leaf_name, _leaf in (sub or {}).items() if sub else [(name, command)]:
            result = invoke(*([name, leaf_name] if sub else [name]), "--help")
            assert result.exit_code == 0, (name, leaf_name)
            assert "Example" in result.output, f"{name} {leaf_name if sub else ''}: --help has no example"


def test_unknown_task_is_bad_input(files, tmp_path):
    result = run_eval(files, tmp_path, "--target", "label", "--task", "clustering")
    assert result.exit_code == 2 and "--task" in result.output and "binary, multiclass" in result.output
