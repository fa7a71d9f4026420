"""The privacy-budget ledger: every release from a real source, and what they spend together.

Each differentially private release spends budget, and the spends compose: five releases at
ε = 1 are not an ε = 1 guarantee. The run store's ``budget_ledger`` table is keyed by the real
source's fingerprint (``Manifest.source_fingerprint``); ``qaharness generate`` appends every
generation and ``qaharness gate`` every table it sees that carries a manifest. A release that is
not differentially private, or whose manifest's seal is broken, is an unbounded spend.

Composition (``compose``), over distinct manifest ids:

- **basic** — always: ε = Σ εᵢ, δ = Σ δᵢ (Dwork & Roth 2014, Theorem 3.16);
- **rdp** / **prv** — when every release is DP-SGD whose manifest records the noise multiplier σ,
  Poisson sample rate q and steps: the subsampled-Gaussian steps of all releases go into one
  Opacus accountant (RDP, Mironov 2017 with the Balle et al. 2020 conversion; PRV, Gopi et al.
  2021, when every release was accounted with PRV) at δ = Σ (δᵢ − preprocessing δᵢ), and the
  preprocessing spends (Laplace histograms, pure ε) are added on top. Same total δ as basic.

The ε reported is the smaller of the two (both are valid upper bounds), and ``method`` says which.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import re
import socket
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import BadInputError
from .provenance import Manifest

if TYPE_CHECKING:
    from .store import RunStore

__all__ = [
    "Release",
    "Composition",
    "DP_SGD",
    "compose",
    "release_from_manifest",
    "manifest_from_provenance",
    "record_release",
    "ledger",
    "resolve_source",
    "actor",
]

DP_SGD = "dp-sgd"
Method = Literal["none", "basic", "rdp", "prv", "unbounded"]
_FINGERPRINT = re.compile(r"^[0-9a-f]{4,64}$")
#: RDP orders: Opacus' default grid plus the fractional and large orders the generators account with
_ALPHAS = sorted({*(1 + x / 10.0 for x in range(1, 100)), *range(12, 64), 1.25, 1.75, 80, 96, 128, 192, 256, 512})


class Release(BaseModel):
    """One release from a real source, as the ledger holds it (one row per time it was seen)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    manifest_id: str
    source_fingerprint: str
    generator: str | None = None
    generator_version: str | None = None
    created_at: str | None = Field(default=None, description="the manifest's created_at")
    sealed: bool = Field(description="the manifest's id and sha256 agree with its fields")
    dp: bool = Field(description="the manifest states a DP budget")
    epsilon: float | None = None
    delta: float | None = None
    accountant: str | None = None
    mechanism: str | None = None
    noise_multiplier: float | None = None
    sample_rate: float | None = None
    steps: int | None = None
    preprocessing_epsilon: float | None = None
    preprocessing_delta: float | None = None
    origin: str = Field(description="generate | gate | api: where the release was seen")
    tool: str = Field(default="", description="the command that recorded it")
    actor: str = Field(default="", description="who: $QAHARNESS_ACTOR, else user@host")
    run_id: str | None = Field(default=None, description="the gate run that saw it")
    synthetic: str | None = Field(default=None, description="the synthetic table's path")
    n_rows: int | None = None
    recorded_at: str | None = None

    @property
    def bounded(self) -> bool:
        """A DP release whose manifest is intact: its (ε, δ) can be trusted and added up."""
        return self.dp and self.sealed and self.epsilon is not None and self.delta is not None

    @property
    def accountable(self) -> bool:
        """Bounded, and the manifest says what an accountant needs (DP-SGD σ, q, steps, preprocessing)."""
        fields = (self.noise_multiplier, self.sample_rate, self.steps, self.preprocessing_epsilon)
        return self.bounded and self.mechanism == DP_SGD and all(f is not None for f in fields)


class Composition(BaseModel):
    """What the distinct releases from one source spend together. ``epsilon`` is None when unbounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    source_fingerprint: str
    releases: int = Field(ge=0, description="distinct manifest ids")
    dp_releases: int = Field(ge=0)
    unbounded: list[str] = Field(default_factory=list, description="manifest ids without a trusted DP budget")
    basic_epsilon: float | None = Field(default=None, description="Σ ε (None when unbounded)")
    delta: float = Field(0.0, ge=0, description="Σ δ (the δ of every composition here)")
    tight_epsilon: float | None = Field(default=None, description="accountant composition, where valid")
    tight_method: Literal["rdp", "prv"] | None = None
    note: str = Field(default="", description="why the accountant composition was or was not used")
    method: Method = Field(description="the composition the reported epsilon comes from")
    epsilon: float | None = Field(description="the composed ε: the smaller valid bound; None = unbounded")

    def describe(self) -> str:
        """One sentence: the composed total and how it was reached."""
        if self.method == "none":
            return "no releases recorded for this source"
        if self.epsilon is None:
            return (
                f"unbounded: {len(self.unbounded)} of {self.releases} release(s) carry no trusted DP budget "
                f"({', '.join(self.unbounded[:5])}{' …' if len(self.unbounded) > 5 else ''})"
            )
        text = (
            f"ε = {self.epsilon:.4g}, δ = {self.delta:.3g} over {self.releases} release(s) by {self.method} composition"
        )
        if self.method != "basic" and self.basic_epsilon is not None:
            text += f" (basic: ε = {self.basic_epsilon:.4g})"
        return text


def actor() -> str:
    """Who records a release: ``$QAHARNESS_ACTOR`` (a CI job, say), else user@host."""
    named = os.environ.get("QAHARNESS_ACTOR", "").strip()
    if named:
        return named
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def manifest_from_provenance(provenance: Mapping[str, Any] | None) -> Manifest | None:
    """The manifest inside a ``Run.provenance`` block (or a raw manifest mapping); None when absent
    or invalid."""
    if not provenance:
        return None
    fields = {k: v for k, v in provenance.items() if k in Manifest.model_fields}
    try:
        return Manifest.model_validate(fields)
    except ValidationError:
        return None


def release_from_manifest(
    manifest: Manifest,
    *,
    origin: str,
    source_fingerprint: str | None = None,
    tool: str = "",
    run_id: str | None = None,
    synthetic: str | None = None,
) -> Release:
    """A ledger entry for ``manifest``; ``source_fingerprint`` is used when the manifest names none."""
    source = manifest.source_fingerprint or source_fingerprint
    if not source:
        raise BadInputError("the manifest names no real source fingerprint; tag it with --source", source="manifest")
    dp = manifest.dp
    return Release(
        manifest_id=manifest.manifest_id,
        source_fingerprint=source,
        generator=manifest.generator,
        generator_version=manifest.generator_version,
        created_at=manifest.created_at,
        sealed=manifest.intact,
        dp=dp is not None,
        **(dp.model_dump() if dp is not None else {}),
        origin=origin,
        tool=tool,
        actor=actor(),
        run_id=run_id,
        synthetic=synthetic,
        n_rows=manifest.n_rows,
    )


# -- composition ------------------------------------------------------------------------
def compose(releases: Iterable[Release], source_fingerprint: str = "") -> Composition:
    """Compose the distinct releases (by manifest id, first sighting kept): basic always, an
    accountant's composition where every release is accountable DP-SGD; see the module docstring."""
    distinct: dict[str, Release] = {}
    for release in releases:
        distinct.setdefault(release.manifest_id, release)
        source_fingerprint = source_fingerprint or release.source_fingerprint
    items = list(distinct.values())
    unbounded = [r.manifest_id for r in items if not r.bounded]
    bounded = [r for r in items if r.bounded]
    base: dict[str, Any] = {
        "source_fingerprint": source_fingerprint,
        "releases": len(items),
        "dp_releases": sum(r.dp for r in items),
        "unbounded": unbounded,
        "delta": min(sum(r.delta or 0.0 for r in bounded), 1.0),
    }
    if not items:
        return Composition(**base, method="none", epsilon=0.0, basic_epsilon=0.0)
    if unbounded:
        note = "a release without a trusted DP budget makes the total unbounded"
        return Composition(**base, method="unbounded", epsilon=None, note=note)
    basic = sum(r.epsilon or 0.0 for r in bounded)
    tight, method, note = _tight(bounded)
    used: Method = method if tight is not None and method is not None and tight < basic else "basic"
    if tight is not None and used == "basic":
        note += "; basic composition was tighter here"
    return Composition(
        **base,
        basic_epsilon=basic,
        tight_epsilon=tight,
        tight_method=method,
        note=note,
        method=used,
        epsilon=min(basic, tight) if tight is not None else basic,
    )


def _tight(releases: Sequence[Release]) -> tuple[float | None, Literal["rdp", "prv"] | None, str]:
    """(ε, accountant, note) of the accountant composition, or (None, None, why not)."""
    others = [r.manifest_id for r in releases if not r.accountable]
    if others:
        return (
            None,
            None,
            (
                f"basic composition only: {', '.join(others[:5])} record(s) no DP-SGD noise multiplier, sample rate "
                "and steps, so an accountant cannot compose them"
            ),
        )
    delta_sgd = sum((r.delta or 0.0) - (r.preprocessing_delta or 0.0) for r in releases)
    if delta_sgd <= 0:
        return None, None, "basic composition only: the DP-SGD parts state no δ > 0 to convert at"
    history = [(float(r.noise_multiplier or 0), float(r.sample_rate or 0), int(r.steps or 0)) for r in releases]
    pre = sum(r.preprocessing_epsilon or 0.0 for r in releases)
    method: Literal["rdp", "prv"] = "prv" if all(r.accountant == "prv" for r in releases) else "rdp"
    try:
        eps = _accountant_epsilon(history, delta_sgd, method)
    except (ValueError, RuntimeError, ArithmeticError) as exc:
        if method == "rdp":
            return None, None, f"basic composition only: the RDP accountant failed ({exc})"
        method, eps = "rdp", _accountant_epsilon(history, delta_sgd, "rdp")
    if not math.isfinite(eps):
        return None, None, "basic composition only: the accountant gave no finite ε"
    note = f"{method.upper()} composition of {sum(h[2] for h in history):,} DP-SGD steps"
    if pre:
        note += f", plus ε = {pre:.3g} of preprocessing added"
    return eps + pre, method, note


def _accountant_epsilon(history: list[tuple[float, float, int]], delta: float, method: str) -> float:
    """ε of the composed subsampled-Gaussian steps at ``delta``, through Opacus' accountant."""
    from opacus.accountants import PRVAccountant, RDPAccountant

    steps = [h for h in history if h[2] > 0]
    if not steps:
        return 0.0
    with warnings.catch_warnings():  # "optimal order is the largest alpha" and similar: the bound still holds
        warnings.simplefilter("ignore")
        if method == "prv":
            prv = PRVAccountant()
            prv.history = list(steps)
            return float(prv.get_epsilon(delta))
        rdp = RDPAccountant()
        rdp.history = list(steps)
        return float(rdp.get_epsilon(delta, alphas=_ALPHAS))


# -- the store ---------------------------------------------------------------------------
def record_release(store: RunStore, release: Release, manifest: Manifest | None = None) -> str:
    """Append ``release`` to the store's ledger; returns the entry id."""
    row = release.model_dump(exclude={"created_at", "recorded_at"})
    row.update(
        entry_id=uuid.uuid4().hex[:12],
        manifest_created_at=release.created_at,
        recorded_at=datetime.now(UTC).replace(tzinfo=None),
        manifest_json=manifest.to_json() if manifest is not None else None,
    )
    return store.record_release(row)


def ledger(store: RunStore, source_fingerprint: str) -> list[Release]:
    """Every ledger row for one source, oldest first."""
    frame = store.ledger(source_fingerprint)
    return [_release_row(row) for row in frame.to_dict("records")]


def _release_row(row: Mapping[str, Any]) -> Release:
    fields = {k: _plain(row.get(k)) for k in Release.model_fields if k not in ("created_at", "recorded_at")}
    fields["created_at"] = _plain(row.get("manifest_created_at"))
    recorded = row.get("recorded_at")
    fields["recorded_at"] = None if _plain(recorded) is None else pd.Timestamp(recorded).isoformat(timespec="seconds")
    return Release.model_validate(fields)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def resolve_source(store: RunStore, text: str) -> str:
    """A source fingerprint from a table file (fingerprinted as qaharness reads it) or a unique prefix
    of a fingerprint in the ledger. ``BadInputError`` when neither."""
    from .io import read_table
    from .provenance import data_fingerprint

    if os.path.exists(text) or text.startswith("duckdb:"):
        return data_fingerprint(read_table(text, name="source").frame)
    prefix = text.strip().lower()
    if not _FINGERPRINT.match(prefix):
        raise BadInputError("is neither a table file nor a fingerprint prefix (4–64 hex digits)", source=text)
    sources = sorted(set(store.ledger(None).get("source_fingerprint", pd.Series(dtype=str))))
    found = [s for s in sources if s.startswith(prefix)]
    if not found:
        raise BadInputError(f"no source with fingerprint {prefix}… in the ledger", source=str(store.path))
    if len(found) > 1:
        raise BadInputError(
            f"fingerprint prefix {prefix} is ambiguous: {', '.join(s[:12] for s in found)}", source=str(store.path)
        )
    return found[0]


def composition_json(composition: Composition, releases: Sequence[Release]) -> str:
    """``budget show --json``: the composition and every ledger row, as JSON."""
    body = {
        "composition": composition.model_dump(mode="json"),
        "releases": [r.model_dump(mode="json") for r in releases],
    }
    return json.dumps(body, indent=2, allow_nan=False) + "\n"
