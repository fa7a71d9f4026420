"""Hostile input gets exit 2 and one line naming the file, column, rule or option (issue 17,
"Hostile input", "Numbers", "Masks")."""

from __future__ import annotations

import gzip
import hashlib
import json
import time

import numpy as np
import pandas as pd
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.errors import BadInputError
from qaharness.inputs import prepare_inputs
from qaharness.io import MAX_EXPANSION, ReadLimits, read_table
from qaharness.masking import mask_label
from qaharness.policy import parse_policy
from qaharness.profile import column_profiles
from qaharness.store import RunStore
from qaharness.tickets import check_ticket

runner = CliRunner()


# -- nested columns ----------------------------------------------------------------------------
def test_nested_parquet_column_is_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"id": [1, 2], "tags": [[1, 2], [3]]}), path)
    with pytest.raises(BadInputError, match=r"column 'tags' holds nested values") as caught:
        read_table(path)
    assert caught.value.column == "tags" and str(path) in str(caught.value)


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_nested_json_column_is_named(tmp_path, suffix):
    rows = [{"a": 1, "b": {"x": 1}}, {"a": 2, "b": {"x": 2}}]
    path = tmp_path / f"nested{suffix}"
    path.write_text(json.dumps(rows) if suffix == ".json" else "\n".join(map(json.dumps, rows)))
    with pytest.raises(BadInputError, match=r"column 'b' holds nested values \(dict"):
        read_table(path)


def test_nested_values_in_a_dataframe_are_named():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", ["y"]]})
    with pytest.raises(BadInputError, match=r"column 'b' holds nested values \(list, e.g. row 2\)"):
        read_table(frame)


# -- thresholds ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("threshold", "needle"),
    [
        ('"1e999"', "not finite"),
        ("1.0e999", "finite"),
        ('"1/0"', "division by zero"),
        ('"1e308 * 10"', "not a finite number"),
        ('"' + "-" * 50_000 + '1"', "longer than 500 characters"),
        ('"' + "-" * 100 + '1"', "nests more than 32 levels"),
    ],
)
def test_hostile_thresholds_are_policy_errors_naming_the_rule(threshold, needle):
    rule = f'  - id: wild\n    metric: fidelity.ks\n    op: "<="\n    threshold: {threshold}\n'
    text = 'id: p\nversion: "1"\nrules:\n' + rule
    started = time.perf_counter()
    with pytest.raises(BadInputError, match=needle) as caught:
        parse_policy(text, source="team.yaml")
    assert "team.yaml:7" in str(caught.value) and "id 'wild'" in str(caught.value)
    assert time.perf_counter() - started < 5


# -- wide and large input ------------------------------------------------------------------------
def test_whole_csv_header_is_read_past_64_kb(tmp_path):
    names = [f"column_{i:06d}" for i in range(20_000)]  # ~280 KB of header
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    limits = ReadLimits(max_columns=100)
    with pytest.raises(BadInputError, match=r"has 20,000 columns, more than --max-columns 100"):
        read_table(path, limits=limits)
    dupes = [*names[:-1], names[15_000]]  # a duplicate far past the first 64 KB
    path.write_text(",".join(dupes) + "\n" + ",".join("1" for _ in dupes) + "\n")
    with pytest.raises(BadInputError, match=r"duplicate column names: column_015000$"):
        read_table(path, limits=ReadLimits(max_columns=50_000))


def test_hundred_thousand_columns_are_refused_quickly_by_default(tmp_path):
    names = [f"c{i}" for i in range(100_000)]
    path = tmp_path / "wider.csv"
    path.write_text(",".join(names) + "\n" + ",".join("0" for _ in names) + "\n")
    started = time.perf_counter()
    result = runner.invoke(
        app, ["evaluate", "--real", str(path), "--synthetic", str(path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "100,000 columns" in result.output and "--max-columns" in result.output
    assert "duplicate" not in result.output
    assert time.perf_counter() - started < 30


def test_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(b"a,b\n")
        block = b"0,0\n" * 250_000
        for _ in range(48):  # 12M rows, ~47 KB compressed
            handle.write(block)
    assert path.stat().st_size < 200_000
    started = time.perf_counter()
    with pytest.raises(BadInputError, match=rf"than the {MAX_EXPANSION}× real tables reach"):
        read_table(path)
    with pytest.raises(BadInputError, match="more than --max-bytes"):
        read_table(path, limits=ReadLimits(max_bytes=1 << 20))
    assert time.perf_counter() - started < 20


def test_ordinary_gzip_csv_still_reads(tmp_path):
    frame = make_mixed_frame(200, 1)
    path = tmp_path / "ok.csv.gz"
    frame.to_csv(path, index=False)
    assert read_table(path).frame.shape == (200, 6)


def test_max_bytes_and_max_columns_options(tmp_path):
    frame = make_mixed_frame(50, 1)
    frame.to_csv(tmp_path / "r.csv", index=False)
    base = ["evaluate", "--real", str(tmp_path / "r.csv"), "--synthetic", str(tmp_path / "r.csv")]
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "a"), "--max-bytes", "1K", "--no-store"])
    assert result.exit_code == 2 and "--max-bytes" in result.output
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "b"), "--max-columns", "3", "--no-store"])
    assert result.exit_code == 2 and "more than --max-columns 3" in result.output
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "c"), "--max-bytes", "lots", "--no-store"])
    assert result.exit_code == 2 and "expected a size" in result.output


def test_nul_in_a_column_name_is_named(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"ag\x00e,b\n1,2\n3,4\n")
    with pytest.raises(BadInputError, match=r"column name 'ag\\x00e' contains a NUL character"):
        read_table(path)


def test_mixed_aware_and_naive_datetimes_are_named_in_a_note():
    real = make_mixed_frame(60, 1)
    synthetic = make_mixed_frame(60, 2)
    real["day"] = real["day"].dt.strftime("%Y-%m-%d 10:00:00+02:00")
    synthetic["day"] = synthetic["day"].dt.strftime("%Y-%m-%d 10:00:00")
    data = prepare_inputs(real, synthetic)
    note = next(n for n in data.notes if "time-zone-aware" in n)
    assert "'day'" in note and "real: aware" in note and "synthetic: naive" in note and "UTC" in note
    assert str(data.real["day"].dtype) == "datetime64[ns]" and data.real["day"].iloc[0].hour == 8


def test_dates_without_offsets_get_no_note():
    data = prepare_inputs(make_mixed_frame(60, 1), make_mixed_frame(60, 2))
    assert not any("time-zone" in n for n in data.notes)


# -- tickets and markup ----------------------------------------------------------------------------
def test_ticket_is_validated_before_any_work(tmp_path, monkeypatch):
    touched = []
    monkeypatch.setattr("qaharness.api.prepare_inputs", lambda *a, **k: touched.append(1))
    missing = str(tmp_path / "missing.csv")
    for ticket in ("[/]", "data-1", "DATA 1", "../../etc"):
        result = runner.invoke(app, ["gate", "--real", missing, "--synthetic", missing, "--ticket", ticket])
        assert result.exit_code == 2 and "--ticket" in result.output, result.output
    assert not touched
    assert check_ticket("DATA-123") == "DATA-123"


def test_ticket_pattern_is_configurable(monkeypatch):
    monkeypatch.setenv("QAHARNESS_TICKET_PATTERN", r"REL_\d{4}")
    assert check_ticket("REL_2026") == "REL_2026"
    with pytest.raises(BadInputError, match="REL_"):
        check_ticket("DATA-1")
    monkeypatch.setenv("QAHARNESS_TICKET_PATTERN", r"[a-z/]+")
    with pytest.raises(BadInputError, match="file names"):
        check_ticket("a/b")  # the pattern allows it, file names do not
    monkeypatch.setenv("QAHARNESS_TICKET_PATTERN", "(")
    with pytest.raises(BadInputError, match="QAHARNESS_TICKET_PATTERN"):
        check_ticket("X-1")


def test_runs_list_and_show_escape_markup_from_the_store(tmp_path):
    from _report_fixtures import build_run

    run = build_run().model_copy(update={"ticket": "[/]", "notes": ["[bold red]x[/]"]})
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.record_run(run, kind="gate", out_dir="[/]")  # a ticket recorded before validation existed
    listed = runner.invoke(app, ["runs", "list", "--store", str(store.path)])
    assert listed.exit_code == 0 and "[/]" in listed.output, listed.output
    shown = runner.invoke(app, ["runs", "show", run_id, "--store", str(store.path)])
    assert shown.exit_code == 0 and "ticket: [/]" in shown.output, shown.output


def test_error_messages_keep_markup_characters(tmp_path):
    odd = tmp_path / "[red]data[/].csv"
    result = runner.invoke(app, ["evaluate", "--real", str(odd), "--synthetic", str(odd), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "[red]data[/].csv" in result.output


# -- numbers ---------------------------------------------------------------------------------------
def test_profile_of_values_near_the_float_limits_is_finite():
    real = pd.DataFrame({"x": [-1e308, 1e308, 0.0, 5.0] * 10, "g": list("abab") * 10})
    synthetic = pd.DataFrame({"x": [1e308, 1.79e308, -1.79e308, 1.0] * 10, "g": list("abab") * 10})
    profile = column_profiles(prepare_inputs(real, synthetic))["columns"]["x"]
    json.dumps(profile, allow_nan=False)
    assert np.all(np.isfinite(profile["edges"])) and np.all(np.diff(profile["edges"]) > 0)
    assert sum(profile["real"]) == pytest.approx(1) and sum(profile["synthetic"]) == pytest.approx(1)


# -- masks -----------------------------------------------------------------------------------------
def test_masks_are_keyed_not_a_dictionary_lookup(tmp_path, monkeypatch):
    title = "Chief Executive Officer"
    unkeyed = "rare#" + hashlib.sha256(title.encode()).hexdigest()[:8]
    first = mask_label(title)
    assert first != unkeyed and first == mask_label(title)  # stable within a home
    monkeypatch.setenv("QAHARNESS_HOME", str(tmp_path / "other-home"))
    assert mask_label(title) != first  # another secret, another mask
    assert (tmp_path / "other-home" / "mask.key").stat().st_mode & 0o077 == 0
