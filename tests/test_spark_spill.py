"""The Spark engine's value counts beyond ``KEEP_BYTES``: written to a private directory on local disk,
read back the same, removed with the run (``qaharness.spark._spill``)."""

from __future__ import annotations

import stat

import numpy as np
import pytest

from qaharness.spark._spill import CountSpill
from qaharness.summaries import ValueCounts


def _counts(n: int, seed: int = 0) -> ValueCounts:
    rng = np.random.default_rng(seed)
    values = np.unique(rng.standard_normal(n))
    return ValueCounts(values, rng.integers(1, 5, values.size), missing=seed + 1)


def test_put_then_get_gives_the_same_counts_from_a_private_directory():
    spill = CountSpill()
    first, second = _counts(1000), _counts(0, seed=3)  # an empty column too
    assert spill.put("a", first) and spill.put("b", second)
    assert "a" in spill and "c" not in spill and spill.get("c") is None
    assert spill.bytes == sum(c.values.nbytes + c.counts.nbytes for c in (first, second))
    for key, known in (("a", first), ("b", second)):
        back = spill.get(key)
        assert back is not None and back is not known
        assert np.array_equal(back.values, known.values) and back.values.dtype == np.float64
        assert np.array_equal(back.counts, known.counts) and back.counts.dtype == np.int64
        assert back.missing == known.missing and back.values.flags.writeable
    directory = spill._dir
    assert directory is not None and stat.S_IMODE(directory.stat().st_mode) == 0o700  # the user's alone
    spill.discard("a")
    assert "a" not in spill and spill.bytes == second.values.nbytes + second.counts.nbytes
    assert len(list(directory.iterdir())) == 1
    spill.clear()
    assert not directory.exists() and spill.bytes == 0 and spill.get("b") is None
    assert spill.put("a", first) and spill._dir != directory  # spilling starts again in a new directory
    spill.clear()


def test_put_refuses_past_its_limit():
    small = _counts(100)
    size = small.values.nbytes + small.counts.nbytes
    spill = CountSpill(limit=size)
    assert spill.put("a", small) and not spill.has_room
    assert not spill.put("b", small) and "b" not in spill
    spill.clear()
    assert spill.has_room


def test_a_failed_write_leaves_no_file_and_stops_spilling(tmp_path, monkeypatch):
    spill = CountSpill()
    monkeypatch.setattr(np, "save", _full_disk)
    assert not spill.put("a", _counts(100)) and "a" not in spill
    assert spill._dir is not None and not any(spill._dir.iterdir())  # the partial file removed
    monkeypatch.undo()
    assert not spill.has_room and not spill.put("b", _counts(100))  # counted again when asked again
    spill.clear()


def _full_disk(handle, array, allow_pickle=False):
    handle.write(b"\x93NUMPY partial")
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("damage", ["removed", "cut in the header", "cut after the values"])
def test_a_file_lost_under_the_run_is_forgotten_so_the_counts_are_counted_again(damage):
    spill = CountSpill()
    counts = _counts(100)
    spill.put("a", counts)
    path = next(spill._dir.iterdir())
    if damage == "removed":
        path.unlink()
    else:
        keep = 100 if damage == "cut in the header" else 128 + counts.values.nbytes  # a v1 .npy header is 128 bytes
        path.write_bytes(path.read_bytes()[:keep])
    assert spill.get("a") is None and "a" not in spill and spill.bytes == 0
    spill.clear()


def test_an_unreleased_spill_removes_its_directory_when_collected():
    spill = CountSpill()
    spill.put("a", _counts(10))
    directory = spill._dir
    del spill
    import gc

    gc.collect()
    assert directory is not None and not directory.exists()
