"""Seeded mixed-type tables for benchmarks (numeric, categorical, boolean, datetime; with dependence)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mixed_table(n_rows: int, n_columns: int, seed: int) -> pd.DataFrame:
    """``n_columns`` columns cycling numeric / categorical / boolean / datetime, correlated via a latent."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n_rows)
    columns = {}
    for i in range(n_columns):
        noise = rng.normal(size=n_rows)
        signal = 0.6 * latent + 0.8 * noise
        kind = i % 4
        if kind == 0:
            values = signal * (i + 1) * 10 + 100
            values[rng.random(n_rows) < 0.02] = np.nan
            columns[f"num_{i}"] = values
        elif kind == 1:
            levels = np.array([f"cat{j}" for j in range(3 + i % 12)])
            bins = np.quantile(signal, np.linspace(0, 1, len(levels) + 1)[1:-1])
            columns[f"cat_{i}"] = levels[np.searchsorted(bins, signal)]
        elif kind == 2:
            columns[f"bool_{i}"] = np.where(signal > 0, "yes", "no")
        else:
            columns[f"date_{i}"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(
                (signal * 100 + 500).astype(int), unit="D"
            )
    return pd.DataFrame(columns)
