"""Provenance manifests: round trips, tamper detection, CSV sidecars, in-place tagging."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import make_mixed_frame

from qaharness.errors import BadInputError
from qaharness.io import read_table
from qaharness.provenance import (
    METADATA_KEY,
    TAG_COLUMN,
    Manifest,
    data_fingerprint,
    make_manifest,
    read_manifest,
    sidecar_path,
    tag_file,
    verify,
    write_tagged,
)


@pytest.fixture
def real_csv(tmp_path):
    path = tmp_path / "real.csv"
    make_mixed_frame(60, 1).to_csv(path, index=False)
    return path


@pytest.fixture
def manifest(real_csv):
    return make_manifest(
        generator="gaussian_copula",
        generator_version="0.1",
        config={"epochs": 3},
        source=real_csv,
        seed=7,
        epsilon=2.0,
        delta=1e-5,
        accountant="prv",
        preprocessing="declared_schema",
    )


@pytest.fixture
def synthetic():
    return make_mixed_frame(40, 2)


def _checks(result):
    return {c.name: c.ok for c in result.checks}


def test_manifest_is_sealed_and_fields_recorded(manifest, real_csv):
    assert manifest.intact
    assert manifest.tag == f"synthetic:{manifest.manifest_id}" and len(manifest.manifest_id) == 16
    assert manifest.source_fingerprint == data_fingerprint(read_table(real_csv).frame)
    assert manifest.dp.epsilon == 2.0 and manifest.dp.delta == 1e-5 and manifest.dp.accountant == "prv"
    assert len(manifest.config_hash) == 64
    edited = manifest.model_copy(update={"seed": 8})
    assert not edited.intact


@pytest.mark.parametrize("name", ["synth.parquet", "synth.csv", "synth.tsv"])
def test_round_trip_and_verify(tmp_path, manifest, synthetic, real_csv, name):
    path = write_tagged(synthetic, tmp_path / name, manifest)
    back = read_manifest(path)
    assert back.intact and back.manifest_id == manifest.manifest_id  # rows don't change the id
    assert back.n_rows == 40 and back.generator == "gaussian_copula" and back.seed == 7
    result = verify(path, real=real_csv)
    assert result.ok, result.checks
    assert set(_checks(result)) == {"manifest", "seal", "signature", "rows", "tags", "source", "real_rows"}
    assert result.authenticated and result.real_row_share == 0.0
    assert result.tag_share == 1.0
    frame = read_table(path).frame
    assert (frame[TAG_COLUMN] == manifest.tag).all()
    assert list(frame.columns[:-1]) == list(synthetic.columns)
    pd.testing.assert_series_equal(frame["income"], synthetic["income"], check_names=False)


def test_parquet_keeps_manifest_in_metadata_and_no_sidecar(tmp_path, manifest, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.parquet", manifest)
    meta = pq.read_schema(path).metadata
    assert json.loads(meta[METADATA_KEY.encode()])["manifest_id"] == manifest.manifest_id
    assert not sidecar_path(path).exists()


def test_csv_gets_a_sidecar(tmp_path, manifest, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.csv", manifest, column=False)
    assert sidecar_path(path) == tmp_path / "s.csv.provenance.json"
    assert json.loads(sidecar_path(path).read_text())["generator"] == "gaussian_copula"
    assert TAG_COLUMN not in read_table(path).frame.columns
    result = verify(path)
    assert result.ok and result.tag_share is None and "tags" not in _checks(result)


def test_tampered_rows_are_detected_parquet(tmp_path, manifest, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.parquet", manifest)
    table = pq.read_table(path)
    frame = table.to_pandas()
    frame.loc[3, "income"] += 1.0
    import pyarrow as pa

    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(table.schema.metadata), path
    )
    checks = _checks(verify(path))
    # the manifest still verifies as signed; the rows it describes are not these
    assert checks == {"manifest": True, "seal": True, "signature": True, "rows": False, "tags": True}


def test_dropped_rows_and_edited_manifest_are_detected_csv(tmp_path, manifest, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.csv", manifest)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-2]))
    assert not _checks(verify(path))["rows"]
    data = json.loads(sidecar_path(path).read_text())
    data["dp"] = None  # someone hides that the data set was not private … or was
    sidecar_path(path).write_text(json.dumps(data))
    assert not _checks(verify(path))["seal"]


def test_wrong_real_data_fails_source_check(tmp_path, manifest, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.parquet", manifest)
    other = tmp_path / "other.csv"
    make_mixed_frame(60, 9).to_csv(other, index=False)
    assert _checks(verify(path, real=other))["source"] is False


def test_partly_untagged_rows_fail_tags_check(tmp_path, manifest, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.csv", manifest)
    frame = pd.read_csv(path)
    frame.loc[:9, TAG_COLUMN] = None
    frame.to_csv(path, index=False)
    result = verify(path)
    assert _checks(result)["tags"] is False and result.tag_share == pytest.approx(0.75)


def test_tag_file_in_place_preserves_data_and_retags(tmp_path, manifest, real_csv):
    path = tmp_path / "s.csv"
    path.write_text('name,amount\n"Smith, J",1.50\nplain,"2"\n"say ""hi""",3\n', encoding="utf-8")
    before = read_table(path).frame
    tag_file(path, manifest)
    tag_file(path, manifest)  # re-tagging replaces, never duplicates, the column
    after = read_table(path).frame
    assert list(after.columns) == ["name", "amount", TAG_COLUMN]
    pd.testing.assert_frame_equal(after.drop(columns=[TAG_COLUMN]), before)
    assert verify(path).ok
    tag_file(path, manifest, column=False)  # a stale tag column is removed
    assert list(read_table(path).frame.columns) == ["name", "amount"] and verify(path).ok


def test_tag_parquet_in_place(tmp_path, manifest, synthetic):
    path = tmp_path / "s.parquet"
    synthetic.to_parquet(path, index=False)
    before = read_table(path).frame
    tag_file(path, manifest, column=False)
    pd.testing.assert_frame_equal(read_table(path).frame, before)
    assert read_manifest(path).rows_fingerprint == data_fingerprint(before) and verify(path).ok


def test_other_formats_take_a_sidecar_only(tmp_path, manifest, synthetic):
    path = tmp_path / "s.jsonl"
    synthetic.to_json(path, orient="records", lines=True)
    with pytest.raises(BadInputError, match="--no-column"):
        tag_file(path, manifest)
    tag_file(path, manifest, column=False)
    assert verify(path).ok


def test_untagged_and_malformed(tmp_path, synthetic):
    path = tmp_path / "s.csv"
    synthetic.to_csv(path, index=False)
    assert read_manifest(path) is None
    assert _checks(verify(path)) == {"manifest": False}
    sidecar_path(path).write_text("{not json")
    with pytest.raises(BadInputError, match="not valid JSON"):
        read_manifest(path)
    assert not verify(path).ok
    sidecar_path(path).write_text(json.dumps({"generator": "x"}))
    with pytest.raises(BadInputError, match="invalid provenance manifest"):
        read_manifest(path)
    with pytest.raises(BadInputError, match="not found"):
        verify(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"epsilon": 1.0}, "both epsilon and delta"),
        ({"epsilon": -1.0, "delta": 1e-5}, "epsilon"),
        ({"epsilon": 1.0, "delta": 1.5}, "delta"),
        ({"preprocessing": "guessed"}, "preprocessing"),
        ({"generator": ""}, "generator"),
    ],
)
def test_make_manifest_rejects_bad_fields(fields, match):
    with pytest.raises(BadInputError, match=match):
        make_manifest(**{"generator": "g", **fields})


def test_manifest_json_round_trip(manifest):
    again = Manifest.model_validate_json(manifest.to_json())
    assert again == manifest and again.intact


def test_fingerprint_agrees_between_frame_csv_and_parquet(tmp_path):
    frame = make_mixed_frame(50, 3)
    frame["n"] = range(50)
    frame["maybe"] = [True, None] * 25
    frame["when_utc"] = frame["day"].dt.tz_localize("UTC")
    frame.to_csv(tmp_path / "f.csv", index=False)
    frame.to_parquet(tmp_path / "f.parquet", index=False)
    expected = data_fingerprint(frame)
    assert data_fingerprint(read_table(tmp_path / "f.csv").frame) == expected
    assert data_fingerprint(read_table(tmp_path / "f.parquet").frame) == expected
    changed = frame.copy()
    changed.loc[7, "group"] = "z"
    assert data_fingerprint(changed) != expected
    assert data_fingerprint(frame.iloc[::-1]) != expected  # row order counts
    assert data_fingerprint(frame.assign(**{TAG_COLUMN: "synthetic:x"})) == expected


@pytest.mark.parametrize(
    "field, value",
    [
        ("generator", "other"),
        ("generator_version", "9"),
        ("config_hash", "0" * 64),
        ("source_fingerprint", "f" * 64),
        ("seed", 99),
        ("dp", None),
        ("preprocessing", "data_dependent_not_private"),
        ("created_at", "2020-01-01T00:00:00"),
        ("qaharness_version", "0.0.1"),
        ("n_rows", 3),
        ("rows_fingerprint", "a" * 64),
        ("manifest_id", "0" * 16),
    ],
)
def test_changing_any_field_breaks_the_seal(manifest, field, value):
    assert not manifest.model_copy(update={field: value}).intact
    assert manifest.sealed(**{field: value}).intact  # re-sealing makes it consistent again
