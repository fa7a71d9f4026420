"""Writing an output so that a crash never leaves a file that looks complete.

``write_bytes(path, data)`` writes to a fresh temporary file beside ``path``
(``.NAME.<random>.tmp``, opened with ``O_CREAT | O_EXCL | O_NOFOLLOW``, so neither a planted file
nor a planted symlink of that name is ever opened), flushes it to disk and renames it over
``path``. ``rename`` replaces a symlink planted at ``path`` instead of following it. A process
killed at any point leaves either the old file, the new file, or a dot-named ``.tmp`` leftover —
never a truncated file under the real name. ``atomic_file`` does the same for writers that
stream into a binary handle (Parquet, CSV).

Permission and read-only failures become a ``BadInputError`` (exit 2) naming the file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import BadInputError

__all__ = [
    "write_bytes",
    "write_text",
    "atomic_file",
    "make_folder",
    "is_temp_leftover",
    "remove_temp_leftovers",
    "os_error",
]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_TMP_SUFFIX = ".tmp"


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{_TMP_SUFFIX}")


def is_temp_leftover(path: Path) -> bool:
    """Whether ``path`` is a temporary file this module left behind (a killed writer)."""
    return path.name.startswith(".") and path.name.endswith(_TMP_SUFFIX)


def remove_temp_leftovers(folder: Path, name: str) -> None:
    """Delete ``.NAME.*.tmp`` leftovers of ``name`` in ``folder`` (never following links)."""
    for leftover in folder.glob(f".{name}.*{_TMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def os_error(exc: OSError, path: Path, source: str | None = None) -> BadInputError:
    """The one-line bad-input error for an OS failure writing ``path``."""
    reason = exc.strerror or type(exc).__name__
    return BadInputError(f"cannot write {path.name}: {reason}", source=source or str(path.parent))


def make_folder(folder: str | Path, *, source: str | None = None) -> Path:
    """``mkdir -p`` whose permission or read-only failure is a one-line ``BadInputError``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise BadInputError("exists and is not a folder", source=source or str(folder)) from None
    except OSError as exc:
        raise BadInputError(f"cannot create the folder: {exc.strerror or exc}", source=source or str(folder)) from None
    return folder


@contextmanager
def atomic_file(path: str | Path, *, mode: int = 0o644, source: str | None = None) -> Iterator[BinaryIO]:
    """Yield a binary handle; on a clean exit its bytes replace ``path`` in one rename.

    ``mode`` applies to the new file (before the umask). On an exception the temporary file is
    removed and nothing at ``path`` changes. ``source`` names the option in error messages.
    """
    path = Path(path)
    tmp = _temp_name(path)
    try:
        fd = os.open(tmp, _FLAGS, mode)
    except OSError as exc:
        raise os_error(exc, path, source) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise os_error(exc, path, source) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | Path, data: bytes, *, mode: int = 0o644, source: str | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring); returns the path."""
    path = Path(path)
    with atomic_file(path, mode=mode, source=source) as handle:
        handle.write(data)
    return path


def write_text(path: str | Path, text: str, *, mode: int = 0o644, source: str | None = None) -> Path:
    """``write_bytes`` of ``text`` in UTF-8."""
    return write_bytes(path, text.encode("utf-8"), mode=mode, source=source)
