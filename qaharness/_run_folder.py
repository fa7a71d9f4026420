"""A run's output folder: one run per folder, and a run manifest written last.

``claim_folder(out, overwrite=...)`` runs before any work: a folder holding another run's files
(results.json, junit.xml, summary.md, reports, a run manifest) is refused unless ``overwrite``, and
``clear_outputs`` then removes exactly those files — the run manifest first, so a crash while clearing
never leaves a manifest naming files that are gone. ``write_run_manifest`` lists every file of the run
with its sha256 and is written last: a folder whose manifest is missing, or does not match its files,
is incomplete (``check_run_manifest``). Other files in the folder are left alone.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _atomic
from .errors import BadInputError
from .io import _sha256_file as file_sha256

if TYPE_CHECKING:
    from .results import Run

__all__ = [
    "RUN_MANIFEST",
    "RUN_MANIFEST_FORMAT",
    "OUTPUT_NAMES",
    "previous_outputs",
    "claim_folder",
    "clear_outputs",
    "write_run_manifest",
    "read_run_manifest",
    "check_run_manifest",
    "file_sha256",
    "check_writable",
]

RUN_MANIFEST = "run-manifest.json"
RUN_MANIFEST_FORMAT = "qaharness.run-manifest/1"
OUTPUT_NAMES = ("results.json", "junit.xml", "summary.md", "report.html", RUN_MANIFEST)
_REPORT_PDF = re.compile(r"^report(-[A-Za-z0-9._-]+)?\.pdf$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _is_output(name: str) -> bool:
    return name in OUTPUT_NAMES or bool(_REPORT_PDF.match(name))


def read_run_manifest(out: Path) -> dict[str, Any] | None:
    """The folder's run manifest, or None when there is none (or it is not a run manifest)."""
    path = Path(out) / RUN_MANIFEST
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == RUN_MANIFEST_FORMAT else None


def previous_outputs(out: Path) -> list[Path]:
    """Files of an earlier run in ``out``: known output names, what its manifest lists, temp leftovers."""
    out = Path(out)
    if not out.is_dir():
        return []
    manifest = read_run_manifest(out) or {}
    listed = {n for n in (manifest.get("files") or {}) if isinstance(n, str) and _PLAIN_NAME.match(n)}
    found = []
    for entry in out.iterdir():
        name = entry.name
        leftover = _atomic.is_temp_leftover(entry) and _is_output(name[1:].rsplit(".", 2)[0])
        if (_is_output(name) or name in listed or leftover) and (entry.is_file() or entry.is_symlink()):
            found.append(entry)
    return sorted(found, key=lambda p: (p.name != RUN_MANIFEST, p.name))


def check_writable(path: Path, *, source: str) -> None:
    """``BadInputError`` naming ``source`` unless ``path`` (or the nearest folder that exists above it) is
    writable: a read-only output fails before any work, not after it."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        raise BadInputError(f"{probe} is not writable (read-only or permission denied)", source=source)


def claim_folder(out: Path, *, overwrite: bool = False, option: str = "--out") -> None:
    """Refuse ``out`` when it holds another run's files (unless ``overwrite``, which clears them later)
    or cannot be written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadInputError("exists and is not a folder", source=f"{option} {out}")
    check_writable(out, source=f"{option} {out}")
    previous = previous_outputs(out)
    if previous and not overwrite:
        names = ", ".join(p.name for p in previous[:4]) + (" …" if len(previous) > 4 else "")
        raise BadInputError(
            f"holds the files of another run ({names}); pass --overwrite to replace them, or choose an empty folder",
            source=f"{option} {out}",
        )


def clear_outputs(out: Path, *, option: str = "--out") -> None:
    """Remove the earlier run's files from ``out`` (run manifest first); symlinks are removed, not followed."""
    for path in previous_outputs(out):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise BadInputError(f"cannot remove {path.name}: {exc.strerror or exc}", source=f"{option} {out}") from None


def write_run_manifest(out: Path, files: Mapping[str, Path], run: Run, *, option: str = "--out") -> Path:
    """List every file of the run (name → sha256, bytes) in ``out/run-manifest.json``; call it last."""
    out = Path(out)
    entries = {}
    for path in files.values():
        path = Path(path)
        if path.parent.resolve() != out.resolve():
            continue  # only files in this folder belong to its manifest
        entries[path.name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    document = {
        "format": RUN_MANIFEST_FORMAT,
        "created_at": run.created_at,
        "verdict": run.verdict,
        "seal_value": (run.seal or {}).get("value"),
        "files": dict(sorted(entries.items())),
    }
    text = json.dumps(document, indent=2) + "\n"
    return _atomic.write_text(out / RUN_MANIFEST, text, source=f"{option} {out}")


def check_run_manifest(out: Path) -> list[str]:
    """Problems that make ``out`` an incomplete or altered run folder ([] when complete)."""
    out = Path(out)
    manifest = read_run_manifest(out)
    if manifest is None:
        return [f"no {RUN_MANIFEST}: the run did not finish writing its outputs"]
    problems = []
    for name, entry in (manifest.get("files") or {}).items():
        path = out / str(name)
        if not _PLAIN_NAME.match(str(name)) or not path.is_file() or path.is_symlink():
            problems.append(f"{name} is missing")
        elif not isinstance(entry, dict) or file_sha256(path) != entry.get("sha256"):
            problems.append(f"{name} differs from the run manifest")
    return problems
