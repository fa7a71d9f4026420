"""The F-115 formats: CSV, Parquet, JSON (array and JSON Lines), YAML (a list of mappings) and XLSX
(first sheet) in and out, the manifest travelling with each, and ``generate --preview``."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.errors import BadInputError
from qaharness.formats import OUTPUT_FORMATS, output_format, write_table
from qaharness.io import read_table
from qaharness.masking import mask_label, mask_rows
from qaharness.provenance import TAG_COLUMN, data_fingerprint, make_manifest, read_manifest, sidecar_path, verify

runner = CliRunner()
FORMATS = ("parquet", "csv", "tsv", "json", "jsonl", "yaml", "xlsx")
QUICK_POLICY = """\
id: formats-test
version: "1"
rules:
  - id: ks
    metric: fidelity.ks
    op: "<="
    threshold: 0.5
  - id: real-is-real
    kind: synthetic_in_real
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("kind", FORMATS)
def test_every_format_round_trips_to_the_same_fingerprint(kind, tmp_path):
    frame = make_mixed_frame(40, 1)
    if kind == "xlsx":  # openpyxl writes 16 significant digits: the 17th of a float may change
        frame["income"] = frame["income"].round(6)
    path = write_table(frame, tmp_path / f"t.{kind}")
    back = read_table(path).frame
    assert list(back.columns) == list(frame.columns) and len(back) == 40
    assert data_fingerprint(back) == data_fingerprint(frame), kind
    assert [p.name for p in tmp_path.iterdir()] == [f"t.{kind}"]  # no temporary file left behind


def test_json_is_an_array_and_jsonl_one_object_a_line_with_missing_as_null(tmp_path):
    frame = pd.DataFrame({"a": [1.5, None], "b": ["x", None], "when": pd.to_datetime(["2024-01-02", None])})
    array = json.loads(write_table(frame, tmp_path / "t.json").read_text())
    assert array == [{"a": 1.5, "b": "x", "when": "2024-01-02T00:00:00"}, {"a": None, "b": None, "when": None}]
    lines = write_table(frame, tmp_path / "t.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == array


def test_xlsx_text_is_never_a_formula_and_only_the_first_sheet_is_read(tmp_path):
    from openpyxl import load_workbook

    frame = pd.DataFrame({"note": ['=HYPERLINK("http://x")', "plain"], "n": [1, 2]})
    path = write_table(frame, tmp_path / "t.xlsx")
    cell = load_workbook(path)["data"]["A2"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x")'
    book = load_workbook(path)
    book.create_sheet("second").append(["other", "columns"])
    book.save(path)
    assert list(read_table(path).frame.columns) == ["note", "n"]


def test_yaml_must_be_a_list_of_flat_mappings_without_aliases(tmp_path):
    (tmp_path / "ok.yaml").write_text("- {age: 39, when: 2024-01-02}\n- {age: 50, when: 2024-03-04}\n")
    frame = read_table(tmp_path / "ok.yaml").frame
    assert frame["age"].tolist() == [39, 50] and str(frame["when"].dtype).startswith("datetime64")
    cases = {
        "map.yaml": ("age: 39\n", "a list of mappings"),
        "alias.yaml": ("- &row {age: 1}\n- *row\n", "aliases"),
        "nested.yaml": ("- {age: [1, 2]}\n", "nested values"),
        "broken.yaml": ("- {age: 1\n", "not valid YAML"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(BadInputError, match=message):
            read_table(tmp_path / name)


def test_output_format_refuses_an_unknown_ending():
    assert {output_format(f"x{suffix}") for suffix in OUTPUT_FORMATS} == {*FORMATS}
    with pytest.raises(BadInputError, match=r"unknown output format; use one of \.parquet"):
        output_format("synthetic.feather")


@pytest.mark.parametrize("kind", FORMATS)
def test_the_manifest_travels_as_parquet_metadata_or_a_sidecar(kind, tmp_path):
    from qaharness.provenance import write_tagged

    frame = make_mixed_frame(30, 2)
    manifest = make_manifest(generator="independent", source=make_mixed_frame(30, 1), seed=3)
    path = write_tagged(frame, tmp_path / f"s.{kind}", manifest, column=True)
    rows = read_table(path).frame
    assert (rows[TAG_COLUMN] == manifest.tag).all() and len(rows) == 30
    if kind == "parquet":
        assert b"qaharness.provenance" in pq.read_schema(path).metadata and not sidecar_path(path).exists()
    else:
        assert json.loads(sidecar_path(path).read_text())["manifest_id"] == manifest.manifest_id
    attached = read_manifest(path)
    assert attached is not None and attached.tagged and attached.n_rows == 30
    assert verify(path).ok, verify(path)


def test_gate_reads_every_input_format_and_sees_a_sidecar_manifest(tmp_path):
    real, holdout = make_mixed_frame(300, 1), make_mixed_frame(200, 3)
    write_table(real, tmp_path / "real.json")
    write_table(holdout, tmp_path / "holdout.yaml")
    policy = tmp_path / "policy.yaml"
    policy.write_text(QUICK_POLICY)
    synthetic = tmp_path / "synthetic.xlsx"
    made = invoke("generate", "-g", "independent", "--data", tmp_path / "real.json", "--rows", 300, "--out", synthetic)
    assert made.exit_code == 0, made.output
    gated = invoke(
        "gate",
        "--real",
        tmp_path / "real.json",
        "--synthetic",
        synthetic,
        "--holdout",
        tmp_path / "holdout.yaml",
        "--policy",
        policy,
        "--out",
        tmp_path / "gate",
    )
    assert gated.exit_code == 0, gated.output
    results = json.loads((tmp_path / "gate" / "results.json").read_text())
    assert results["provenance"]["generator"] == "independent" and results["provenance"]["verified"] is True
    assert results["inputs"]["real"]["fingerprint"] == data_fingerprint(real)
    evaluated = invoke(
        "evaluate",
        "--real",
        tmp_path / "real.json",
        "--synthetic",
        synthetic,
        "--metrics",
        "fidelity.ks",
        "--out",
        tmp_path / "eval",
        "--no-store",
    )
    assert evaluated.exit_code == 0, evaluated.output


@pytest.mark.parametrize("kind", ("csv", "jsonl", "yaml"))
def test_generate_writes_each_format_with_its_manifest(kind, tmp_path):
    data = tmp_path / "real.parquet"
    make_mixed_frame(120, 1).to_parquet(data, index=False)
    out = tmp_path / f"synthetic.{kind}"
    result = invoke("generate", "-g", "independent", "--data", data, "--rows", 25, "--out", out, "--seed", 4)
    assert result.exit_code == 0, result.output
    assert len(read_table(out).frame) == 25 and read_manifest(out).generator == "independent"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rows", "5", "--out", "s.feather"], "--out s.feather: unknown output format"),
        (["--out", "s.csv"], "--rows"),
        (["--preview", "3", "--out", "s.csv"], "leave out --out"),
        (["--preview", "3", "--rows", "5"], "leave out --rows"),
        (["--preview", "3", "--save-model", "m"], "leave out --save-model"),
        (["--preview", "0"], "must be at least 1"),
    ],
)
def test_generate_output_options_are_checked_before_any_work(args, message, tmp_path):
    data = tmp_path / "real.csv"
    make_mixed_frame(50, 1).to_csv(data, index=False)
    result = invoke("generate", "-g", "independent", "--data", data, *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "m").exists()


def test_preview_prints_masked_rows_and_writes_nothing(tmp_path):
    real = make_mixed_frame(200, 1)
    real.loc[0, "group"] = "only-one-person"  # seen once in the real data: never shown
    data = tmp_path / "real.parquet"
    real.to_parquet(data, index=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke("generate", "-g", "independent", "--data", data, "--preview", 300, "--seed", 1)
    assert result.exit_code == 0, result.output
    assert "Preview: 300 synthetic rows (not written; rare real values masked)" in result.output
    assert "only-one-person" not in result.output and mask_label("only-one-person") in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before and "budget ledger" not in result.output


def test_mask_rows_known_answers():
    real = pd.DataFrame({"c": ["a"] * 8 + ["b"], "n": list(range(20, 29)), "id": [f"r{i}" for i in range(9)]})
    real = pd.concat([real] * 2, ignore_index=True)  # 18 rows: "a" 16 times, "b" twice; n 20..28 twice each
    synthetic = pd.DataFrame({"c": ["a", "b", None], "n": [20, 24, 28], "id": ["r1", "new", "r2"]})
    shown = mask_rows(synthetic, real, {"c": "categorical", "n": "numeric", "id": "identifier"}, k=3)
    assert shown["c"].tolist() == ["a", mask_label("b"), ""]
    # the 4th smallest real value is 21 and the 4th largest 27: 20 and 28 lie in a tail of ≤ 3 rows
    assert shown["n"].tolist() == [mask_label("20"), "24", mask_label("28")]
    assert shown["id"].tolist() == [mask_label("r1"), "new", mask_label("r2")]  # a real id is never shown
