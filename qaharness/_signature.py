"""Detached signatures over JSON documents (results.json seals, provenance manifests).

A document (a JSON object) carries its signature under one key. The signed bytes are the
document's canonical JSON (sorted keys, no spaces, UTF-8, no NaN) with that key holding the
signature's metadata — algorithm, the signer's certificate (PEM), the time it claims — and
without its ``value``: so the signature binds every field, including who signed. The signer is
``qaharness.keys.load_signer`` (key files, passphrase or PKCS#11 token); verification checks the
value with the certificate's public key and the certificate's chain to the given trust roots.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "Signature",
    "SignatureCheck",
    "canonical_json",
    "sign_document",
    "verify_document",
    "signer_name",
    "run_sync",
]


class Signature(BaseModel):
    """A signature as stored in a document; ``value`` is base64 of the DER signature.

    Extra keys (a seal's ``format`` and ``inputs``) are allowed and signed like the rest.
    """

    model_config = ConfigDict(frozen=True, extra="allow")
    alg: Literal["ecdsa-sha256", "rsa-pkcs1v15-sha256"]
    certificate: str = Field(description="the signer's X.509 certificate, PEM")
    signer: str = Field(default="", description="the certificate's subject, for people (not trusted by itself)")
    signed_at: str = Field(description="UTC time the signer's clock gave (claimed, not proven)")
    value: str = ""


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    reason: str
    signer: str = ""
    signed_at: str = ""


def canonical_json(data: Any) -> bytes:
    """The bytes that are signed: sorted keys, compact separators, UTF-8, finite numbers only."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def run_sync(coroutine: Any) -> Any:
    """Run a coroutine to completion, also from code already inside an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _payload(document: dict[str, Any], field: str, metadata: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != field}
    body[field] = {k: v for k, v in metadata.items() if k != "value"}
    return canonical_json(body)


def signer_name(certificate: Any) -> str:
    """A certificate's subject as people read it (asn1crypto certificate)."""
    return str(certificate.subject.human_friendly)


def sign_document(
    document: dict[str, Any], field: str, signer: Any, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``document`` with a signature by ``signer`` (a pyHanko signer) under ``field``.

    ``extra`` entries are stored (and signed) beside the signature's own fields.
    """
    from asn1crypto import pem

    cert = signer.signing_cert
    algorithm = cert.public_key.algorithm
    alg = "ecdsa-sha256" if algorithm == "ec" else "rsa-pkcs1v15-sha256"
    if algorithm not in ("ec", "rsa"):
        raise ValueError(f"unsupported signing key type {algorithm!r}")
    metadata = {
        **(extra or {}),
        "alg": alg,
        "certificate": pem.armor("CERTIFICATE", cert.dump()).decode("ascii"),
        "signer": signer_name(cert),
        "signed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    payload = _payload(document, field, metadata)
    value = run_sync(signer.async_sign_raw(payload, "sha256"))
    signed = dict(document)
    signed[field] = Signature(**metadata, value=base64.b64encode(value).decode("ascii")).model_dump()
    return signed


def verify_document(document: dict[str, Any], field: str, trust_roots: list) -> SignatureCheck:
    """Check the signature under ``field``: value matches the signed bytes, signer chains to a root."""
    raw = document.get(field)
    if raw is None:
        return SignatureCheck(False, "not signed")
    try:
        signature = Signature.model_validate(raw)
    except ValidationError as exc:
        return SignatureCheck(False, f"malformed signature: {exc.errors()[0].get('msg', '')}")
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    try:
        cert = x509.load_pem_x509_certificate(signature.certificate.encode("ascii"))
        value = base64.b64decode(signature.value, validate=True)
    except (ValueError, UnicodeEncodeError):
        return SignatureCheck(False, "malformed signature: certificate or value cannot be decoded")
    payload = _payload(document, field, signature.model_dump())
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and signature.alg == "ecdsa-sha256":
            key.verify(value, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey) and signature.alg == "rsa-pkcs1v15-sha256":
            key.verify(value, payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            return SignatureCheck(False, f"the certificate's key does not match algorithm {signature.alg}")
    except InvalidSignature:
        return SignatureCheck(False, "the content changed after signing (the signature does not match)")
    trusted, why = _chains(cert, trust_roots)
    subject = signature.signer or cert.subject.rfc4514_string()
    if not trusted:
        return SignatureCheck(False, why, subject, signature.signed_at)
    return SignatureCheck(
        True, "signature matches and the signer chains to the trust root", subject, signature.signed_at
    )


def _chains(cert: Any, trust_roots: list) -> tuple[bool, str]:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    leaf = asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
    context = ValidationContext(trust_roots=trust_roots, allow_fetching=False)
    validator = CertificateValidator(leaf, validation_context=context)
    try:
        run_sync(validator.async_validate_usage({"digital_signature"}))
    except PathBuildingError:
        return False, "the signer certificate does not chain to the trust root"
    except PathValidationError as exc:
        return False, f"the signer certificate is not valid: {str(exc).splitlines()[0]}"
    except Exception as exc:  # certvalidator raises several types (expired, usage, ...)
        return False, f"the signer certificate is not acceptable: {str(exc).splitlines()[0] or type(exc).__name__}"
    return True, ""
