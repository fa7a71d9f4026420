"""The signer key on a PKCS#11 token (through pyHanko and python-pkcs11). Private: see ``qaharness.keys``."""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING, Any

from .errors import BadInputError

if TYPE_CHECKING:
    from .keys import KeyPaths, Pkcs11Config

__all__ = ["generate_token_key", "token_signer"]

_INSTALL = "PKCS#11 signing needs python-pkcs11: pip install 'qaharness[pkcs11]'"


def _library(config: Pkcs11Config) -> Any:
    try:
        import pkcs11
    except ImportError:
        raise BadInputError(_INSTALL, source="$QAHARNESS_PKCS11_MODULE") from None
    try:
        return pkcs11.lib(config.module)
    except Exception as exc:  # python-pkcs11 raises its own types for a missing or broken module
        raise BadInputError(f"cannot load the PKCS#11 module: {exc}", source=config.module) from None


def _open(config: Pkcs11Config, *, rw: bool = False) -> Any:
    import pkcs11

    lib = _library(config)
    try:
        token = lib.get_token(token_label=config.token)
    except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned):
        raise BadInputError(
            f"no single PKCS#11 token labelled {config.token!r}", source="$QAHARNESS_PKCS11_TOKEN"
        ) from None
    try:
        return token.open(user_pin=config.pin, rw=rw)
    except pkcs11.UserAlreadyLoggedIn:  # this process holds a logged-in session already (login is per process)
        return token.open(rw=rw)
    except pkcs11.PKCS11Error as exc:
        raise BadInputError(
            f"cannot log in to token {config.token!r}: {type(exc).__name__}", source="$QAHARNESS_PKCS11_PIN"
        ) from None


def generate_token_key(config: Pkcs11Config, *, replace: bool = True) -> Any:
    """Generate an ECDSA P-256 key pair labelled ``config.key`` on the token; returns its public key
    (a ``cryptography`` object) so a certificate can be issued for it. An old pair of that label is
    destroyed first when ``replace``."""
    import pkcs11
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    with _open(config, rw=True) as session:
        old = list(session.get_objects({Attribute.LABEL: config.key}))
        if old and not replace:
            raise BadInputError(f"the token already holds a key labelled {config.key!r}", source=config.token)
        for item in old:
            if item.object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                item.destroy()
        try:
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            public, _ = params.generate_keypair(store=True, label=config.key)
        except pkcs11.PKCS11Error as exc:
            raise BadInputError(
                f"the token refused to generate a P-256 key: {type(exc).__name__}", source=config.token
            ) from None
        return load_der_public_key(encode_ec_public_key(public))


def token_signer(config: Pkcs11Config, paths: KeyPaths) -> Any:
    """A pyHanko ``PKCS11Signer`` for the token key, with the certificate and CA from ``paths``."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign import pkcs11 as hanko_pkcs11

    for needed in (paths.signer_cert, paths.ca_cert):
        if not needed.is_file():
            raise BadInputError(
                f"no {needed.name} for the PKCS#11 key; run `qaharness keys init --pkcs11` or copy the "
                "certificate issued for the token's key there",
                source=str(paths.folder),
            )

    def certificate(path):
        data = path.read_bytes()
        return asn1_x509.Certificate.load(pem.unarmor(data)[2] if pem.detect(data) else data)

    signing_cert = certificate(paths.signer_cert)
    session = _open(config)
    atexit.register(session.close)
    return hanko_pkcs11.PKCS11Signer(
        session,
        key_label=config.key,
        signing_cert=signing_cert,
        ca_chain=[certificate(paths.ca_cert)],
        # ECDSA: hash here and sign the digest on the token (SoftHSM has no ECDSA_SHA256 mechanism)
        use_raw_mechanism=signing_cert.public_key.algorithm == "ec",
    )
