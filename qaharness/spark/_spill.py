"""Value counts the driver cannot keep in memory, written to a private directory on local disk.

A 10M-row table's continuous column has ~10M distinct values: 160 MB of counts. The Spark engine keeps
``KEEP_BYTES`` of them in the driver's memory; KS, Wasserstein, coverage and the rank maps of the
association metric each read every numeric column again, and counting one again means reading the
column from the table, moving it to the driver and sorting it (~4 s at 10M rows on local[2]) where
reading it back from here takes 0.02–0.9 s (``benchmarks/README.md``). The files hold the real data's
values, so the directory is the user's alone (``tempfile.mkdtemp``: mode 0700, under ``TMPDIR``) and
is removed when the run releases its summaries, or when the summaries are collected. A write that
fails (a full disk) is removed and ends spilling for the run, and a file that cannot be read back is
forgotten: either way the counts are counted again when asked again.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Hashable
from pathlib import Path

import numpy as np

from ..summaries import ValueCounts

__all__ = ["CountSpill", "SPILL_BYTES"]

#: bytes of value counts a run writes at most: ten all-distinct columns of two 50M-row tables (the largest
#: pulled to the driver, ``_summaries.PULL_ROWS``); beyond, counted again when asked again, as without a spill
SPILL_BYTES = 16 << 30


class CountSpill:
    """``ValueCounts`` by key on local disk: ``put`` (False when not written), ``get`` (None when
    absent), ``discard`` and ``clear``."""

    def __init__(self, limit: int | None = None) -> None:
        self._limit = SPILL_BYTES if limit is None else limit
        self._dir: Path | None = None
        self._files: dict[Hashable, tuple[Path, int, int]] = {}  # key → (file, missing, bytes)
        self._bytes = 0
        self._written = 0
        self._broken = False
        self._finalizer: weakref.finalize | None = None

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def has_room(self) -> bool:
        return not self._broken and self._bytes < self._limit

    def __contains__(self, key: Hashable) -> bool:
        return key in self._files

    def put(self, key: Hashable, counts: ValueCounts) -> bool:
        size = counts.values.nbytes + counts.counts.nbytes
        if self._broken or self._bytes + size > self._limit:
            return False
        self.discard(key)
        self._written += 1
        path: Path | None = None
        try:
            path = self._directory() / f"{self._written}.npy"
            with path.open("wb") as handle:
                np.save(handle, np.ascontiguousarray(counts.values, dtype=np.float64), allow_pickle=False)
                np.save(handle, np.ascontiguousarray(counts.counts, dtype=np.int64), allow_pickle=False)
        except OSError:
            if path is not None:
                path.unlink(missing_ok=True)
            self._broken = True
            return False
        self._files[key] = (path, int(counts.missing), size)
        self._bytes += size
        return True

    def get(self, key: Hashable) -> ValueCounts | None:
        entry = self._files.get(key)
        if entry is None:
            return None
        path, missing, _ = entry
        try:
            with path.open("rb") as handle:
                values = np.load(handle, allow_pickle=False)
                counts = np.load(handle, allow_pickle=False)
        except (OSError, ValueError, EOFError):  # removed or cut short under the run (a temp cleaner): count again
            self.discard(key)
            return None
        return ValueCounts(values, counts, missing)

    def discard(self, key: Hashable) -> None:
        entry = self._files.pop(key, None)
        if entry is not None:
            entry[0].unlink(missing_ok=True)
            self._bytes -= entry[2]

    def clear(self) -> None:
        """Remove every file and the directory (spilling may start again after)."""
        self._files.clear()
        self._bytes = 0
        if self._finalizer is not None:
            self._finalizer()  # removes the directory once
        self._dir, self._finalizer = None, None

    def _directory(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="qaharness-counts-"))
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        return self._dir
