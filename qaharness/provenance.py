"""Provenance manifests: a synthetic table says what made it, from what, and with which privacy budget.

Synthetic rows mixed into training data without a tag can never be separated again. A
``Manifest`` names the generator (id, version, config hash), the fingerprint of the real
source data, the seed, the differential-privacy budget if any, how preprocessing saw the
data, whether the rows carry tags, and a fingerprint of the synthetic rows themselves, sealed
by ``manifest_sha256`` (an unkeyed hash: it catches accidents) and signed by the qaharness signer
(``qaharness.keys``: it catches forgers). The model lives in ``_provenance_model``, the checks in
``_provenance_checks``, the file formats in ``_provenance_files``; this module re-exports them.

Where it lives:
- Parquet: key-value metadata ``qaharness.provenance`` (the manifest JSON);
- CSV and other formats: a sidecar ``<file>.provenance.json``;
- optionally a ``_qaharness_provenance`` column holding ``synthetic:<manifest_id>`` on every row
  (Parquet and CSV/TSV), which survives concatenation with other tables.

Fingerprints are ``qaharness.io.fingerprint_frame`` over the table in canonical dtypes, the tag
column left out (``data_fingerprint``): a DataFrame and the same table read back from CSV or
Parquet by ``qaharness.io.read_table`` agree, and integers are hashed exactly. ``verify``
re-reads the file and checks the seal, the signature, the rows and the tags; given the real
table, also the source fingerprint and the share of rows copied from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from ._provenance_checks import (
    MAX_REAL_SHARE,
    Assessment,
    Check,
    VerifyResult,
    assess,
    assess_input,
    real_row_share,
    run_provenance,
    verify,
)
from ._provenance_files import (
    METADATA_KEY,
    TAG_COLUMN,
    TAG_PREFIX,
    atomic_write_text,
    data_fingerprint,
    file_kind,
    read_manifest_data,
    sidecar_path,
    split_tags,
    tag_counts,
    tag_csv,
    tag_parquet,
)
from ._provenance_model import MANIFEST_FORMAT, SIGNATURE_FIELD, DPBudget, Manifest, canonical, first_error, jsonable
from .errors import BadInputError
from .io import read_table

__all__ = [
    "TAG_COLUMN",
    "TAG_PREFIX",
    "METADATA_KEY",
    "MANIFEST_FORMAT",
    "DPBudget",
    "Manifest",
    "Check",
    "Assessment",
    "VerifyResult",
    "make_manifest",
    "hash_config",
    "write_tagged",
    "tag_file",
    "read_manifest",
    "read_manifest_data",
    "sidecar_path",
    "verify",
    "assess",
    "assess_input",
    "run_provenance",
    "data_fingerprint",
    "split_tags",
    "tag_counts",
    "real_row_share",
    "MAX_REAL_SHARE",
    "SIGNATURE_FIELD",
]


def hash_config(config: Mapping[str, Any]) -> str:
    """sha256 of a generator config as canonical JSON (sorted keys)."""
    return hashlib.sha256(canonical(dict(config)).encode()).hexdigest()


def make_manifest(
    *,
    generator: str,
    generator_version: str = "",
    config: Mapping[str, Any] | None = None,
    config_hash: str | None = None,
    source: pd.DataFrame | str | Path | None = None,
    source_fingerprint: str | None = None,
    seed: int | None = None,
    dp: DPBudget | Mapping[str, Any] | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
    accountant: str | None = None,
    preprocessing: str | None = None,
    n_rows: int | None = None,
    rows_fingerprint: str | None = None,
    created_at: str | None = None,
) -> Manifest:
    """Build a sealed manifest.

    ``config`` (a mapping) is hashed into ``config_hash``; ``source`` (the real training table, a
    frame or a path read by ``read_table``) is fingerprinted into ``source_fingerprint``;
    ``epsilon``/``delta``/``accountant`` are a shorthand for ``dp``. ``write_tagged`` and
    ``tag_file`` fill ``n_rows`` and ``rows_fingerprint`` from the file they write.
    Raises ``BadInputError`` for an invalid field (e.g. ε ≤ 0).
    """
    if config is not None:
        config_hash = hash_config(config)
    if source is not None:
        frame = source if isinstance(source, pd.DataFrame) else read_table(source, name="source").frame
        source_fingerprint = data_fingerprint(frame)
    if epsilon is not None or delta is not None:
        if dp is not None:
            raise BadInputError("give either dp or epsilon/delta, not both", source="--epsilon")
        if epsilon is None or delta is None:
            raise BadInputError("a DP budget needs both epsilon and delta", source="--epsilon/--delta")
        dp = {"epsilon": epsilon, "delta": delta, "accountant": accountant}
    fields = {
        "generator": generator,
        "generator_version": generator_version,
        "config_hash": config_hash,
        "source_fingerprint": source_fingerprint,
        "seed": seed,
        "dp": dp,
        "preprocessing": preprocessing,
        "created_at": created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "n_rows": n_rows,
        "rows_fingerprint": rows_fingerprint,
    }
    try:
        return Manifest.model_validate(jsonable(fields)).sealed()
    except ValidationError as exc:
        raise BadInputError(f"invalid provenance manifest: {first_error(exc)}", source="manifest") from None


# -- files ---------------------------------------------------------------------------
def write_tagged(
    frame: pd.DataFrame,
    path: str | Path,
    manifest: Manifest,
    *,
    column: bool = True,
    sign: bool = True,
    keys: str | Path | None = None,
) -> Path:
    """Write ``frame`` to ``path`` with ``manifest`` attached; returns the path.

    Any format ``qaharness.formats.write_table`` writes: Parquet carries the manifest in its metadata,
    the others (CSV/TSV, JSON, JSON Lines, YAML, XLSX) a sidecar; ``column`` adds the tag column
    (written with the rows where ``tag_file`` cannot add it afterwards). The manifest's ``n_rows``
    and ``rows_fingerprint`` are recomputed from the written file; it is signed with the signer of
    ``keys`` unless ``sign=False``. The file is written atomically.
    """
    from .formats import write_table

    path = Path(path)
    data = frame.drop(columns=[TAG_COLUMN]) if TAG_COLUMN in frame.columns else frame
    if column and file_kind(path) == "other":
        data = data.assign(**{TAG_COLUMN: manifest.sealed().tag})  # the id is known before the rows are
    write_table(data, path)
    return tag_file(path, manifest, column=column, sign=sign, keys=keys)


def tag_file(
    path: str | Path,
    manifest: Manifest,
    *,
    column: bool = True,
    sign: bool = True,
    keys: str | Path | None = None,
) -> Path:
    """Attach ``manifest`` to the table at ``path`` in place, data kept as is; returns the path.

    Parquet gets key-value metadata, anything else a sidecar; with ``column`` the tag column is
    added (or refreshed) too — Parquet and CSV/TSV only. Without it, a stale tag column is removed.
    The manifest records which (``tagged``) and is signed with the signer of ``keys`` unless
    ``sign=False`` (then it verifies only as "consistent, not authenticated").
    """
    path = Path(path)
    signer = None
    if sign:  # a missing passphrase or token fails before the file is touched
        from .keys import ensure_keys, load_signer

        ensure_keys(keys)
        signer = load_signer(keys)
    rows = read_table(path, name="synthetic").frame
    kind = file_kind(path)
    sealed = manifest.sealed(n_rows=len(rows), rows_fingerprint=data_fingerprint(rows), tagged=column)
    if column and kind == "other" and not _tagged_with(rows, sealed.tag):
        raise BadInputError(
            "a tag column can be added only to .parquet or .csv/.tsv; use --no-column for a sidecar manifest alone",
            source=str(path),
        )
    if signer is not None:
        sealed = sealed.signed(signer=signer)
    if kind == "parquet":
        tag_parquet(path, sealed.to_json(), sealed.tag if column else None)
    else:
        if kind == "csv" and (column or TAG_COLUMN in rows.columns):
            tag_csv(path, sealed.tag if column else None)
        atomic_write_text(sidecar_path(path), sealed.to_json())
    return path


def _tagged_with(rows: pd.DataFrame, tag: str) -> bool:
    """Whether every row already carries ``tag`` (``write_tagged`` wrote it with the rows)."""
    return TAG_COLUMN in rows.columns and bool((rows[TAG_COLUMN].astype(str) == tag).all())


def read_manifest(path: str | Path) -> Manifest | None:
    """The manifest attached to ``path``, or None. A malformed one raises ``BadInputError``."""
    data = read_manifest_data(path)
    if data is None:
        return None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(f"invalid provenance manifest: {first_error(exc)}", source=str(path)) from None
