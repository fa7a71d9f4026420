"""Which recorded artifacts the dashboard may serve, and what to call a PDF.

A file is served only when it is a recorded artifact of the run and its bytes still have the sha256
the store recorded: a report written over by a later run into the same folder, or edited, is not
offered as this run's. The file is looked for at its recorded absolute ``path``, then at its
``relative_path`` under the store's folder (a store moved with its outputs, or opened from another
machine's checkout). A PDF is called signed only after ``qaharness.reports.sign.verify_pdf`` accepts
it against the trust root (``$QAHARNESS_TRUST``, else the local CA of ``qaharness keys init``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TRUST_ENV", "Artifact", "resolve_artifact", "find_artifact", "pdf_label", "trust_root"]

TRUST_ENV = "QAHARNESS_TRUST"


@dataclass(frozen=True)
class Artifact:
    """A recorded artifact and whether it may be served: ``state`` is ok, changed, missing or unrecorded."""

    name: str
    state: str
    path: Path | None = None  # the file to serve (state ok), or where it was recorded
    sha256: str | None = None
    looked_in: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_artifact(row: dict[str, Any], store: Path) -> Artifact:
    """The recorded file behind an artifacts row, found by absolute then store-relative path, checked by sha256."""
    name, recorded = str(row.get("name") or ""), row.get("sha256")
    candidates: list[Path] = []
    if isinstance(row.get("path"), str) and row["path"]:
        candidates.append(Path(row["path"]))
    if isinstance(row.get("relative_path"), str) and row["relative_path"]:
        candidates.append(store.resolve().parent / row["relative_path"])
    looked = tuple(dict.fromkeys(str(c) for c in candidates))
    if not isinstance(recorded, str) or not recorded:
        return Artifact(name, "unrecorded", candidates[0] if candidates else None, None, looked)
    changed: Path | None = None
    for candidate in candidates:
        if candidate.is_file():
            if _sha256(candidate) == recorded:
                return Artifact(name, "ok", candidate, recorded, looked)
            changed = changed or candidate
    if changed is not None:
        return Artifact(name, "changed", changed, recorded, looked)
    return Artifact(name, "missing", candidates[0] if candidates else None, recorded, looked)


def find_artifact(rows: list[dict[str, Any]], suffix: str, store: Path) -> Artifact | None:
    """The newest recorded artifact whose name ends with ``suffix`` (rows oldest first, as the store lists them)."""
    for row in reversed(rows):
        if str(row.get("name", "")).lower().endswith(suffix):
            return resolve_artifact(row, store)
    return None


def trust_root() -> Path | None:
    """The CA certificate PDFs are verified against: ``$QAHARNESS_TRUST`` or the local signing CA."""
    from qaharness.reports.sign import key_paths

    value = os.environ.get(TRUST_ENV, "").strip()
    path = Path(value).expanduser() if value else key_paths().ca_cert
    return path if path.is_file() else None


def pdf_label(path: Path) -> tuple[str, str]:
    """(button label, plain-text caption): "signed PDF" only when the signature verifies against the trust root."""
    from qaharness.errors import BadInputError
    from qaharness.reports.sign import verify_pdf

    trust = trust_root()
    if trust is None:
        return (
            "PDF report (signature not checked)",
            f"No trust root to check the signature against: start the dashboard with --trust CA.pem "
            f"(or set ${TRUST_ENV}), or run qaharness keys init where the reports are signed.",
        )
    try:
        outcome = verify_pdf(path, trust)
    except BadInputError as exc:
        return "PDF report (signature not checked)", str(exc)
    if outcome.ok:
        return (
            "signed PDF (verified)",
            f"Signature verified against {trust.name}: {outcome.reason}; signer {outcome.signer}.",
        )
    return "PDF report (not verified as signed)", f"Not labelled signed: {outcome.reason}."
