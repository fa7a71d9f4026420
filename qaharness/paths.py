"""Where qaharness keeps its state: ``$QAHARNESS_HOME`` (default ``~/.qaharness``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home", "default_store", "logs_dir", "keys_dir"]


def home() -> Path:
    return Path(os.environ.get("QAHARNESS_HOME", Path.home() / ".qaharness")).expanduser()


def default_store() -> Path:
    return home() / "runs.duckdb"


def logs_dir() -> Path:
    return home() / "logs"


def keys_dir() -> Path:
    return home() / "keys"
