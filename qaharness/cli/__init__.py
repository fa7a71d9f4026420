"""The ``qaharness`` command line. Each command lives in its own module here."""

from __future__ import annotations

from ._app import app

# Command modules register themselves on ``app`` when imported.
from . import evaluate as _evaluate  # noqa: E402,F401
from . import demo as _demo  # noqa: E402,F401

__all__ = ["app", "main"]


def main() -> None:
    app()
