"""Bundled demo data: UCI Adult (Kohavi & Becker, 1996; CC BY 4.0). See data/ADULT_SOURCE.md."""

from __future__ import annotations

from importlib.resources import as_file, files

import numpy as np
import pandas as pd

__all__ = ["load_adult", "split_holdout", "ADULT_TARGET", "ADULT_ATTRIBUTION"]

ADULT_TARGET = "income"
ADULT_ATTRIBUTION = (
    "UCI Adult (census income), Becker & Kohavi 1996, UCI Machine Learning Repository, "
    "CC BY 4.0, https://doi.org/10.24432/C5XW20"
)


def load_adult() -> pd.DataFrame:
    """The 48,842 rows of adult.data + adult.test; unknowns ('?') are missing values."""
    with as_file(files("qaharness") / "data" / "adult.csv.gz") as path:
        return pd.read_csv(path, na_values=[""], keep_default_na=False)


def split_holdout(
    frame: pd.DataFrame, holdout_share: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random split into (train, holdout); rows are kept in their original order."""
    order = rng.permutation(len(frame))
    n_holdout = round(len(frame) * holdout_share)
    holdout_idx, train_idx = np.sort(order[:n_holdout]), np.sort(order[n_holdout:])
    return frame.iloc[train_idx].reset_index(drop=True), frame.iloc[holdout_idx].reset_index(drop=True)
