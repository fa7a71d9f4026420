"""The ``qaharness`` command line. Each command lives in its own module here."""

from __future__ import annotations

from ._app import app

# Command modules register themselves on ``app`` when imported.
from . import evaluate as _evaluate  # noqa: E402,F401
from . import demo as _demo  # noqa: E402,F401
from . import report as _report  # noqa: E402,F401
from . import dashboard as _dashboard  # noqa: E402,F401  (`qaharness app`; a module named app would shadow `app`)
from . import gate as _gate  # noqa: E402,F401
from . import runs as _runs  # noqa: E402,F401
from . import provenance as _provenance  # noqa: E402,F401
from . import diff as _diff  # noqa: E402,F401
from . import generate as _generate  # noqa: E402,F401

__all__ = ["app", "main"]


def main() -> None:
    app()
