"""Provenance that cannot be forged by editing and re-hashing (issue 17, "Provenance").

Each case was reproduced on the unkeyed-seal code: an edited and re-sealed manifest verified; a
tagged copy of the training table verified against it; a table stripped of its tag column verified;
an int64 above 2^53 changed by one verified.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import make_mixed_frame
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.keys import init_keys
from qaharness.provenance import (
    METADATA_KEY,
    TAG_COLUMN,
    Manifest,
    data_fingerprint,
    make_manifest,
    read_manifest,
    write_tagged,
)
from qaharness.provenance import verify as verify_provenance

runner = CliRunner()


@pytest.fixture
def real():
    return make_mixed_frame(60, 1)


@pytest.fixture
def synthetic():
    return make_mixed_frame(40, 2)


def _manifest(real, **fields):
    return make_manifest(generator="gaussian_copula", generator_version="0.1", source=real, seed=7, **fields)


def _checks(result):
    return {c.name: c.ok for c in result.checks}


def _rewrite_manifest(path, manifest: Manifest):
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata)
    metadata[METADATA_KEY.encode()] = manifest.to_json().encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)


def test_written_manifests_are_signed_and_verify_authenticated(tmp_path, real, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.parquet", _manifest(real))
    manifest = read_manifest(path)
    assert manifest.signature and manifest.tagged is True
    result = verify_provenance(path, real=real)
    assert result.ok and result.authenticated, result.checks
    cli = runner.invoke(app, ["provenance", "verify", str(path), "--require-signature"])
    assert cli.exit_code == 0 and "verified (signed, signer trusted)" in cli.output


def test_edited_and_re_sealed_manifest_fails_its_signature(tmp_path, real, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.parquet", _manifest(real))
    signed = read_manifest(path)
    # the forger edits ε and the generator and recomputes the unkeyed seal, keeping the signature
    forged = signed.sealed(generator="ctgan", dp={"epsilon": 0.5, "delta": 1e-6})
    forged = forged.model_copy(update={"signature": signed.signature})
    assert forged.intact  # the sha256 seal alone cannot tell
    _rewrite_manifest(path, forged)
    result = verify_provenance(path)
    assert not result.ok and _checks(result)["signature"] is False
    assert runner.invoke(app, ["provenance", "verify", str(path)]).exit_code == 1


def test_unsigned_manifest_is_consistent_not_authenticated(tmp_path, real, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.parquet", _manifest(real), sign=False)
    result = runner.invoke(app, ["provenance", "verify", str(path)])
    assert result.exit_code == 0 and "consistent, not authenticated" in result.output
    required = runner.invoke(app, ["provenance", "verify", str(path), "--require-signature"])
    assert required.exit_code == 1 and "not signed" in required.output


def test_signature_from_another_ca_is_not_trusted(tmp_path, real, synthetic):
    other = init_keys(tmp_path / "other")
    path = write_tagged(synthetic, tmp_path / "s.parquet", _manifest(real), keys=other.folder)
    init_keys()  # the local CA differs
    assert _checks(verify_provenance(path))["signature"] is False
    assert verify_provenance(path, trust=other.ca_cert).authenticated


def test_tagged_copy_of_the_training_table_fails_verify_real(tmp_path, real):
    source = tmp_path / "train.parquet"
    real.to_parquet(source, index=False)
    copy = tmp_path / "copy_of_train.parquet"
    real.to_parquet(copy, index=False)
    tagged = runner.invoke(
        app,
        [
            "provenance",
            "tag",
            str(copy),
            "--generator",
            "ctgan",
            "--source",
            str(source),
            "--epsilon",
            "0.5",
            "--delta",
            "1e-6",
        ],
    )
    assert tagged.exit_code == 0, tagged.output
    result = runner.invoke(app, ["provenance", "verify", str(copy), "--real", str(source)])
    assert result.exit_code == 1, result.output
    assert "100.0% of rows are identical to a real row" in result.output
    assert verify_provenance(copy, real=source).real_row_share == 1.0


def test_a_few_copied_rows_stay_within_the_allowance(tmp_path, real, synthetic):
    mixed = pd.concat([synthetic.iloc[:39], real.iloc[:1]], ignore_index=True)  # 1 of 40 = 2.5 %
    path = write_tagged(mixed, tmp_path / "s.parquet", _manifest(real))
    assert verify_provenance(path, real=real).check("real_rows").ok is False
    assert verify_provenance(path, real=real, max_real_share=0.05).ok


def test_stripped_tag_column_fails_because_the_manifest_says_tagged(tmp_path, real, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.parquet", _manifest(real), column=True)
    table = pq.read_table(path)
    pq.write_table(table.drop_columns([TAG_COLUMN]).replace_schema_metadata(table.schema.metadata), path)
    result = verify_provenance(path)
    assert not result.ok and "gone" in result.check("tags").message


def test_int64_above_2_53_changed_by_one_does_not_verify(tmp_path, real):
    frame = pd.DataFrame({"account": np.array([2**60, 2**60 + 2, 7], dtype="int64"), "x": [1.0, 2.0, 3.0]})
    assert data_fingerprint(frame) != data_fingerprint(frame.assign(account=frame.account + 1))
    path = write_tagged(frame, tmp_path / "s.parquet", _manifest(real))
    assert verify_provenance(path).ok
    table = pq.read_table(path)
    changed = table.set_column(0, "account", pa.array([2**60 + 1, 2**60 + 2, 7], pa.int64()))
    pq.write_table(changed.replace_schema_metadata(table.schema.metadata), path)
    assert _checks(verify_provenance(path))["rows"] is False


def test_fingerprint_agrees_across_integer_and_float_spellings():
    ints = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64")})
    floats = pd.DataFrame({"a": [1.0, np.nan, 3.0]})
    assert data_fingerprint(ints) == data_fingerprint(floats)
    assert data_fingerprint(pd.DataFrame({"a": [0.5, 1.0]})) != data_fingerprint(pd.DataFrame({"a": [0.5, 1.5]}))


def test_legacy_manifest_is_asked_to_be_re_tagged(tmp_path, real, synthetic):
    path = write_tagged(synthetic, tmp_path / "s.parquet", _manifest(real), sign=False)
    data = json.loads(read_manifest(path).to_json())
    data.update(format="qaharness.provenance/1", tagged=None)
    _rewrite_manifest(path, Manifest.model_validate(data))
    result = verify_provenance(path)
    assert not result.ok and "re-tag" in result.check("rows").message
