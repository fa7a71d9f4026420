"""``qaharness app``: the reviewer dashboard (Streamlit) on a run store.

The module is not called ``app.py``: importing ``qaharness.cli.app`` would replace the Typer ``app``
attribute of the ``qaharness.cli`` package with the module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from ..app._serve import serve_env, streamlit_command
from ..errors import BadInputError
from ..paths import default_store
from ._app import app, console

__all__ = ["resolve_store"]


def resolve_store(store: Path | None) -> Path:
    """The store file: the default one, the given file, or ``runs.duckdb`` in a given folder (the demo's)."""
    if store is None:
        return default_store()
    store = store.expanduser()
    if store.is_dir():
        if not (store / "runs.duckdb").is_file():
            raise BadInputError("is a folder without a runs.duckdb; pass the store file", source=str(store))
        store = store / "runs.duckdb"
    return store.resolve()


@app.command("app", epilog="Example: qaharness app --store qaharness-demo/runs.duckdb --port 8501")
def app_command(
    store: Path | None = typer.Option(
        None, "--store", help="Run store file, or a folder holding runs.duckdb (default ~/.qaharness/runs.duckdb)."
    ),
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to serve on."),
    address: str = typer.Option(
        "127.0.0.1", "--address", help="Address to listen on; 0.0.0.0 exposes the dashboard to the network."
    ),
    reviewers: str | None = typer.Option(
        None, "--reviewers", help="Comma-separated e-mails allowed to sign off when login is configured."
    ),
) -> None:
    """Open the reviewer dashboard: browse runs, compare them, sign releases off."""
    path = resolve_store(store)
    if not path.exists():
        console.print(f"note: no run store at {path} yet; the dashboard shows how to record a first run", markup=False)
    console.print(f"qaharness dashboard on http://{address}:{port}  (store: {path}; Ctrl+C stops it)", markup=False)
    code = _run(streamlit_command(port, address), serve_env(path, reviewers))
    if code:
        raise typer.Exit(code)


def _run(command: list[str], env: dict[str, str]) -> int:
    """Become the Streamlit server (POSIX), so Ctrl+C and `kill` reach it and leave no orphan."""
    if os.name == "posix":
        sys.stdout.flush(), sys.stderr.flush()
        os.execve(command[0], command, env)  # does not return
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0
