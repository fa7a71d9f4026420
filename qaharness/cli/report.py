"""``qaharness report``, ``qaharness keys init`` and ``qaharness verify``."""

from __future__ import annotations

from pathlib import Path

import typer

from ..reports import FORMATS, render_reports
from ..reports.sign import init_keys, verify_pdf
from ._app import EXIT_BREACH, app, console, err_console
from ._common import split_list

keys_app = typer.Typer(
    name="keys",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Manage the local signing keys used by `report --sign` and `gate --sign`.",
)
app.add_typer(keys_app, name="keys")


@app.command(epilog="Example: qaharness report runs/2026-11-22 --format html,pdf --sign --ticket DATA-123")
def report(
    run_dir: Path = typer.Argument(..., help="Folder holding results.json (from evaluate or gate)."),
    format: str = typer.Option("html,pdf", "--format", help="Comma-separated: html, pdf."),
    sign: bool = typer.Option(False, "--sign", help="Sign the PDF (PAdES) with the key from `keys init`."),
    keys: Path | None = typer.Option(None, "--keys", help="Key folder (default ~/.qaharness/keys)."),
    ticket: str | None = typer.Option(
        None,
        "--ticket",
        help="Ticket key, e.g. DATA-123: on page 1, in the PDF's name and metadata (default: the run's).",
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the reports here instead of beside results.json."),
) -> None:
    """Render the HTML and/or PDF report of a run from its results.json."""
    written = render_reports(
        run_dir, split_list(format) or list(FORMATS), sign=sign, ticket=ticket, keys=keys, out_dir=out
    )
    for kind, path in written.items():
        suffix = " (signed)" if kind == "pdf" and sign else ""
        console.print(f"{kind}: {path}{suffix}")


@keys_app.command("init", epilog="Example: qaharness keys init --keys ~/.qaharness/keys")
def keys_init(
    keys: Path | None = typer.Option(None, "--keys", help="Key folder (default ~/.qaharness/keys)."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace existing keys (old signatures stay valid only for whoever trusts the old ca.pem).",
    ),
    name: str = typer.Option("qaharness report signer", "--name", help="Common name of the signer certificate."),
) -> None:
    """Create a local signing CA and a signer certificate (ECDSA P-256, non-repudiation)."""
    paths = init_keys(keys, force=force, common_name=name)
    console.print(f"signing CA:  {paths.ca_cert}  (give this file to reviewers: `qaharness verify --trust`)")
    console.print(f"signer cert: {paths.signer_cert}")
    console.print(f"private keys (mode 600): {paths.ca_key}, {paths.signer_key}")


@app.command(epilog="Example: qaharness verify runs/2026-11-22/report-DATA-123.pdf --trust ca.pem")
def verify(
    pdf: Path = typer.Argument(..., help="Signed report PDF."),
    trust: Path | None = typer.Option(
        None, "--trust", help="Trust root certificate, PEM or DER (default: ~/.qaharness/keys/ca.pem)."
    ),
) -> None:
    """Check a report's signature: intact, covering the whole file, chaining to the trust root.

    Exit 0 only if all three hold; 1 with the reason otherwise; 2 for unusable input.
    """
    outcome = verify_pdf(pdf, trust)
    if outcome.ok:
        console.print(f"OK: {outcome.reason}")
        console.print(f"signer: {outcome.signer}; signed at {outcome.signed_at or 'unknown'}")
        if outcome.ticket:
            console.print(f"ticket: {outcome.ticket}")
        return
    err_console.print(f"FAILED: {outcome.reason}")
    if outcome.signer:
        err_console.print(f"signer: {outcome.signer}")
    raise typer.Exit(EXIT_BREACH)
