"""PAdES signatures on report PDFs, with the sealed results.json attached, and their verification.

``finish_pdf`` turns WeasyPrint's PDF into the released file: the document is copied into one
fresh revision, the sealed results.json is attached (``/EmbeddedFiles``, ``results.json``) and,
with a signer, a PAdES baseline signature (pyHanko, ETSI.CAdES.detached, reason "qaharness
release gate") covering the whole file is added in that same revision. ``verify_pdf`` accepts a
PDF only if it has exactly one revision holding exactly one signature (unless ``allow_revisions``),
the signature is intact, covers the whole file and chains to the trust root, and the attached
results.json carries a seal that verifies against the same root. Keys: ``qaharness.keys``.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qaharness._atomic import write_bytes
from qaharness.errors import BadInputError
from qaharness.keys import KeyPaths, ensure_keys, init_keys, key_paths, load_signer, load_trust_roots
from qaharness.seal import SealCheck, verify_results

__all__ = [
    "KeyPaths",
    "Verification",
    "SIGNATURE_REASON",
    "RESULTS_ATTACHMENT",
    "init_keys",
    "ensure_keys",
    "key_paths",
    "finish_pdf",
    "sign_pdf",
    "attached_results",
    "verify_pdf",
]

SIGNATURE_REASON = "qaharness release gate"
RESULTS_ATTACHMENT = "results.json"
_FIELD = "QAHarnessSignature"


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str
    signer: str = ""
    signed_at: str = ""
    ticket: str = ""  # the PDF's ``ticket`` metadata entry, when it has one
    revisions: int = 0
    signatures: int = 0
    results: SealCheck | None = None  # the attached results.json's seal check


def finish_pdf(
    pdf: bytes,
    output: str | Path,
    *,
    results_json: bytes | None = None,
    signer: Any = None,
    location: str | None = None,
) -> Path:
    """Write ``pdf`` to ``output`` as one revision, with ``results_json`` attached and signed by ``signer``.

    Written atomically: a crash leaves no partial file under ``output``.
    """
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer
    from pyhanko.sign import fields, signers

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(pdf), strict=False))
    if results_json is not None:
        data = embed.EmbeddedFileObject.from_file_data(
            writer, data=results_json, mime_type="application/json", params=embed.EmbeddedFileParams()
        )
        spec = embed.FileSpec(
            file_spec_string=RESULTS_ATTACHMENT,
            file_name=RESULTS_ATTACHMENT,
            embedded_data=data,
            description="the sealed results.json this report was rendered from",
        )
        embed.embed_file(writer, spec)
    if signer is None:
        buffer = io.BytesIO()
        writer.write(buffer)
        return write_bytes(output, buffer.getvalue())
    meta = signers.PdfSignatureMetadata(
        field_name=_FIELD, reason=SIGNATURE_REASON, location=location, subfilter=fields.SigSeedSubFilter.PADES
    )
    signed = signers.sign_pdf(writer, meta, signer=signer)
    return write_bytes(output, signed.getvalue())


def sign_pdf(
    source: str | Path,
    output: str | Path | None = None,
    *,
    keys: str | Path | None = None,
    location: str | None = None,
    results_json: bytes | None = None,
) -> Path:
    """Sign ``source`` (PAdES, one revision) with ``results_json`` attached; write ``output`` (default: in place)."""
    signer = load_signer(keys)
    source = Path(source)
    return finish_pdf(
        source.read_bytes(), output or source, results_json=results_json, signer=signer, location=location
    )


def _attachments(reader) -> list[tuple[str, Any]]:
    """(name, file spec) of every embedded file, walking the name tree (``/Names`` and ``/Kids``)."""
    root = reader.root
    if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
        return []
    found, stack, seen = [], [root["/Names"]["/EmbeddedFiles"]], 0
    while stack and seen < 10_000:  # a hostile tree cannot loop forever
        node, seen = stack.pop(), seen + 1
        if "/Names" in node:
            names = node["/Names"]
            found += [(str(names[i]), names[i + 1].get_object()) for i in range(0, len(names) - 1, 2)]
        if "/Kids" in node:
            stack.extend(kid.get_object() for kid in node["/Kids"])
    return found


def attached_results(reader) -> bytes | None:
    """The bytes of the PDF's attached results.json (None when there is none)."""
    found = [spec for name, spec in _attachments(reader) if name == RESULTS_ATTACHMENT]
    if len(found) > 1:
        raise ValueError(f"the PDF attaches {len(found)} files named {RESULTS_ATTACHMENT}")
    if not found:
        return None
    return bytes(found[0]["/EF"]["/F"].get_object().data)


def verify_pdf(path: str | Path, trust: str | Path | None = None, *, allow_revisions: bool = False) -> Verification:
    """Check a report PDF against ``trust`` (default: the local CA). Never raises for a bad signature.

    ``allow_revisions`` accepts several revisions and signatures, provided each signature is intact and
    trusted and no signature was followed by changes beyond form filling.
    """
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    for name in ("pyhanko", "pyhanko_certvalidator"):  # they log tracebacks for expected failures
        logging.getLogger(name).setLevel(logging.CRITICAL)
    path = Path(path)
    if not path.is_file():
        raise BadInputError("no such file", source=str(path))
    roots = load_trust_roots(trust)
    with path.open("rb") as handle:
        if handle.read(5) != b"%PDF-":
            raise BadInputError("not a PDF file", source=str(path))
        handle.seek(0)
        try:
            reader = PdfFileReader(handle, strict=False)
            signatures = reader.embedded_signatures
            revisions = reader.xrefs.total_revisions
            info = reader.trailer_view.get("/Info")
            info = info.get_object() if info is not None else None
            ticket = str(info.get("/ticket", "")) if info is not None else ""
            results = attached_results(reader)
        except (PdfReadError, ValueError, KeyError, AttributeError, TypeError) as exc:
            return Verification(False, f"the PDF cannot be parsed: {exc}")
        counts = {"ticket": ticket, "revisions": revisions, "signatures": len(signatures)}
        outcome = _check_structure(len(signatures), revisions, allow_revisions)
        if outcome is None:
            outcome = _check_signatures(signatures, roots)
        outcome = replace(outcome, **counts)
        if outcome.ok:
            outcome = _check_attachment(outcome, results, roots)
        return outcome


def _check_structure(n_signatures: int, revisions: int, allow_revisions: bool) -> Verification | None:
    if n_signatures == 0:
        return Verification(False, "the PDF carries no signature")
    if allow_revisions:
        return None
    if n_signatures > 1:
        return Verification(
            False,
            f"the PDF carries {n_signatures} signatures; a qaharness report has exactly one "
            "(pass --allow-revisions to check each)",
        )
    if revisions > 1:
        return Verification(
            False,
            f"the PDF has {revisions} revisions: it was changed after it was written (incremental update); a "
            "qaharness report has exactly one (pass --allow-revisions to check each)",
        )
    return None


def _check_signatures(signatures, roots) -> Verification:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    outcome = Verification(False, "no signature checked")
    for index, signature in enumerate(signatures):
        outcome = _check_one(signature, context, index == len(signatures) - 1, validate_pdf_signature)
        if not outcome.ok:
            break
    return outcome


def _check_attachment(outcome: Verification, results: bytes | None, roots) -> Verification:
    if results is None:
        return replace(outcome, ok=False, reason="no sealed results.json is attached: not a qaharness report")
    try:
        check = verify_results(results, trust_roots=roots)
    except BadInputError as exc:
        return replace(outcome, ok=False, reason=f"the attached results.json is unusable: {exc}")
    if not check.ok:
        return replace(outcome, ok=False, reason=f"attached results.json: {check.reason}", results=check)
    return replace(outcome, reason=outcome.reason + "; attached results.json sealed and trusted", results=check)


def _check_one(signature, context, last: bool, validate) -> Verification:
    from pyhanko.sign.diff_analysis import ModificationLevel
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
    level = status.modification_level
    if not last and (status.docmdp_ok is False or (level is not None and level > ModificationLevel.FORM_FILLING)):
        return Verification(
            False,
            f"signature {signature.field_name!r} was followed by changes beyond form filling "
            f"(modification level {level.name if level is not None else 'unknown'})",
            signer,
            signed_at,
        )
    if not status.trusted:
        return Verification(False, "the signer certificate does not chain to the trust root", signer, signed_at)
    return Verification(True, "signature intact, covers the whole file, signer trusted", signer, signed_at)
