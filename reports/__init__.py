"""Reports: HTML and PDF rendered from a sealed results.json, PDF signatures and their verification.

``render_reports(run_dir, formats, sign=..., ticket=...)`` is what ``qaharness report``,
``qaharness gate --report`` and the demo call. It renders only a results.json whose seal verifies
(``qaharness.seal``; a broken or missing seal is a ``VerificationError``, exit 1), from the very
bytes it checked, and attaches those bytes to the PDF.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from qaharness._run_folder import RUN_MANIFEST, read_run_manifest, write_run_manifest
from qaharness.errors import BadInputError
from qaharness.results import Run
from qaharness.seal import require_seal
from qaharness.tickets import check_ticket

__all__ = ["render_reports", "report_paths", "check_ticket", "FORMATS"]

FORMATS = ("html", "pdf")


def report_paths(out_dir: str | Path, ticket: str | None = None) -> dict[str, Path]:
    """Where the reports go: ``report.html`` and ``report.pdf`` or ``report-<TICKET>.pdf``."""
    out = Path(out_dir)
    return {"html": out / "report.html", "pdf": out / (f"report-{ticket}.pdf" if ticket else "report.pdf")}


def _read_sealed(run_dir: Path, trust: str | Path | None, keys: str | Path | None) -> tuple[Run, bytes, Path]:
    """The run, the exact bytes whose seal was checked, and the file they came from."""
    path = run_dir / "results.json" if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise BadInputError("no results.json here; pass the folder written by evaluate or gate", source=str(path))
    raw = path.read_bytes()
    try:
        run = Run.from_json(raw)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise BadInputError(f"not a qaharness results.json: {first}", source=str(path)) from None
    require_seal(raw, trust=trust, keys=keys, name=str(path))
    return run, raw, path


def _check_formats(formats: Iterable[str], sign: bool) -> list[str]:
    chosen = [f.strip().lower() for f in formats if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise BadInputError(
            f"unknown report format {', '.join(unknown) or '(none)'}; known: {', '.join(FORMATS)}", source="--format"
        )
    if sign and "pdf" not in chosen:
        raise BadInputError("--sign needs the pdf format", source="--sign")
    return chosen


def render_reports(
    run_dir: str | Path,
    formats: Iterable[str] = FORMATS,
    *,
    sign: bool = False,
    ticket: str | None = None,
    keys: str | Path | None = None,
    out_dir: str | Path | None = None,
    trust: str | Path | None = None,
) -> dict[str, Path]:
    """Render the reports of the run in ``run_dir`` (its sealed results.json) beside it, or into ``out_dir``.

    ``formats``: any of "html", "pdf". ``sign``: sign the PDF with the signer of ``keys`` (default
    ``~/.qaharness/keys``; a passphrase or PKCS#11 token as in ``qaharness.keys``). ``trust``: the CA
    the seal must chain to (default: the key folder's ca.pem). ``ticket``: defaults to the run's own.
    Returns ``{format: path}``. Raises ``VerificationError`` for a missing or broken seal and
    ``BadInputError`` for unusable input.
    """
    from qaharness._atomic import make_folder, write_text

    from .html import render_html
    from .pdf import write_pdf
    from .sign import finish_pdf

    formats = _check_formats(formats, sign)
    run_dir = Path(run_dir)
    ticket = check_ticket(ticket)
    signer = None
    if sign:  # fail before any work when the key cannot be used
        from qaharness.keys import load_signer

        signer = load_signer(keys)
    run, raw, results_path = _read_sealed(run_dir, trust, keys)
    ticket = check_ticket(ticket or run.ticket)
    out = make_folder(out_dir or results_path.parent, source=f"--out {out_dir or results_path.parent}")
    paths = report_paths(out, ticket)
    written: dict[str, Path] = {}
    if "html" in formats:
        written["html"] = write_text(paths["html"], render_html(run, ticket=ticket), source=f"--out {out}")
    if "pdf" in formats:
        with tempfile.TemporaryDirectory(dir=out, prefix=".render-") as scratch:
            draft = write_pdf(run, Path(scratch) / "report.pdf", ticket=ticket, signed=sign)
            written["pdf"] = finish_pdf(draft.read_bytes(), paths["pdf"], results_json=raw, signer=signer)
    _update_run_manifest(out, results_path, run, written)
    return written


def _update_run_manifest(out: Path, results_path: Path, run: Run, written: dict[str, Path]) -> None:
    """Reports rendered into a complete run folder join its run manifest (rewritten last)."""
    manifest = read_run_manifest(out)
    if manifest is None or results_path.parent.resolve() != out.resolve():
        return
    files = {name: out / name for name in manifest.get("files", {}) if name != RUN_MANIFEST and (out / name).is_file()}
    files.update({path.name: path for path in written.values()})
    write_run_manifest(out, files, run)
