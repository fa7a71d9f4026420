"""``qaharness generate`` and ``qaharness generators list`` through Typer's runner; bad input → exit 2."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.generators import load_generator

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "real.csv"
    make_mixed_frame(200, 1).to_csv(path, index=False)
    return path


def test_generators_list_shows_every_builtin_with_capabilities():
    result = invoke("generators", "list")
    assert result.exit_code == 0, result.output
    for gid in ("independent", "gaussian_copula", "ctgan", "tvae"):
        assert gid in result.output
    assert "native" in result.output and "rejection" in result.output


def test_generate_parquet_carries_the_manifest(data, tmp_path):
    out = tmp_path / "synth.parquet"
    result = invoke(
        "generate",
        "--generator",
        "gaussian_copula",
        "--data",
        data,
        "--rows",
        150,
        "--out",
        out,
        "--seed",
        7,
        "--save-model",
        tmp_path / "model",
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 150 and list(frame.columns) == [*make_mixed_frame(5, 0).columns, "_qaharness_provenance"]
    assert frame["_qaharness_provenance"].str.startswith("synthetic:").all()  # tagged by default
    assert set(frame["flag"]) <= {"yes", "no"}  # the CSV's spelling, not True/False
    frame = frame.drop(columns="_qaharness_provenance")
    manifest = json.loads(pq.read_schema(out).metadata[b"qaharness.provenance"])
    assert manifest["generator"] == "gaussian_copula" and manifest["seed"] == 7 and manifest["dp"] is None
    assert manifest["preprocessing"] == "data_dependent_not_private" and len(manifest["config_hash"]) == 64
    assert manifest["source_fingerprint"] and manifest["n_rows"] == 150
    reloaded = load_generator(tmp_path / "model").sample(150, seed=7)
    pd.testing.assert_frame_equal(reloaded.reset_index(drop=True), frame, check_dtype=False)


def test_no_tag_column_and_the_source_values_kept(data, tmp_path):
    out = tmp_path / "synth.csv"
    result = invoke("generate", "-g", "independent", "--data", data, "--rows", 400, "--out", out, "--no-tag-column")
    assert result.exit_code == 0, result.output
    frame, real = pd.read_csv(out), pd.read_csv(data)
    assert list(frame.columns) == list(real.columns)
    assert set(frame["flag"]) == {"yes", "no"} and set(frame["label"]) == {"<=50K", ">50K"}
    assert abs((frame["flag"] == "yes").mean() - (real["flag"] == "yes").mean()) < 0.08


def test_generate_tvae_csv_with_condition_and_sidecar(data, tmp_path):
    out = tmp_path / "synth.csv"
    result = invoke(
        "generate",
        "-g",
        "ctgan",
        "--data",
        data,
        "--rows",
        30,
        "--out",
        out,
        "--epochs",
        1,
        "--device",
        "cpu",
        "--condition",
        "group=c",
        "--tag-column",
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert (frame["group"] == "c").all() and frame["_qaharness_provenance"].str.startswith("synthetic:").all()
    assert json.loads((tmp_path / "synth.csv.provenance.json").read_text())["generator"] == "ctgan"


def test_generate_dp_with_declared_schema_records_the_budget(data, tmp_path):
    schema = tmp_path / "schema.yaml"
    schema.write_text(
        "columns:\n  age: {min: 18, max: 80, integral: true}\n  income: {min: -20000, max: 120000}\n"
        "  day: {min: 2024-01-01, max: 2024-12-31}\n  group: {categories: [a, b, c]}\n"
        "  label: {categories: ['<=50K', '>50K']}\n"
    )
    out = tmp_path / "dp.parquet"
    result = invoke(
        "generate",
        "-g",
        "tvae",
        "--data",
        data,
        "--rows",
        20,
        "--out",
        out,
        "--epochs",
        2,
        "--epsilon",
        3,
        "--delta",
        1e-5,
        "--schema",
        schema,
        "--param",
        "batch_size=50",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(pq.read_schema(out).metadata[b"qaharness.provenance"])
    assert 0 < manifest["dp"]["epsilon"] <= 3 and manifest["dp"]["accountant"] == "rdp"
    assert manifest["preprocessing"] == "declared_schema"
    assert "ε spent" in result.output


@pytest.mark.parametrize(
    "args, culprit",
    [
        (["-g", "nope"], "unknown generator id 'nope'"),
        (["-g", "independent", "--rows", "0"], "--rows"),
        (["-g", "independent", "--out", "x.feather"], "--out"),
        (["-g", "independent", "--epsilon", "1"], "does not support differential privacy"),
        (["-g", "tvae", "--param", "batch_size=-1"], "'batch_size' parameter of tvae"),
        (["-g", "tvae", "--param", "nonsense"], "--param"),
        (["-g", "independent", "--condition", "group=zzz"], "not in the training domain"),
        (["-g", "independent", "--condition", "group"], "--condition"),
        (["-g", "ctgan", "--epsilon", "1", "--param", "pac=10"], "PacGAN"),
        (["-g", "independent", "--data", "missing.csv"], "data file not found"),
        (["-g", "tvae", "--epsilon", "0.5", "--epochs", "1"], "declare"),
    ],
)
def test_bad_input_exits_2_naming_the_culprit(args, culprit, data, tmp_path):
    base = {"--data": str(data), "--rows": "10", "--out": str(tmp_path / "s.parquet")}
    for i in range(0, len(args) - 1):
        if args[i] in base:
            base.pop(args[i])
    flat = [item for pair in base.items() for item in pair]
    result = invoke("generate", *flat, *args)
    assert result.exit_code == 2, result.output
    assert culprit in result.output
    assert "Traceback" not in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when CUDA is absent")
def test_device_cuda_without_cuda_exits_2(data, tmp_path):
    result = invoke(
        "generate",
        "-g",
        "tvae",
        "--data",
        data,
        "--rows",
        5,
        "--out",
        tmp_path / "s.parquet",
        "--device",
        "cuda",
        "--epochs",
        1,
    )
    assert result.exit_code == 2 and "CUDA is not available" in result.output
