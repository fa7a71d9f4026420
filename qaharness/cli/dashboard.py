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
from rich.markup import escape

from ..app._serve import login_configured, serve_env, streamlit_command
from ..errors import BadInputError
from ..paths import default_store
from ._app import app, console, err_console

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


def _sign_off_note(reviewers: str | None, insecure: bool) -> str:
    """Who may sign off, said at start-up; refuses an allow-list that login cannot enforce."""
    login = login_configured()
    if login is not None:
        return f"login: OIDC configured in {login}; only signed-in reviewers on the allow-list may sign off"
    if reviewers and not insecure:
        raise BadInputError(
            "needs login: without OIDC login ([auth] in .streamlit/secrets.toml) anyone can type an allowed "
            "address and sign off; configure login, or pass --insecure-open-review to accept that",
            source="--reviewers",
        )
    if reviewers:
        return (
            "warning: login is not configured; --insecure-open-review: anyone who opens the dashboard can sign "
            "off by typing a name on --reviewers (not verified)"
        )
    return (
        "warning: login is not configured (no [auth] in .streamlit/secrets.toml): anyone who opens the "
        "dashboard can sign off under any name; the name is recorded, not verified"
    )


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
        None,
        "--reviewers",
        help="Comma-separated e-mails allowed to sign off; needs OIDC login (or --insecure-open-review).",
    ),
    insecure_open_review: bool = typer.Option(
        False,
        "--insecure-open-review",
        help="Without login, accept typed reviewer names from --reviewers (anyone can type one: unverified).",
    ),
    trust: Path | None = typer.Option(
        None, "--trust", help="CA certificate signed PDFs are verified against (default: ~/.qaharness/keys/ca.pem)."
    ),
) -> None:
    """Open the reviewer dashboard: browse runs, compare them, sign releases off."""
    path = resolve_store(store)
    if trust is not None and not trust.expanduser().is_file():
        raise BadInputError("trust root not found", source=f"--trust {trust}")
    note = _sign_off_note(reviewers, insecure_open_review)
    if not path.exists():
        console.print(f"note: no run store at {escape(str(path))} yet; the dashboard shows how to record a first run")
    err_console.print(escape(note), highlight=False)
    console.print(
        f"qaharness dashboard on http://{escape(address)}:{port}  (store: {escape(str(path))}; Ctrl+C stops it)"
    )
    trust_root = trust.expanduser().resolve() if trust is not None else None
    env = serve_env(path, reviewers, insecure_open_review=insecure_open_review, trust=trust_root)
    code = _run(streamlit_command(port, address), env)
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
