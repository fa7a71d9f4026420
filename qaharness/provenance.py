"""Provenance manifests: a synthetic table says what made it, from what, and with which privacy budget.

Synthetic rows mixed into training data without a tag can never be separated again. A
``Manifest`` names the generator (id, version, config hash), the fingerprint of the real
source data, the seed, the differential-privacy budget if any, how preprocessing saw the
data, and a fingerprint of the synthetic rows themselves, sealed by ``manifest_sha256``.

Where it lives:
- Parquet: key-value metadata ``qaharness.provenance`` (the manifest JSON);
- CSV and other formats: a sidecar ``<file>.provenance.json``;
- optionally a ``_qaharness_provenance`` column holding ``synthetic:<manifest_id>`` on every row
  (Parquet and CSV/TSV), which survives concatenation with other tables.

Fingerprints are ``qaharness.io.fingerprint_frame`` over the table in canonical dtypes, the tag
column left out (``data_fingerprint``): a DataFrame and the same table read back from CSV or
Parquet by ``qaharness.io.read_table`` agree. ``verify`` re-reads the file and checks
the seal, the rows and the tags; given the real table, also the source fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

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
from ._version import __version__
from .errors import BadInputError
from .io import read_table

if TYPE_CHECKING:
    from .inputs import EvalInput

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
]

MANIFEST_FORMAT = "qaharness.provenance/1"
Preprocessing = Literal["declared_schema", "data_dependent_budgeted", "data_dependent_not_private"]
_SEAL_FIELDS = ("manifest_sha256",)
_ROW_FIELDS = ("manifest_id", "manifest_sha256", "n_rows", "rows_fingerprint")


#: DPBudget fields that say what an accountant needs to compose releases more tightly than by
#: adding ε; left out of the manifest JSON (and so of its id and seal) when unknown, so manifests
#: written before they existed keep their seal
_ACCOUNTING_FIELDS = (
    "mechanism",
    "noise_multiplier",
    "sample_rate",
    "steps",
    "preprocessing_epsilon",
    "preprocessing_delta",
)


class DPBudget(BaseModel):
    """The (ε, δ) a differentially private generator spent, and the accountant that computed it.

    With ``mechanism`` ``dp-sgd``, ``noise_multiplier``, ``sample_rate`` and ``steps`` describe the
    Poisson-subsampled Gaussian mechanism the accountant tracked, and ``preprocessing_epsilon`` /
    ``preprocessing_delta`` the share spent on data-dependent preprocessing (composed by addition):
    what ``qaharness.budget`` needs to compose several releases through RDP or PRV accounting.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    epsilon: float = Field(gt=0, allow_inf_nan=False, description="privacy loss ε spent (> 0)")
    delta: float = Field(ge=0, lt=1, description="failure probability δ, in [0, 1)")
    accountant: str | None = Field(default=None, description="e.g. 'prv' or 'rdp' (Opacus)")
    mechanism: Literal["dp-sgd"] | None = Field(
        default=None, description="dp-sgd: Poisson-subsampled Gaussian steps (None: not stated)"
    )
    noise_multiplier: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="σ of DP-SGD")
    sample_rate: float | None = Field(default=None, gt=0, le=1, description="Poisson sampling rate q of DP-SGD")
    steps: int | None = Field(default=None, ge=0, description="DP-SGD steps the accountant recorded")
    preprocessing_epsilon: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="part of ε spent on preprocessing (Laplace histograms)"
    )
    preprocessing_delta: float | None = Field(default=None, ge=0, lt=1, description="part of δ spent on preprocessing")

    @model_serializer(mode="wrap")
    def _drop_unknown_accounting(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if not (k in _ACCOUNTING_FIELDS and v is None)}


class Manifest(BaseModel):
    """What made a synthetic table. ``manifest_sha256`` seals every other field."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format: Literal["qaharness.provenance/1"] = "qaharness.provenance/1"
    generator: str = Field(min_length=1, description="generator id, e.g. 'ctgan'")
    generator_version: str = ""
    config_hash: str | None = Field(default=None, description="sha256 of the generator config")
    source_fingerprint: str | None = Field(default=None, description="data_fingerprint of the real training table")
    seed: int | None = None
    dp: DPBudget | None = Field(default=None, description="null: not differentially private")
    preprocessing: Preprocessing | None = Field(
        default=None,
        description="declared_schema: bounds/categories declared, not read from data; "
        "data_dependent_budgeted: read from data under the DP budget; "
        "data_dependent_not_private: read from data outside any budget",
    )
    created_at: str
    qaharness_version: str = __version__
    n_rows: int | None = Field(default=None, ge=0)
    rows_fingerprint: str | None = Field(default=None, description="data_fingerprint of the synthetic rows")
    manifest_id: str = Field(default="", description="short id of the generation (what tags carry)")
    manifest_sha256: str = Field(default="", description="sha256 over all other fields")

    @field_validator("created_at")
    @classmethod
    def _iso(cls, value: str) -> str:
        datetime.fromisoformat(value)
        return value

    def expected_id(self) -> str:
        """Hash of the generation's identity: everything but the rows (so tags can precede them)."""
        identity = self.model_dump(mode="json", exclude=set(_ROW_FIELDS))
        return hashlib.sha256(_canonical(identity).encode()).hexdigest()[:16]

    def expected_sha256(self) -> str:
        body = self.model_dump(mode="json", exclude=set(_SEAL_FIELDS))
        return hashlib.sha256(_canonical(body).encode()).hexdigest()

    @property
    def intact(self) -> bool:
        """True when neither the id nor the seal disagrees with the fields."""
        return self.manifest_id == self.expected_id() and self.manifest_sha256 == self.expected_sha256()

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.manifest_id

    def sealed(self, **update: Any) -> Manifest:
        """A copy with ``update`` applied, id and seal recomputed."""
        draft = self.model_validate({**self.model_dump(mode="json"), **_jsonable(update)})
        draft = draft.model_copy(update={"manifest_id": draft.expected_id()})
        return draft.model_copy(update={"manifest_sha256": draft.expected_sha256()})

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, allow_nan=False) + "\n"


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)


def _jsonable(update: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v) for k, v in update.items()}


def hash_config(config: Mapping[str, Any]) -> str:
    """sha256 of a generator config as canonical JSON (sorted keys)."""
    return hashlib.sha256(_canonical(dict(config)).encode()).hexdigest()


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
        return Manifest.model_validate(_jsonable(fields)).sealed()
    except ValidationError as exc:
        raise BadInputError(f"invalid provenance manifest: {_first_error(exc)}", source="manifest") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg', '')}" if where else str(err.get("msg", ""))


# -- files ---------------------------------------------------------------------------
def write_tagged(frame: pd.DataFrame, path: str | Path, manifest: Manifest, *, column: bool = True) -> Path:
    """Write ``frame`` to ``path`` with ``manifest`` attached; returns the path.

    Any format ``qaharness.formats.write_table`` writes: Parquet carries the manifest in its metadata,
    the others (CSV/TSV, JSON, JSON Lines, YAML, XLSX) a sidecar; ``column`` adds the tag column.
    The manifest's ``n_rows`` and ``rows_fingerprint`` are recomputed from the written file.
    """
    from .formats import write_table

    path = Path(path)
    data = frame.drop(columns=[TAG_COLUMN]) if TAG_COLUMN in frame.columns else frame
    if file_kind(path) == "other":  # written with its tag column at once: tag_file only adds the sidecar
        write_table(data.assign(**{TAG_COLUMN: manifest.tag}) if column else data, path)
        return tag_file(path, manifest, column=False)
    write_table(data, path)
    return tag_file(path, manifest, column=column)


def tag_file(path: str | Path, manifest: Manifest, *, column: bool = True) -> Path:
    """Attach ``manifest`` to the table at ``path`` in place, data kept as is; returns the path.

    Parquet gets key-value metadata, anything else a sidecar; with ``column`` the tag column is
    added (or refreshed) too — Parquet and CSV/TSV only. Without it, a stale tag column is removed.
    """
    path = Path(path)
    rows = read_table(path, name="synthetic").frame
    kind = file_kind(path)
    if column and kind == "other":
        raise BadInputError(
            "a tag column can be added only to .parquet or .csv/.tsv; use --no-column for a sidecar manifest alone",
            source=str(path),
        )
    sealed = manifest.sealed(n_rows=len(rows), rows_fingerprint=data_fingerprint(rows))
    if kind == "parquet":
        tag_parquet(path, sealed.to_json(), sealed.tag if column else None)
    else:
        if kind == "csv" and (column or TAG_COLUMN in rows.columns):
            tag_csv(path, sealed.tag if column else None)
        atomic_write_text(sidecar_path(path), sealed.to_json())
    return path


def read_manifest(path: str | Path) -> Manifest | None:
    """The manifest attached to ``path``, or None. A malformed one raises ``BadInputError``."""
    data = read_manifest_data(path)
    if data is None:
        return None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(f"invalid provenance manifest: {_first_error(exc)}", source=str(path)) from None


# -- checking ------------------------------------------------------------------------
class Check(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: Literal["manifest", "seal", "rows", "tags", "source"]
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

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


class VerifyResult(Assessment):
    path: str


def assess(
    manifest_data: Mapping[str, Any] | None,
    *,
    n_rows: int,
    rows_fingerprint: str,
    tags: Mapping[str, int] | None = None,
    real_fingerprint: str | None = None,
) -> Assessment:
    """Check a manifest against the rows it travels with (and the real data, when given)."""
    tag_share = None if tags is None else _share(tags, lambda t: t.startswith(TAG_PREFIX), n_rows)
    try:
        manifest = None if manifest_data is None else Manifest.model_validate(dict(manifest_data))
    except ValidationError as exc:
        failed = Check(name="manifest", ok=False, message=f"manifest invalid: {_first_error(exc)}")
        return Assessment(checks=(failed,), n_rows=n_rows, tag_share=tag_share)
    if manifest is None:
        failed = Check(name="manifest", ok=False, message="no provenance manifest")
        return Assessment(checks=(failed,), n_rows=n_rows, tag_share=tag_share)
    rows_ok = manifest.rows_fingerprint == rows_fingerprint and manifest.n_rows == n_rows
    checks = [
        Check(name="manifest", ok=True, message=f"generator {manifest.generator} {manifest.generator_version}".strip()),
        Check(
            name="seal",
            ok=manifest.intact,
            message="manifest sealed"
            if manifest.intact
            else "manifest fields were changed after sealing (id or sha256 mismatch)",
        ),
        Check(
            name="rows",
            ok=rows_ok,
            message=f"{n_rows} rows match the manifest"
            if rows_ok
            else f"rows differ from those the manifest describes ({n_rows} rows now, {manifest.n_rows} sealed)",
        ),
    ]
    matching = None if tags is None else _share(tags, lambda t: t == manifest.tag, n_rows)
    if matching is not None:
        checks.append(Check(name="tags", ok=matching == 1.0, message=f"{matching:.1%} of rows tagged {manifest.tag}"))
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
        manifest=manifest, checks=tuple(checks), n_rows=n_rows, tag_share=tag_share, matching_tag_share=matching
    )


def _share(tags: Mapping[str, int], keep, n_rows: int) -> float:
    return sum(n for t, n in tags.items() if keep(t)) / n_rows if n_rows else 0.0


def verify(path: str | Path, *, real: str | Path | pd.DataFrame | None = None) -> VerifyResult:
    """Re-read ``path`` and check its manifest: present, sealed, rows and tags match; source if ``real``.

    A missing or unreadable file raises ``BadInputError``; a failed check is reported, not raised.
    """
    frame = read_table(path, name="synthetic").frame
    try:
        data = read_manifest_data(path)
        broken = None
    except BadInputError as exc:
        data, broken = None, str(exc)
    real_fp = None if real is None else data_fingerprint(read_table(real, name="real").frame)
    data_only, tags = split_tags(frame)
    result = assess(
        data, n_rows=len(frame), rows_fingerprint=data_fingerprint(data_only), tags=tags, real_fingerprint=real_fp
    )
    if broken:
        result = result.model_copy(update={"checks": (Check(name="manifest", ok=False, message=broken),)})
    return VerifyResult(path=str(path), **dict(result))


def assess_input(data: EvalInput) -> Assessment:
    """Assess the synthetic table of prepared inputs (``qaharness.inputs.prepare_inputs`` fills the fields)."""
    synthetic, real = data.inputs.get("synthetic"), data.inputs.get("real")
    rows_fp = getattr(synthetic, "fingerprint", None) or data_fingerprint(data.synthetic)
    return assess(
        data.synthetic_manifest,
        n_rows=len(data.synthetic),
        rows_fingerprint=rows_fp,
        tags=data.synthetic_tags,
        real_fingerprint=getattr(real, "fingerprint", None),
    )


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
        "tag_share": assessment.tag_share,
    }
