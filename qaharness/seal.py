"""The seal on results.json: a signature made when the run is computed, checked before it is trusted.

``seal_run(run)`` signs the run's canonical JSON (``qaharness._signature``) with the signer of
``qaharness.keys`` and returns the run with a ``seal`` entry: format, the sha256 of every input
file, the signer's certificate, the time and the signature value. The gate and ``evaluate`` seal
what they write (``Run.write`` does it), so a results.json edited afterwards — FAIL to PASS — no
longer verifies: ``qaharness report`` renders only results whose seal verifies against the trust
root, ``report --sign`` refuses a broken seal (exit 1), and ``qaharness verify`` checks the copy of
results.json attached to a signed PDF.

What a seal proves: the JSON is, byte for byte in canonical form, what a process holding the
signer key wrote. Not that the key holder ran the computation honestly, nor that the named input
files still exist — only their sha256 at the time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._signature import canonical_json, sign_document, verify_document
from .errors import BadInputError, VerificationError
from .keys import ensure_keys, load_signer, load_trust_roots

if TYPE_CHECKING:
    from .results import Run

__all__ = ["SEAL_FIELD", "SEAL_FORMAT", "SealCheck", "seal_run", "seal_document", "verify_results", "require_seal"]

SEAL_FIELD = "seal"
SEAL_FORMAT = "qaharness.seal/1"


@dataclass(frozen=True)
class SealCheck:
    """Outcome of checking a results.json seal. ``ok`` only when intact and trusted."""

    ok: bool
    reason: str
    signer: str = ""
    signed_at: str = ""
    verdict: str | None = None
    source: str = ""


def _input_hashes(document: dict[str, Any]) -> dict[str, str]:
    inputs = document.get("inputs") or {}
    return {str(name): str(info.get("sha256", "")) for name, info in inputs.items() if isinstance(info, dict)}


def seal_document(document: dict[str, Any], *, keys: str | Path | None = None, signer: Any = None) -> dict[str, Any]:
    """``document`` (a results.json object) with its seal; local keys are created if there are none."""
    if signer is None:
        ensure_keys(keys)
        signer = load_signer(keys)
    body = {k: v for k, v in document.items() if k != SEAL_FIELD}
    extra = {"format": SEAL_FORMAT, "inputs": _input_hashes(body)}
    return sign_document(body, SEAL_FIELD, signer, extra)


def seal_run(run: Run, *, keys: str | Path | None = None, signer: Any = None) -> Run:
    """The run with a fresh seal (an existing seal is replaced)."""
    from .results import Run

    document = seal_document(run.to_dict(), keys=keys, signer=signer)
    sealed = Run.model_validate(document)
    if canonical_json(sealed.to_dict()) != canonical_json(document):  # the model must not change a byte
        raise RuntimeError("the sealed run does not serialise to the document that was signed")
    return sealed


def _load(source: str | Path | bytes | dict[str, Any], name: str | None) -> tuple[dict[str, Any], str]:
    if isinstance(source, dict):
        return source, name or "results.json"
    if isinstance(source, bytes):
        text, name = source, name or "results.json"
    else:
        path = Path(source)
        if path.is_dir():
            path = path / "results.json"
        if not path.is_file():
            raise BadInputError("no results.json here; pass the folder written by evaluate or gate", source=str(path))
        text, name = path.read_bytes(), str(path)
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise BadInputError("not a qaharness results.json: not valid JSON", source=name) from None
    if not isinstance(document, dict):
        raise BadInputError("not a qaharness results.json: not a JSON object", source=name)
    return document, name


def verify_results(
    source: str | Path | bytes | dict[str, Any],
    *,
    trust: str | Path | None = None,
    keys: str | Path | None = None,
    trust_roots: list | None = None,
    name: str | None = None,
) -> SealCheck:
    """Check the seal of a results.json (path, folder, bytes or parsed object).

    The trust root is ``trust`` (a CA file), else the key folder's ca.pem. A missing, broken or
    untrusted seal is reported in the result, never raised; unusable input raises ``BadInputError``.
    ``name`` labels bytes or a parsed object in messages.
    """
    document, name = _load(source, name)
    verdict = document.get("verdict")
    verdict = str(verdict) if verdict is not None else None
    seal = document.get(SEAL_FIELD)
    if seal is None:
        return SealCheck(False, "results.json is not sealed (not written by the gate or evaluate)", source=name)
    if not isinstance(seal, dict) or seal.get("format") != SEAL_FORMAT:
        return SealCheck(False, f"the seal is not a {SEAL_FORMAT} seal", source=name)
    roots = trust_roots if trust_roots is not None else load_trust_roots(trust, keys)
    check = verify_document(document, SEAL_FIELD, roots)
    if not check.ok:
        reason = "seal broken: " + check.reason if "changed" in check.reason else "seal not trusted: " + check.reason
        return SealCheck(False, reason, check.signer, check.signed_at, verdict, name)
    if seal.get("inputs") != _input_hashes(document):
        return SealCheck(False, "seal broken: its input sha256s differ from the inputs listed", source=name)
    return SealCheck(True, "seal intact, signer trusted", check.signer, check.signed_at, verdict, name)


def require_seal(
    source: str | Path | bytes,
    *,
    trust: str | Path | None = None,
    keys: str | Path | None = None,
    name: str | None = None,
) -> SealCheck:
    """``verify_results`` that raises ``VerificationError`` (exit 1) naming the file when it fails."""
    check = verify_results(source, trust=trust, keys=keys, name=name)
    if not check.ok:
        raise VerificationError(check.reason, source=check.source)
    return check
