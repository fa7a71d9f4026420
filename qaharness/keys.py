"""Signing keys: a small local PKI on disk, a passphrase, or a PKCS#11 token.

One signer serves every signature qaharness makes: the seal of results.json
(``qaharness.seal``), provenance manifests (``qaharness.provenance``) and report PDFs
(``qaharness.reports.sign``). Where the key lives:

- **files** (default): ``init_keys`` makes a signing CA (the trust root reviewers are given) and
  a signer certificate it issued (ECDSA P-256, digital signature + non-repudiation) under
  ``$QAHARNESS_HOME/keys``. With ``$QAHARNESS_KEY_PASSPHRASE`` set, both private keys are written
  encrypted (PKCS#8, best available encryption) and need the passphrase to sign.
- **PKCS#11 token** (CI runners, HSMs): with ``$QAHARNESS_PKCS11_MODULE`` set (the module path,
  e.g. ``/usr/lib/softhsm/libsofthsm2.so``), the signer key is the private key labelled
  ``$QAHARNESS_PKCS11_KEY`` (default ``qaharness-signer``) on the token labelled
  ``$QAHARNESS_PKCS11_TOKEN`` (default ``qaharness``), opened with ``$QAHARNESS_PKCS11_PIN``. The
  key never leaves the token; its certificate is ``signer.pem`` in the key folder (``init_keys(...,
  pkcs11=True)`` generates the key on the token and issues it) and the trust root ``ca.pem``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _atomic
from .errors import BadInputError
from .paths import keys_dir as default_keys_dir

__all__ = [
    "KeyPaths",
    "Pkcs11Config",
    "PASSPHRASE_ENV",
    "key_paths",
    "init_keys",
    "ensure_keys",
    "load_signer",
    "load_trust_roots",
    "signer_available",
]

PASSPHRASE_ENV = "QAHARNESS_KEY_PASSPHRASE"
_CA_YEARS, _SIGNER_YEARS = 10, 3
_CA_NAME = "qaharness local signing CA"


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
class Pkcs11Config:
    """Where the signer key lives on a PKCS#11 token (read from the environment)."""

    module: str
    token: str = "qaharness"
    key: str = "qaharness-signer"
    pin: str | None = None

    @classmethod
    def from_env(cls) -> Pkcs11Config | None:
        module = os.environ.get("QAHARNESS_PKCS11_MODULE")
        if not module:
            return None
        return cls(
            module=module,
            token=os.environ.get("QAHARNESS_PKCS11_TOKEN", "qaharness"),
            key=os.environ.get("QAHARNESS_PKCS11_KEY", "qaharness-signer"),
            pin=os.environ.get("QAHARNESS_PKCS11_PIN"),
        )


def key_paths(keys: str | Path | None = None) -> KeyPaths:
    return KeyPaths(Path(keys).expanduser() if keys else default_keys_dir())


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


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
    usage = dict.fromkeys(
        ("key_encipherment", "data_encipherment", "key_agreement", "encipher_only", "decipher_only"), False
    )
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
            x509.KeyUsage(digital_signature=True, content_commitment=not ca, key_cert_sign=ca, crl_sign=ca, **usage),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _private_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    passphrase = _passphrase()
    encryption: Any = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def init_keys(
    keys: str | Path | None = None,
    *,
    force: bool = False,
    common_name: str = "qaharness report signer",
    pkcs11: bool = False,
) -> KeyPaths:
    """Create the signing CA and a signer certificate; refuse to overwrite unless ``force``.

    Private keys are encrypted with ``$QAHARNESS_KEY_PASSPHRASE`` when it is set. With ``pkcs11``
    the signer key pair is generated on the token named by the ``$QAHARNESS_PKCS11_*`` variables
    (only its certificate is written here).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    paths = key_paths(keys)
    config = Pkcs11Config.from_env() if pkcs11 else None
    if pkcs11 and config is None:
        raise BadInputError("--pkcs11 needs $QAHARNESS_PKCS11_MODULE (the token's module)", source="--pkcs11")
    existing = [p for p in (paths.ca_cert, paths.ca_key, paths.signer_cert, paths.signer_key) if p.exists()]
    if existing and not force:
        raise BadInputError(
            f"signing keys already exist ({existing[0].name}); pass --force to replace them", source=str(paths.folder)
        )
    try:
        paths.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(paths.folder, 0o700)
    except OSError as exc:
        raise _atomic.os_error(exc, paths.ca_cert, str(paths.folder)) from None
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(_CA_NAME, _CA_NAME, ca_key.public_key(), ca_key, ca=True, years=_CA_YEARS)
    if config is not None:
        from ._pkcs11 import generate_token_key

        signer_public, signer_key = generate_token_key(config), None
    else:
        signer_key = ec.generate_private_key(ec.SECP256R1())
        signer_public = signer_key.public_key()
    signer_cert = _certificate(common_name, _CA_NAME, signer_public, ca_key, ca=False, years=_SIGNER_YEARS)
    pem = serialization.Encoding.PEM
    _atomic.write_bytes(paths.ca_key, _private_pem(ca_key), mode=0o600)
    if signer_key is not None:
        _atomic.write_bytes(paths.signer_key, _private_pem(signer_key), mode=0o600)
    else:
        paths.signer_key.unlink(missing_ok=True)  # the key is on the token
    _atomic.write_bytes(paths.ca_cert, ca_cert.public_bytes(pem))
    _atomic.write_bytes(paths.signer_cert, signer_cert.public_bytes(pem))
    return paths


def signer_available(keys: str | Path | None = None) -> bool:
    """Whether a signer is configured: a PKCS#11 token, or key files under ``keys``."""
    paths = key_paths(keys)
    if Pkcs11Config.from_env() is not None:
        return paths.signer_cert.exists()
    return paths.signer_key.exists() and paths.signer_cert.exists() and paths.ca_cert.exists()


def ensure_keys(keys: str | Path | None = None) -> KeyPaths:
    """The signing keys under ``keys``, created first if there are none and no token is configured.

    Parallel first runs are safe: the keys are made in a sibling folder that is renamed into place;
    a process that loses the race uses the winner's keys.
    """
    paths = key_paths(keys)
    if signer_available(keys) or Pkcs11Config.from_env() is not None:
        return paths
    folder = paths.folder
    if folder.exists() and any(folder.iterdir()):
        return init_keys(keys)  # a partial folder: say what exists (refuses without --force)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        init_keys(staging)
        try:
            os.rename(staging, folder)  # replaces an empty folder; fails if another process won
        except OSError:
            if not signer_available(keys):
                raise
    except OSError as exc:
        raise _atomic.os_error(exc, paths.ca_cert, str(folder)) from None
    finally:
        if staging.exists():
            for leftover in staging.iterdir():
                leftover.unlink()
            staging.rmdir()
    return paths


def _check_key_file(path: Path) -> None:
    """Load the key with cryptography first, for a clear message on a missing or wrong passphrase."""
    from cryptography.hazmat.primitives import serialization

    passphrase = _passphrase()
    try:
        serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except TypeError:
        if passphrase:
            raise BadInputError(
                f"the signing key is not encrypted but ${PASSPHRASE_ENV} is set; unset it or re-create the keys",
                source=str(path),
            ) from None
        raise BadInputError(
            f"the signing key is encrypted; set ${PASSPHRASE_ENV} to its passphrase", source=str(path)
        ) from None
    except ValueError:
        raise BadInputError(
            f"cannot decrypt the signing key: wrong ${PASSPHRASE_ENV}, or not a PEM private key", source=str(path)
        ) from None
    except OSError as exc:
        raise BadInputError(f"cannot read the signing key: {exc.strerror or exc}", source=str(path)) from None


def load_signer(keys: str | Path | None = None):
    """The pyHanko signer for ``keys``: the PKCS#11 token when configured, else the key files.

    Raises ``BadInputError`` naming what is missing (no keys, wrong passphrase, no token).
    """
    paths = key_paths(keys)
    config = Pkcs11Config.from_env()
    if config is not None:
        from ._pkcs11 import token_signer

        return token_signer(config, paths)
    for needed in (paths.signer_key, paths.signer_cert, paths.ca_cert):
        if not needed.exists():
            raise BadInputError(
                f"no signing key material at {needed}; run `qaharness keys init` first", source=str(paths.folder)
            )
    _check_key_file(paths.signer_key)
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load(
        str(paths.signer_key),
        str(paths.signer_cert),
        ca_chain_files=(str(paths.ca_cert),),
        key_passphrase=_passphrase(),
    )
    if signer is None:
        raise BadInputError("could not load the signing key or certificate", source=str(paths.folder))
    return signer


def load_trust_roots(trust: str | Path | None = None, keys: str | Path | None = None) -> list:
    """Trust-root certificates (asn1crypto) from ``trust`` (PEM or DER), default the key folder's ca.pem."""
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509

    path = Path(trust) if trust else key_paths(keys).ca_cert
    if not path.is_file():
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
