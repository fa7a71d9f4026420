"""The provenance manifest model. Private: import from ``qaharness.provenance``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

from ._provenance_files import TAG_PREFIX
from ._version import __version__

__all__ = ["MANIFEST_FORMAT", "SIGNATURE_FIELD", "DPBudget", "Manifest", "first_error", "jsonable", "canonical"]

#: 2: exact typed fingerprints (int64 no longer through float64), ``tagged``, ``signature``
MANIFEST_FORMAT = "qaharness.provenance/2"
_LEGACY_FORMAT = "qaharness.provenance/1"
Preprocessing = Literal["declared_schema", "data_dependent_budgeted", "data_dependent_not_private"]
_SEAL_FIELDS = ("manifest_sha256", "signature")
_ROW_FIELDS = ("manifest_id", "manifest_sha256", "n_rows", "rows_fingerprint", "tagged", "signature")
SIGNATURE_FIELD = "signature"
#: DPBudget fields that say what an accountant needs to compose releases more tightly than by
#: adding ε; left out of the manifest JSON (and so of its id, seal and signature) when unknown, so
#: manifests written before they existed keep their seal and signature
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
    """What made a synthetic table. ``manifest_sha256`` seals every other field (an unkeyed hash:
    it detects accidents, not forgers); ``signature`` authenticates the whole manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format: Literal["qaharness.provenance/1", "qaharness.provenance/2"] = "qaharness.provenance/2"
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
    tagged: bool | None = Field(default=None, description="whether every row carries the tag column")
    manifest_id: str = Field(default="", description="short id of the generation (what tags carry)")
    manifest_sha256: str = Field(default="", description="sha256 over all other fields but the signature")
    signature: dict[str, Any] | None = Field(
        default=None, description="signature over the whole manifest by the qaharness signer (qaharness.keys)"
    )

    @field_validator("created_at")
    @classmethod
    def _iso(cls, value: str) -> str:
        datetime.fromisoformat(value)
        return value

    def expected_id(self) -> str:
        """Hash of the generation's identity: everything but the rows (so tags can precede them)."""
        identity = self.model_dump(mode="json", exclude=set(_ROW_FIELDS))
        return hashlib.sha256(canonical(identity).encode()).hexdigest()[:16]

    def expected_sha256(self) -> str:
        body = self.model_dump(mode="json", exclude=set(_SEAL_FIELDS))
        return hashlib.sha256(canonical(body).encode()).hexdigest()

    @property
    def intact(self) -> bool:
        """True when neither the id nor the seal disagrees with the fields."""
        return self.manifest_id == self.expected_id() and self.manifest_sha256 == self.expected_sha256()

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.manifest_id

    def sealed(self, **update: Any) -> Manifest:
        """A copy with ``update`` applied, id and seal recomputed (an old signature is dropped)."""
        fields = {**self.model_dump(mode="json"), "format": MANIFEST_FORMAT, SIGNATURE_FIELD: None}
        draft = self.model_validate({**fields, **jsonable(update)})
        draft = draft.model_copy(update={"manifest_id": draft.expected_id()})
        return draft.model_copy(update={"manifest_sha256": draft.expected_sha256()})

    def signed(self, *, keys: str | Path | None = None, signer: Any = None) -> Manifest:
        """A copy signed by ``signer`` (default: the signer of ``keys``, local keys created if absent)."""
        from ._signature import sign_document
        from .keys import ensure_keys, load_signer

        if signer is None:
            ensure_keys(keys)
            signer = load_signer(keys)
        document = self.model_dump(mode="json")
        document.pop(SIGNATURE_FIELD, None)
        return Manifest.model_validate(sign_document(document, SIGNATURE_FIELD, signer))

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, allow_nan=False) + "\n"


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)


def jsonable(update: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v) for k, v in update.items()}


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg', '')}" if where else str(err.get("msg", ""))
