"""``qaharness provenance tag|show|verify`` — provenance manifests on synthetic tables."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import BadInputError
from ..provenance import MAX_REAL_SHARE, TAG_COLUMN, make_manifest, read_manifest, sidecar_path, tag_file, verify
from ._app import EXIT_BREACH, app, console

provenance_app = typer.Typer(
    name="provenance",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Tag synthetic tables with a provenance manifest, show it, and verify it.\n\n"
    f"Parquet files carry the manifest in their metadata, other files in FILE.provenance.json; "
    f"a {TAG_COLUMN} column marks every row as synthetic unless --no-column.",
)
app.add_typer(provenance_app, name="provenance")


@provenance_app.command(
    epilog="Example: qaharness provenance tag synth.parquet --generator gaussian_copula "
    "--source train.parquet --seed 7 --epsilon 3 --delta 1e-5"
)
def tag(
    file: Path = typer.Argument(..., help="Synthetic table to tag in place (.parquet, .csv, ...)."),
    generator: str = typer.Option(..., "--generator", help="Id of the generator that made FILE."),
    source: str = typer.Option(..., "--source", help="Real table the generator was trained on (fingerprinted)."),
    generator_version: str = typer.Option("", "--generator-version", help="Version of the generator."),
    config: Path | None = typer.Option(
        None, "--config", help="Generator config file (JSON/YAML); its sha256 is recorded."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed the generator used."),
    epsilon: float | None = typer.Option(None, "--epsilon", help="DP ε spent (with --delta)."),
    delta: float | None = typer.Option(None, "--delta", help="DP δ (with --epsilon)."),
    accountant: str | None = typer.Option(None, "--accountant", help="DP accountant, e.g. prv or rdp."),
    preprocessing: str | None = typer.Option(
        None, "--preprocessing", help="declared_schema | data_dependent_budgeted | data_dependent_not_private."
    ),
    no_column: bool = typer.Option(False, "--no-column", help=f"Don't add the {TAG_COLUMN} column."),
    keys: Path | None = typer.Option(
        None, "--keys", help="Signing keys folder (default ~/.qaharness/keys; a PKCS#11 token when configured)."
    ),
) -> None:
    """Attach a provenance manifest to FILE (data kept as is), signed with the qaharness signer."""
    config_hash = _file_sha256(config) if config is not None else None
    manifest = make_manifest(
        generator=generator,
        generator_version=generator_version,
        config_hash=config_hash,
        source=source,
        seed=seed,
        epsilon=epsilon,
        delta=delta,
        accountant=accountant,
        preprocessing=preprocessing,
    )
    tag_file(file, manifest, column=not no_column, keys=keys)
    tagged = read_manifest(file)
    if tagged is None:  # tag_file just wrote it; a file system that lost it is an internal fault
        raise RuntimeError(f"the manifest written to {file} cannot be read back")
    where = "Parquet metadata" if tagged and file.suffix.lower() in {".parquet", ".pq"} else str(sidecar_path(file))
    console.print(
        f"tagged {file}: manifest {tagged.manifest_id}, {tagged.n_rows} rows, in {where}"
        + ("" if no_column else f" + column {TAG_COLUMN}")
        + ("; signed" if tagged.signature else ""),
        markup=False,
    )


def _file_sha256(path: Path) -> str:
    import hashlib

    if not path.is_file():
        raise BadInputError("config file not found", source=str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@provenance_app.command(epilog="Example: qaharness provenance show synth.parquet --json")
def show(
    file: Path = typer.Argument(..., help="Table whose manifest to print."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest JSON."),
) -> None:
    """Print FILE's provenance manifest (exit 1 when it has none)."""
    manifest = read_manifest(file)
    if manifest is None:
        console.print(f"{file}: no provenance manifest", markup=False)
        raise typer.Exit(EXIT_BREACH)
    if as_json:
        console.print_json(manifest.to_json())
        return
    data = manifest.model_dump(mode="json")
    dp = manifest.dp
    data["dp"] = f"ε={dp.epsilon:g}, δ={dp.delta:g}, accountant={dp.accountant or '?'}" if dp else "none (not DP)"
    signature = manifest.signature or {}
    data["signature"] = f"by {signature.get('signer', '?')} at {signature.get('signed_at', '?')}" if signature else None
    width = max(map(len, data))
    for key, value in data.items():
        console.print(f"{key:<{width}}  {'—' if value is None else value}", markup=False)


@provenance_app.command("verify", epilog="Example: qaharness provenance verify synth.parquet --real train.parquet")
def verify_cmd(
    file: Path = typer.Argument(..., help="Tagged table to check."),
    real: str | None = typer.Option(
        None, "--real", help="Real table: check it is the manifest's source and that rows were not copied from it."
    ),
    trust: Path | None = typer.Option(
        None, "--trust", help="CA certificate the signature must chain to (default: ~/.qaharness/keys/ca.pem)."
    ),
    require_signature: bool = typer.Option(
        False, "--require-signature", help="Fail (exit 1) when the manifest is not signed."
    ),
    max_real_share: float = typer.Option(
        MAX_REAL_SHARE,
        "--max-real-share",
        min=0.0,
        max=1.0,
        help="With --real: fail when more than this share of rows equals a real row (default: the default "
        "policy's exact-copies slack).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check FILE's manifest: present, sealed, signed by a trusted signer, rows and tags match; with --real,
    the source matches and rows are not copies of real rows.

    Exit 0 verified (an unsigned manifest: "consistent, not authenticated"), 1 a check failed, 2 bad input.
    """
    result = verify(file, real=real, trust=trust, require_signature=require_signature, max_real_share=max_real_share)
    if as_json:
        console.print_json(
            json.dumps(
                result.model_dump(mode="json", exclude={"manifest"})
                | {"ok": result.ok, "manifest_id": getattr(result.manifest, "manifest_id", None)}
            )
        )
    else:
        for check in result.checks:
            mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
            console.print(f"{mark} {check.name:<9} ", end="")
            console.print(check.message, markup=False)
        if not result.ok:
            outcome = "verification failed"
        else:
            outcome = "verified (signed, signer trusted)" if result.authenticated else "consistent, not authenticated"
        console.print(f"{file}: {outcome}", markup=False)
    if not result.ok:
        raise typer.Exit(EXIT_BREACH)
