"""``qaharness report``, ``qaharness keys init`` and ``qaharness verify``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer

from ..errors import BadInputError
from ..keys import PASSPHRASE_ENV, Pkcs11Config
from ..reports import FORMATS, render_reports
from ..reports.sign import init_keys, verify_pdf
from ..store import RunStore
from ..tickets import check_ticket
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
    trust: Path | None = typer.Option(
        None, "--trust", help="CA the results.json seal must chain to (default: the key folder's ca.pem)."
    ),
    store: Path | None = typer.Option(
        None,
        "--store",
        help="Record the reports as artifacts of the run in this store that recorded this results.json "
        "(the dashboard serves recorded, unchanged files only).",
    ),
) -> None:
    """Render the HTML and/or PDF report of a run from its sealed results.json.

    Exit 1 when results.json is not sealed or its seal is broken (edited after the run) or untrusted.
    """
    check_ticket(ticket)
    recorded = _recorded_run(store, run_dir) if store is not None else None  # fail before rendering
    written = render_reports(
        run_dir, split_list(format) or list(FORMATS), sign=sign, ticket=ticket, keys=keys, out_dir=out, trust=trust
    )
    for kind, path in written.items():
        suffix = " (signed)" if kind == "pdf" and sign else ""
        console.print(f"{kind}: {path}{suffix}", markup=False)
    if recorded is not None:
        db, run_id = recorded
        for kind, path in written.items():
            db.add_artifact(run_id, f"report.{kind}", path)
        console.print(f"recorded as artifacts of run {run_id} in {db.path}", markup=False)


def _recorded_run(store: Path, run_dir: Path) -> tuple[RunStore, str]:
    """The store and the id of the run whose recorded results.json has the same bytes as ``run_dir``'s."""
    results = run_dir / "results.json" if run_dir.is_dir() else run_dir
    if not results.is_file():
        raise BadInputError("no results.json here; pass the folder written by evaluate or gate", source=str(results))
    digest = hashlib.sha256(results.read_bytes()).hexdigest()
    db = RunStore(store)
    runs = db.list_runs()
    folder = str(results.parent.resolve())
    out_dirs = dict(zip(runs.run_id, runs.out_dir))
    for run_id in sorted(runs.run_id, key=lambda i: out_dirs.get(i) != folder):  # runs recorded from here first
        artifacts = db.artifacts(run_id)
        if ((artifacts.name == "results.json") & (artifacts.sha256 == digest)).any():
            return db, str(run_id)
    raise BadInputError(
        f"no run in this store recorded this results.json (sha256 {digest[:12]}…); record the run with "
        "`qaharness gate --store` first",
        source=f"--store {store}",
    )


@keys_app.command("init", epilog="Example: qaharness keys init --keys ~/.qaharness/keys")
def keys_init(
    keys: Path | None = typer.Option(None, "--keys", help="Key folder (default ~/.qaharness/keys)."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace existing keys (old signatures stay valid only for whoever trusts the old ca.pem).",
    ),
    name: str = typer.Option("qaharness report signer", "--name", help="Common name of the signer certificate."),
    pkcs11: bool = typer.Option(
        False,
        "--pkcs11",
        help="Generate the signer key on the PKCS#11 token named by $QAHARNESS_PKCS11_MODULE/_TOKEN/_KEY/_PIN.",
    ),
) -> None:
    """Create a local signing CA and a signer certificate (ECDSA P-256, non-repudiation).

    Private keys are encrypted with $QAHARNESS_KEY_PASSPHRASE when it is set; with --pkcs11 the signer
    key is generated on the token and never written to disk.
    """
    import os

    paths = init_keys(keys, force=force, common_name=name, pkcs11=pkcs11)
    console.print(
        f"signing CA:  {paths.ca_cert}  (give this file to reviewers: `qaharness verify --trust`)", markup=False
    )
    console.print(f"signer cert: {paths.signer_cert}", markup=False)
    encrypted = "encrypted with $" + PASSPHRASE_ENV if os.environ.get(PASSPHRASE_ENV) else "NOT encrypted"
    if pkcs11 and (config := Pkcs11Config.from_env()) is not None:
        console.print(f"signer key: on PKCS#11 token {config.token!r}, label {config.key!r}", markup=False)
        console.print(f"CA private key (mode 600, {encrypted}): {paths.ca_key}", markup=False)
    else:
        console.print(f"private keys (mode 600, {encrypted}): {paths.ca_key}, {paths.signer_key}", markup=False)
    if "NOT" in encrypted:
        err_console.print(
            f"note: set ${PASSPHRASE_ENV} before `keys init` to encrypt them, or keep the signer key on a PKCS#11 "
            "token (README: What the signatures prove)",
            markup=False,
        )


@app.command(epilog="Example: qaharness verify runs/2026-11-22/report-DATA-123.pdf --trust ca.pem")
def verify(
    pdf: Path = typer.Argument(..., help="Signed report PDF."),
    trust: Path | None = typer.Option(
        None, "--trust", help="Trust root certificate, PEM or DER (default: ~/.qaharness/keys/ca.pem)."
    ),
    allow_revisions: bool = typer.Option(
        False,
        "--allow-revisions",
        help="Accept several revisions or signatures if each is trusted and followed only by form filling.",
    ),
) -> None:
    """Check a report: one revision with one signature, intact, covering the whole file, chaining to the
    trust root, and an attached results.json whose seal verifies against the same root.

    Exit 0 only if all hold; 1 with the reason otherwise; 2 for unusable input.
    """
    outcome = verify_pdf(pdf, trust, allow_revisions=allow_revisions)
    if outcome.ok:
        console.print(f"OK: {outcome.reason}", markup=False)
        console.print(f"signer: {outcome.signer}; signed at {outcome.signed_at or 'unknown'}", markup=False)
        if outcome.results is not None:
            console.print(
                f"sealed results: verdict {(outcome.results.verdict or 'none (an evaluate run)').upper()}; "
                f"sealed by {outcome.results.signer} at {outcome.results.signed_at or 'unknown'}",
                markup=False,
            )
        if outcome.ticket:
            console.print(f"ticket: {outcome.ticket}", markup=False)
        return
    err_console.print(f"FAILED: {outcome.reason}", markup=False)
    if outcome.signer:
        err_console.print(f"signer: {outcome.signer}", markup=False)
    raise typer.Exit(EXIT_BREACH)
