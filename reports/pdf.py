"""PDF report through WeasyPrint, from the same template as the HTML.

Nothing is fetched: the only URLs WeasyPrint may open are ``data:`` URIs (the inline charts).
The ticket goes into the PDF metadata (Title, Keywords and a custom ``ticket`` entry).
"""

from __future__ import annotations

import logging
from pathlib import Path

from qaharness.results import Run

from .html import render_html

__all__ = ["write_pdf", "render_pdf"]


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(custom_metadata=True)


def write_pdf(run: Run, path: str | Path, *, ticket: str | None = None, signed: bool = False) -> Path:
    """Write the report PDF (unsigned; ``signed`` adds the line saying a signature follows)."""
    from qaharness._atomic import make_folder, write_bytes

    path = Path(path)
    make_folder(path.parent)
    return write_bytes(path, render_pdf(render_html(run, ticket=ticket, signed=signed)))
