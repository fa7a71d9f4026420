"""KS and Wasserstein from value counts at table scale: the union-sorting construction against
``qaharness.stats`` (binary search of the shorter side), same inputs, same results.

    .venv/bin/python benchmarks/bench_counts.py [--long 10000000] [--short 2500000] [--repeat 3]

The shapes are the Spark engine's at 10M rows: a real column with ``--long`` distinct values against a
holdout draw whose ``--short`` distinct values are mostly the real ones (continuous columns: every
value distinct; ``--short 10000000`` is real against synthetic). Prints the best of ``--repeat`` wall
times, the peak of the temporaries each allocates (``tracemalloc``, which sees NumPy's buffers), and
checks the two agree: the same floats for the alignment and KS, to 1e-12 for W1 (summed in pieces of
``stats.UNION_CHUNK`` values: the order of the sum differs).
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from qaharness.stats import align_counts, ks_from_counts, wasserstein_from_counts


def union_align(a_values, a_counts, b_values, b_counts):
    """The construction before: sort the union, place each side's counts by binary search."""
    values = np.union1d(a_values, b_values)
    ca, cb = np.zeros(values.size, dtype=np.int64), np.zeros(values.size, dtype=np.int64)
    ca[np.searchsorted(values, a_values)] = a_counts
    cb[np.searchsorted(values, b_values)] = b_counts
    return values, ca, cb


def union_ks(*pairs):
    _, ca, cb = union_align(*pairs)
    return float(np.max(np.abs(np.cumsum(ca) / ca.sum() - np.cumsum(cb) / cb.sum())))


def union_wasserstein(*pairs):
    values, ca, cb = union_align(*pairs)
    cdf_a, cdf_b = np.cumsum(ca) / ca.sum(), np.cumsum(cb) / cb.sum()
    return float(np.sum(np.abs(cdf_a[:-1] - cdf_b[:-1]) * np.diff(values)))


def best(fn, args, repeat):
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - started)
    return min(times), out


def peak_mib(fn, args) -> float:
    """The most memory ``fn(*args)`` holds at once beyond its inputs, in MiB."""
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def agree(old, new) -> bool:
    if isinstance(old, tuple):
        return all(np.array_equal(x, y) for x, y in zip(old, new))
    return bool(old == new or abs(old - new) <= 1e-12 * abs(old))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", type=int, default=10_000_000)
    parser.add_argument("--short", type=int, default=2_500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    a_values = np.unique(rng.normal(size=args.long))
    a_counts = np.ones(a_values.size, dtype=np.int64)
    b_values = np.unique(np.concatenate([rng.choice(a_values, args.short - 1000), rng.normal(size=1000)]))
    b_counts = rng.integers(1, 4, b_values.size)
    pairs = (a_values, a_counts, b_values, b_counts)
    load = os.getloadavg()[0]
    print(f"{a_values.size:,} × {b_values.size:,} distinct values; {os.cpu_count()} cores, load {load:.1f}")
    for name, old, new in (
        ("align_counts", union_align, align_counts),
        ("ks_from_counts", union_ks, ks_from_counts),
        ("wasserstein_from_counts", union_wasserstein, wasserstein_from_counts),
    ):
        t_old, v_old = best(old, pairs, args.repeat)
        t_new, v_new = best(new, pairs, args.repeat)
        m_old, m_new = peak_mib(old, pairs), peak_mib(new, pairs)
        print(
            f"{name:24s} union {t_old:6.2f} s {m_old:6.0f} MiB   qaharness {t_new:6.2f} s {m_new:6.0f} MiB"
            f"   ×{t_old / t_new:4.1f}   agree: {agree(v_old, v_new)}"
        )


if __name__ == "__main__":
    main()
