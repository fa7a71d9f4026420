"""Signing keys, PAdES signatures on report PDFs, and their verification.

``init_keys`` makes a small local PKI: a signing CA (the trust root a reviewer is given)
and a signer certificate it issued (ECDSA P-256, key usage digital signature +
non-repudiation, which PDF validators expect of a document signer). ``sign_pdf`` adds a
PAdES baseline signature (pyHanko, subfilter ETSI.CAdES.detached) with the reason
"qaharness release gate". ``verify_pdf`` accepts a PDF only if every signature is intact,
the last one covers the whole file (nothing appended after signing) and the signer chains
to the trust root.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace
from pathlib import Path

from qaharness.errors import BadInputError
from qaharness.paths import keys_dir as default_keys_dir

__all__ = [
    "KeyPaths",
    "Verification",
    "SIGNATURE_REASON",
    "init_keys",
    "ensure_keys",
    "key_paths",
    "sign_pdf",
    "verify_pdf",
]

SIGNATURE_REASON = "qaharness release gate"
_FIELD = "QAHarnessSignature"
_CA_YEARS, _SIGNER_YEARS = 10, 3


@dataclass(frozen=True)
class KeyPaths:
    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def signer_cert(self) -> Path:
        return self.folder / "signer.pem"

    @property
    def signer_key(self) -> Path:
        return self.folder / "signer-key.pem"


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str
    signer: str = ""
    signed_at: str = ""
    ticket: str = ""  # the PDF's ``ticket`` metadata entry, when it has one


def key_paths(keys: str | Path | None = None) -> KeyPaths:
    return KeyPaths(Path(keys).expanduser() if keys else default_keys_dir())


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "qaharness (local)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(subject: str, issuer: str, public_key, issuer_key, *, ca: bool, years: int):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def init_keys(
    keys: str | Path | None = None, *, force: bool = False, common_name: str = "qaharness report signer"
) -> KeyPaths:
    """Create the local signing CA and signer certificate; refuse to overwrite unless ``force``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    paths = key_paths(keys)
    existing = [p for p in (paths.ca_cert, paths.ca_key, paths.signer_cert, paths.signer_key) if p.exists()]
    if existing and not force:
        raise BadInputError(
            f"signing keys already exist ({existing[0].name}); pass --force to replace them", source=str(paths.folder)
        )
    paths.folder.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.folder, 0o700)
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = "qaharness local signing CA"
    ca_cert = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True, years=_CA_YEARS)
    signer_cert = _certificate(common_name, ca_name, signer_key.public_key(), ca_key, ca=False, years=_SIGNER_YEARS)
    pem = serialization.Encoding.PEM
    private = dict(
        encoding=pem, format=serialization.PrivateFormat.PKCS8, encryption_algorithm=serialization.NoEncryption()
    )
    _write_private(paths.ca_key, ca_key.private_bytes(**private))
    _write_private(paths.signer_key, signer_key.private_bytes(**private))
    paths.ca_cert.write_bytes(ca_cert.public_bytes(pem))
    paths.signer_cert.write_bytes(signer_cert.public_bytes(pem))
    return paths


def ensure_keys(keys: str | Path | None = None) -> KeyPaths:
    """The signing keys under ``keys``, created first if there are none (the demo uses this)."""
    paths = key_paths(keys)
    if paths.signer_key.exists() and paths.signer_cert.exists() and paths.ca_cert.exists():
        return paths
    return init_keys(keys)


def sign_pdf(
    source: str | Path, output: str | Path | None = None, *, keys: str | Path | None = None, location: str | None = None
) -> Path:
    """Sign ``source`` (PAdES, reason "qaharness release gate"); write ``output`` (default: in place)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    paths = key_paths(keys)
    for needed in (paths.signer_key, paths.signer_cert, paths.ca_cert):
        if not needed.exists():
            raise BadInputError(
                f"no signing key material at {needed}; run `qaharness keys init` first", source=str(paths.folder)
            )
    signer = signers.SimpleSigner.load(
        str(paths.signer_key), str(paths.signer_cert), ca_chain_files=(str(paths.ca_cert),)
    )
    if signer is None:
        raise BadInputError("could not load the signing key or certificate", source=str(paths.folder))
    source, output = Path(source), Path(output or source)
    meta = signers.PdfSignatureMetadata(
        field_name=_FIELD, reason=SIGNATURE_REASON, location=location, subfilter=fields.SigSeedSubFilter.PADES
    )
    with source.open("rb") as handle:
        writer = IncrementalPdfFileWriter(handle, strict=False)
        signed = signers.sign_pdf(writer, meta, signer=signer)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(signed.getvalue())
    tmp.replace(output)
    return output


def _load_trust(trust: str | Path | None):
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509

    path = Path(trust) if trust else key_paths().ca_cert
    if not path.exists():
        hint = "" if trust else "; pass --trust CA.pem or run `qaharness keys init`"
        raise BadInputError(f"trust root not found{hint}", source=str(path))
    data = path.read_bytes()
    try:
        blobs = [der for _, _, der in asn1_pem.unarmor(data, multiple=True)] if asn1_pem.detect(data) else [data]
        roots = [asn1_x509.Certificate.load(der) for der in blobs]
        for root in roots:
            _ = root.native  # parse eagerly so garbage fails here
    except Exception as exc:  # asn1crypto raises several types for garbage
        raise BadInputError(f"not a PEM or DER certificate: {exc}", source=str(path)) from None
    if not roots:
        raise BadInputError("no certificate in the trust file", source=str(path))
    return roots


def verify_pdf(path: str | Path, trust: str | Path | None = None) -> Verification:
    """Check the PDF's signatures against ``trust`` (default: the local CA). Never raises for a bad signature."""
    import logging

    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    for name in ("pyhanko", "pyhanko_certvalidator"):  # they log tracebacks for expected failures
        logging.getLogger(name).setLevel(logging.CRITICAL)
    path = Path(path)
    if not path.is_file():
        raise BadInputError("no such file", source=str(path))
    roots = _load_trust(trust)
    with path.open("rb") as handle:
        if handle.read(5) != b"%PDF-":
            raise BadInputError("not a PDF file", source=str(path))
        handle.seek(0)
        try:
            reader = PdfFileReader(handle, strict=False)
            signatures = reader.embedded_signatures
            info = reader.trailer_view.get("/Info")
            info = info.get_object() if info is not None else None
            ticket = str(info.get("/ticket", "")) if info is not None else ""
        except (PdfReadError, ValueError, KeyError, AttributeError, TypeError) as exc:
            return Verification(False, f"the PDF cannot be parsed: {exc}")
        if not signatures:
            return Verification(False, "the PDF carries no signature")
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        for index, signature in enumerate(signatures):
            last = index == len(signatures) - 1
            outcome = _check_one(signature, context, last, validate_pdf_signature)
            if not outcome.ok:
                break
        return replace(outcome, ticket=ticket)


def _check_one(signature, context, last: bool, validate) -> Verification:
    from pyhanko.sign.validation import SignatureCoverageLevel

    try:
        status = validate(signature, context)
    except Exception as exc:  # pyHanko raises for structurally broken signatures
        return Verification(False, f"signature {signature.field_name!r} cannot be validated: {exc}")
    signer = status.signing_cert.subject.human_friendly if status.signing_cert else ""
    signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else ""
    if not status.intact:
        return Verification(False, "the document was modified after signing (digest mismatch)", signer, signed_at)
    if not status.valid:
        return Verification(False, "the signature value does not match the signer's key", signer, signed_at)
    if last and status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        return Verification(
            False,
            f"the signature does not cover the whole file ({status.coverage.name}): content was appended after signing",
            signer,
            signed_at,
        )
    if not status.trusted:
        return Verification(False, "the signer certificate does not chain to the trust root", signer, signed_at)
    return Verification(True, "signature intact, covers the whole file, signer trusted", signer, signed_at)
