"""Checking a provenance manifest against its rows, its signature and the real data.

Private: import from ``qaharness.provenance``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._provenance_files import (
    TAG_COLUMN,
    TAG_PREFIX,
    canonical_frame,
    data_fingerprint,
    read_manifest_data,
    split_tags,
)
from ._provenance_model import _LEGACY_FORMAT, SIGNATURE_FIELD, Manifest, first_error
from .errors import BadInputError
from .io import read_table

if TYPE_CHECKING:
    from .inputs import EvalInput

__all__ = [
    "MAX_REAL_SHARE",
    "Check",
    "Assessment",
    "VerifyResult",
    "assess",
    "verify",
    "assess_input",
    "run_provenance",
    "real_row_share",
]

#: share of synthetic rows identical to a real row above which ``verify --real`` fails: the default
#: policy's exact-copies rule (baseline + 0.01; real Adult holdout rows coincide at 0.0005, honest
#: generators 0.0, a 30% copy mix 0.30 — policies/README.md)
MAX_REAL_SHARE = 0.01


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: Literal["manifest", "seal", "signature", "rows", "tags", "source", "real_rows"]
    ok: bool
    message: str


class Assessment(BaseModel):
    """What is known about one synthetic table's provenance; ``ok`` when every check passed."""

    model_config = ConfigDict(frozen=True)
    manifest: Manifest | None = None
    checks: tuple[Check, ...]
    n_rows: int
    tag_share: float | None = Field(default=None, description="rows tagged 'synthetic:*' / rows (None: no column)")
    matching_tag_share: float | None = Field(default=None, description="rows tagged with this manifest's id / rows")
    authenticated: bool = Field(default=False, description="the manifest's signature verified against the trust root")
    real_row_share: float | None = Field(default=None, description="synthetic rows identical to a real row / rows")

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


class VerifyResult(Assessment):
    path: str


def _signature_check(
    manifest_data: Mapping[str, Any], trust_roots: list | None, require: bool
) -> tuple[Check | None, bool]:
    """(the signature check, authenticated); no check when unsigned and no trust roots were given."""
    from ._signature import verify_document

    if manifest_data.get(SIGNATURE_FIELD) is None:
        if require:
            return Check(name="signature", ok=False, message="not signed: the manifest is not authenticated"), False
        return (
            Check(name="signature", ok=True, message="not signed: consistent, not authenticated")
            if trust_roots is not None
            else None
        ), False
    if trust_roots is None:
        return None, False
    outcome = verify_document(dict(manifest_data), SIGNATURE_FIELD, trust_roots)
    message = f"signed by {outcome.signer}" if outcome.ok else f"signature invalid: {outcome.reason}"
    return Check(name="signature", ok=outcome.ok, message=message), outcome.ok


def _rows_check(manifest: Manifest, n_rows: int, rows_fingerprint: str | None) -> Check:
    """``rows_fingerprint`` None: the rows were not read into memory (``--engine spark``), so only the
    row count is compared, and the message says so."""
    if rows_fingerprint is None:
        ok = manifest.n_rows == n_rows
        seen = f"{n_rows} rows" + (" match the manifest" if ok else f" now, {manifest.n_rows} sealed")
        return Check(name="rows", ok=ok, message=f"{seen} (row count only: the row fingerprint was not computed)")
    if manifest.format == _LEGACY_FORMAT:
        return Check(
            name="rows",
            ok=False,
            message=f"{_LEGACY_FORMAT} fingerprints went through float64 (int64 above 2^53 could change unseen); "
            "re-tag the file with this qaharness",
        )
    if manifest.rows_fingerprint == rows_fingerprint and manifest.n_rows == n_rows:
        return Check(name="rows", ok=True, message=f"{n_rows} rows match the manifest")
    return Check(
        name="rows",
        ok=False,
        message=f"rows differ from those the manifest describes ({n_rows} rows now, {manifest.n_rows} sealed)",
    )


def _tags_check(manifest: Manifest, tags: Mapping[str, int] | None, n_rows: int) -> tuple[Check | None, float | None]:
    matching = None if tags is None else _share(tags, lambda t: t == manifest.tag, n_rows)
    if matching is not None:
        return Check(name="tags", ok=matching == 1.0, message=f"{matching:.1%} of rows tagged {manifest.tag}"), matching
    if manifest.tagged:
        return Check(
            name="tags", ok=False, message=f"the manifest says rows were tagged, but {TAG_COLUMN} is gone"
        ), None
    return None, None


def assess(
    manifest_data: Mapping[str, Any] | None,
    *,
    n_rows: int,
    rows_fingerprint: str | None,
    tags: Mapping[str, int] | None = None,
    real_fingerprint: str | None = None,
    trust_roots: list | None = None,
    require_signature: bool = False,
) -> Assessment:
    """Check a manifest against the rows it travels with (and the real data, when given).

    With ``trust_roots`` the manifest's signature is checked too (an unsigned manifest passes as
    "consistent, not authenticated" unless ``require_signature``).
    """
    tag_share = None if tags is None else _share(tags, lambda t: t.startswith(TAG_PREFIX), n_rows)
    try:
        manifest = None if manifest_data is None else Manifest.model_validate(dict(manifest_data))
    except ValidationError as exc:
        failed = Check(name="manifest", ok=False, message=f"manifest invalid: {first_error(exc)}")
        return Assessment(checks=(failed,), n_rows=n_rows, tag_share=tag_share)
    if manifest is None or manifest_data is None:
        failed = Check(name="manifest", ok=False, message="no provenance manifest")
        return Assessment(checks=(failed,), n_rows=n_rows, tag_share=tag_share)
    checks = [
        Check(name="manifest", ok=True, message=f"generator {manifest.generator} {manifest.generator_version}".strip()),
        Check(
            name="seal",
            ok=manifest.intact,
            message="manifest sealed"
            if manifest.intact
            else "manifest fields were changed after sealing (id or sha256 mismatch)",
        ),
    ]
    signature, authenticated = _signature_check(manifest_data, trust_roots, require_signature)
    checks += [c for c in (signature, _rows_check(manifest, n_rows, rows_fingerprint)) if c is not None]
    tags_check, matching = _tags_check(manifest, tags, n_rows)
    if tags_check is not None:
        checks.append(tags_check)
    if real_fingerprint is not None:
        same = manifest.source_fingerprint == real_fingerprint
        checks.append(
            Check(
                name="source",
                ok=same,
                message="the real data is the manifest's source"
                if same
                else "the real data's fingerprint differs from the manifest's source fingerprint",
            )
        )
    return Assessment(
        manifest=manifest,
        checks=tuple(checks),
        n_rows=n_rows,
        tag_share=tag_share,
        matching_tag_share=matching,
        authenticated=authenticated,
    )


def _share(tags: Mapping[str, int], keep, n_rows: int) -> float:
    return sum(n for t, n in tags.items() if keep(t)) / n_rows if n_rows else 0.0


def real_row_share(synthetic: pd.DataFrame, real: pd.DataFrame) -> float | None:
    """Share of synthetic rows identical (in canonical typed values) to some real row; None when the
    column sets differ (the tables cannot hold the same rows)."""
    synthetic_rows, real_rows = canonical_frame(synthetic), canonical_frame(real)
    if set(synthetic_rows.columns) != set(real_rows.columns):
        return None
    if not len(synthetic_rows):
        return 0.0
    real_rows = real_rows[list(synthetic_rows.columns)]
    hashes = pd.util.hash_pandas_object(synthetic_rows, index=False).to_numpy()
    real_hashes = pd.util.hash_pandas_object(real_rows, index=False).to_numpy()
    return float(np.isin(hashes, real_hashes).mean())


def _real_rows_check(share: float | None, max_share: float) -> Check:
    if share is None:
        return Check(name="real_rows", ok=True, message="not compared: the real table has other columns")
    ok = share <= max_share
    verdict = "" if ok else f" — above {max_share:.1%}: these are real rows, not synthetic ones"
    return Check(name="real_rows", ok=ok, message=f"{share:.1%} of rows are identical to a real row{verdict}")


def verify(
    path: str | Path,
    *,
    real: str | Path | pd.DataFrame | None = None,
    trust: str | Path | None = None,
    keys: str | Path | None = None,
    require_signature: bool = False,
    max_real_share: float = MAX_REAL_SHARE,
) -> VerifyResult:
    """Re-read ``path`` and check its manifest: present, sealed, signed, rows and tags match; with
    ``real``, also the source fingerprint and the share of rows copied from the real table.

    The signature is checked against ``trust`` (a CA file; default the key folder's ca.pem). An
    unsigned manifest verifies as "consistent, not authenticated" (``authenticated`` False) unless
    ``require_signature``. A missing or unreadable file raises ``BadInputError``; a failed check is
    reported, not raised.
    """
    from .keys import load_trust_roots

    frame = read_table(path, name="synthetic").frame
    try:
        data = read_manifest_data(path)
        broken = None
    except BadInputError as exc:
        data, broken = None, str(exc)
    signed = data is not None and data.get(SIGNATURE_FIELD) is not None
    roots = load_trust_roots(trust, keys) if signed or trust is not None else []
    real_frame = None if real is None else read_table(real, name="real").frame
    data_only, tags = split_tags(frame)
    result = assess(
        data,
        n_rows=len(frame),
        rows_fingerprint=data_fingerprint(data_only),
        tags=tags,
        real_fingerprint=None if real_frame is None else data_fingerprint(real_frame),
        trust_roots=roots,
        require_signature=require_signature,
    )
    if broken:
        result = result.model_copy(update={"checks": (Check(name="manifest", ok=False, message=broken),)})
    elif real_frame is not None and data is not None:
        share = real_row_share(data_only, split_tags(real_frame)[0])
        checks = (*result.checks, _real_rows_check(share, max_real_share))
        result = result.model_copy(update={"checks": checks, "real_row_share": share})
    return VerifyResult(path=str(path), **dict(result))


def assess_input(data: EvalInput) -> Assessment:
    """Assess the synthetic table of prepared inputs (``qaharness.inputs.prepare_inputs`` fills the fields)."""
    synthetic, real = data.inputs.get("synthetic"), data.inputs.get("real")
    rows_fp = getattr(synthetic, "fingerprint", None)
    if rows_fp is None and not data.frames_are_samples:  # a sample cannot stand for the table's rows
        rows_fp = data_fingerprint(data.synthetic)
    assessment = assess(
        data.synthetic_manifest,
        n_rows=data.summaries().n_rows("synthetic"),
        rows_fingerprint=rows_fp,
        tags=data.synthetic_tags,
        real_fingerprint=getattr(real, "fingerprint", None),
    )
    # authenticated against the local trust root when there is one; a foreign signer is "not
    # authenticated" here, not inconsistent (``provenance verify --trust`` checks it properly)
    from .keys import key_paths, load_trust_roots

    if data.synthetic_manifest is not None and key_paths().ca_cert.is_file():
        _, authenticated = _signature_check(data.synthetic_manifest, load_trust_roots(), False)
        assessment = assessment.model_copy(update={"authenticated": authenticated})
    return assessment


def run_provenance(data: EvalInput) -> dict[str, Any] | None:
    """The ``Run.provenance`` block: the synthetic table's manifest plus its check outcomes (None without one).

    Wire as ``evaluate_input(data, ..., provenance=run_provenance(data))``.
    """
    if data.synthetic_manifest is None:
        return None
    assessment = assess_input(data)
    return {
        **dict(data.synthetic_manifest),
        "checks": {c.name: c.ok for c in assessment.checks},
        "verified": assessment.ok,
        "authenticated": assessment.authenticated,
        "tag_share": assessment.tag_share,
    }
