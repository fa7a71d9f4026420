"""The lock every run-store connection holds, from before ``duckdb.connect`` until after ``close``.

Why DuckDB's own file lock is not enough: DuckDB (2.0.0) reads a database file's headers through a
separate, unlocked open, then opens the file again and takes its lock, and does not read the headers again
once it holds it. A process whose connect overlaps another process's close therefore starts from the
headers as they were before that close's checkpoint; its own checkpoint then drops the rows the other
process had committed and been told were stored. Taking this lock first means no qaharness process reads
the headers while another may be writing them (``tests/test_store_lock.py``,
``benchmarks/stress_store.py``).

The lock is ``flock`` on a sibling file (``runs.duckdb.lock``, created on first use and never deleted):
exclusive for a write connection, shared for a read-only one. ``flock`` belongs to the open file, not the
process, so threads of one process (the dashboard's sessions) exclude each other too, and closing some
other descriptor of the store cannot release it (a POSIX ``fcntl`` lock is dropped by any close).
It covers qaharness processes only; another program holding the store is met by DuckDB's lock and retried.
A child forked while a connection is open shares that connection's lock until it exits.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["DENIED_ERRNOS", "StoreLocked", "lock_path", "store_lock"]

#: the errors of a folder or file this user may not write
DENIED_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


class StoreLocked(Exception):
    """Another connection holds the store's lock: retry later."""


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


@contextmanager
def store_lock(store: Path, *, shared: bool) -> Iterator[None]:
    """Hold the store's lock (``StoreLocked`` at once when another connection has it).

    A reader that cannot create the lock file (a read-only folder: nothing can be written there through
    qaharness) reads without it; a writer gets the ``PermissionError``/``OSError``.
    """
    try:
        fd = os.open(lock_path(store), os.O_RDONLY | os.O_CREAT, 0o666)
    except OSError as exc:
        if not (shared and exc.errno in DENIED_ERRNOS):
            raise
        fd = None
    if fd is None:
        yield
        return
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreLocked(str(lock_path(store))) from None
        yield
    finally:
        os.close(fd)  # releases the lock
