"""How the dashboard is served: the ``streamlit run`` command line and its environment.

Shared by ``qaharness app`` and the end-to-end test, so the test serves exactly what users get.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from ._data import REVIEWERS_ENV, STORE_ENV

__all__ = ["MAIN_SCRIPT", "streamlit_command", "serve_env"]

MAIN_SCRIPT = Path(str(resources.files("qaharness.app") / "main.py"))


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """``python -m streamlit run <packaged main.py>``: headless, no usage stats, no file watcher, no dev menu."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(MAIN_SCRIPT),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
    ]


def serve_env(store: Path, reviewers: str | None = None) -> dict[str, str]:
    """This process's environment plus the store path (and the reviewers allow-list, if given)."""
    env = {**os.environ, STORE_ENV: str(store)}
    if reviewers is not None:
        env[REVIEWERS_ENV] = reviewers
    return env
