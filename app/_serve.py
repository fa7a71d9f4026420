"""How the dashboard is served: the ``streamlit run`` command line, its environment, whether login is set up.

Shared by ``qaharness app`` and the end-to-end test, so the test serves exactly what users get.
"""

from __future__ import annotations

import os
import sys
import tomllib
from importlib import resources
from pathlib import Path

from ._artifacts import TRUST_ENV
from ._data import INSECURE_ENV, REVIEWERS_ENV, STORE_ENV

__all__ = ["MAIN_SCRIPT", "streamlit_command", "serve_env", "secrets_files", "login_configured"]

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


def serve_env(
    store: Path, reviewers: str | None = None, *, insecure_open_review: bool = False, trust: Path | None = None
) -> dict[str, str]:
    """This process's environment plus the store path, the reviewers allow-list, open review and trust root."""
    env = {**os.environ, STORE_ENV: str(store)}
    if reviewers is not None:
        env[REVIEWERS_ENV] = reviewers
    if insecure_open_review:
        env[INSECURE_ENV] = "1"
    else:
        env.pop(INSECURE_ENV, None)
    if trust is not None:
        env[TRUST_ENV] = str(trust)
    return env


def secrets_files(cwd: Path | None = None) -> list[Path]:
    """Where Streamlit looks for secrets.toml: the user's, the working folder's, the dashboard script's."""
    folder = Path(cwd or Path.cwd())
    return [
        Path.home() / ".streamlit" / "secrets.toml",
        folder / ".streamlit" / "secrets.toml",
        MAIN_SCRIPT.parent / ".streamlit" / "secrets.toml",
    ]


def login_configured(cwd: Path | None = None) -> Path | None:
    """The secrets file that configures OIDC login (an ``[auth]`` table), or None."""
    for path in secrets_files(cwd):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        if isinstance(data.get("auth"), dict):
            return path
    return None
