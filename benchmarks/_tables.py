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


def derived_table(n_rows: int, n_columns: int, seed: int) -> pd.DataFrame:
    """``mixed_table`` plus columns computed from others, the way data teams encode rules: an age and
    its band, spend and a high-value flag (threshold), country → region (lookup), a product code and
    its name (1:1), and a price fixed by (product, size) — a pair determining a column."""
    rng = np.random.default_rng(seed)
    base = mixed_table(n_rows, max(n_columns - 10, 1), seed)
    age = rng.integers(18, 91, n_rows).astype(float)
    spend = np.round(rng.lognormal(6, 1.2, n_rows), 2)
    countries = np.array(["DE", "FR", "NL", "US", "CA", "MX", "JP", "KR", "IN", "BR"])
    regions = np.array(["EMEA", "EMEA", "EMEA", "AMER", "AMER", "AMER", "APAC", "APAC", "APAC", "AMER"])
    country = rng.integers(0, countries.size, n_rows)
    product = rng.integers(0, 12, n_rows)
    size = rng.choice(np.array(["S", "M", "L"]), n_rows)
    price = 10.0 + 5 * product + np.select([size == "S", size == "M"], [0.0, 2.5], 5.0)
    derived = pd.DataFrame(
        {
            "age": age,
            "age_band": pd.cut(age, [17, 24, 34, 44, 54, 64, 200], labels=False).astype(int).astype(str),
            "spend_90d": spend,
            "is_high_value": np.where(spend >= 1000, "yes", "no"),
            "country": countries[country],
            "region": regions[country],
            "product_code": product.astype(float),
            "product": np.array([f"product-{j:02d}" for j in range(12)])[product],
            "size": size,
            "price": price,
        }
    )
    return pd.concat([base, derived], axis=1)
