"""The ``qaharness`` command line. Each command lives in its own module here."""

from __future__ import annotations

from . import budget as _budget  # noqa: F401
from . import dashboard as _dashboard  # noqa: F401  (`qaharness app`; a module named app would shadow `app`)
from . import demo as _demo  # noqa: F401
from . import diff as _diff  # noqa: F401

# Command modules register themselves on ``app`` when imported.
from . import evaluate as _evaluate  # noqa: F401
from . import gate as _gate  # noqa: F401
from . import generate as _generate  # noqa: F401
from . import provenance as _provenance  # noqa: F401
from . import report as _report  # noqa: F401
from . import runs as _runs  # noqa: F401
from ._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
