"""Reports: HTML and PDF rendered from results.json, PDF signatures and their verification.

``render_reports(run_dir, formats, sign=..., ticket=...)`` is what ``qaharness report``,
``qaharness gate --report`` and the demo call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from qaharness.errors import BadInputError
from qaharness.results import Run

__all__ = ["render_reports", "report_paths", "check_ticket", "FORMATS"]

FORMATS = ("html", "pdf")
_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_ticket(ticket: str | None) -> str | None:
    """A ticket key safe in a file name (letters, digits, '.', '_', '-'; e.g. DATA-123)."""
    if ticket is None:
        return None
    if not _TICKET.match(ticket):
        raise BadInputError(
            f"ticket {ticket!r} must be 1–64 letters, digits, '.', '_' or '-' (e.g. DATA-123)", source="--ticket"
        )
    return ticket


def report_paths(out_dir: str | Path, ticket: str | None = None) -> dict[str, Path]:
    """Where the reports go: ``report.html`` and ``report.pdf`` or ``report-<TICKET>.pdf``."""
    out = Path(out_dir)
    return {"html": out / "report.html", "pdf": out / (f"report-{ticket}.pdf" if ticket else "report.pdf")}


def _read_run(run_dir: Path) -> Run:
    path = run_dir / "results.json" if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise BadInputError("no results.json here; pass the folder written by evaluate or gate", source=str(path))
    try:
        return Run.read(path)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise BadInputError(f"not a qaharness results.json: {first}", source=str(path)) from None


def render_reports(
    run_dir: str | Path,
    formats: Iterable[str] = FORMATS,
    *,
    sign: bool = False,
    ticket: str | None = None,
    keys: str | Path | None = None,
    out_dir: str | Path | None = None,
) -> dict[str, Path]:
    """Render the reports of the run in ``run_dir`` (its results.json) beside it, or into ``out_dir``.

    ``formats``: any of "html", "pdf". ``sign``: sign the PDF with the key under ``keys``
    (default ``~/.qaharness/keys``; create it with ``qaharness keys init``). ``ticket``: defaults to
    the run's own ticket. Returns ``{format: path}``. Raises BadInputError for unusable input.
    """
    from .html import write_html
    from .pdf import write_pdf

    formats = [f.strip().lower() for f in formats if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise BadInputError(
            f"unknown report format {', '.join(unknown) or '(none)'}; known: {', '.join(FORMATS)}", source="--format"
        )
    if sign and "pdf" not in formats:
        raise BadInputError("--sign needs the pdf format", source="--sign")
    run_dir = Path(run_dir)
    run = _read_run(run_dir)
    ticket = check_ticket(ticket or run.ticket)
    paths = report_paths(out_dir or (run_dir if run_dir.is_dir() else run_dir.parent), ticket)
    written: dict[str, Path] = {}
    if sign:  # fail before rendering when there is no key
        from .sign import key_paths

        if not key_paths(keys).signer_key.exists():
            raise BadInputError("no signing key; run `qaharness keys init` first", source=str(key_paths(keys).folder))
    if "html" in formats:
        written["html"] = write_html(run, paths["html"], ticket=ticket)
    if "pdf" in formats:
        written["pdf"] = write_pdf(run, paths["pdf"], ticket=ticket, signed=sign)
        if sign:
            from .sign import sign_pdf

            sign_pdf(written["pdf"], keys=keys)
    return written
