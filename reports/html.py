"""HTML report: one self-contained file rendered from results.json through Jinja2.

Autoescape is on for every template: column names, category labels and messages come from
the data and are escaped. Charts are inline ``data:`` SVG images, so the file opens offline.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from qaharness.results import Run

from ._context import build_context

__all__ = ["template_environment", "render_html", "write_html", "TEMPLATES"]

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(run: Run, *, ticket: str | None = None, signed: bool = False) -> str:
    """The report as one HTML string (``signed`` only changes a line of text saying the PDF is signed)."""
    context = build_context(run, ticket=ticket, signed=signed)
    return template_environment().get_template("report.html.j2").render(**context)


def write_html(run: Run, path: str | Path, *, ticket: str | None = None) -> Path:
    from qaharness._atomic import make_folder, write_text

    path = Path(path)
    make_folder(path.parent)
    return write_text(path, render_html(run, ticket=ticket))
