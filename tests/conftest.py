"""Shared fixtures. Every test gets its own QAHARNESS_HOME (store, keys, logs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("qaharness-home")
    monkeypatch.setenv("QAHARNESS_HOME", str(home))
    return home


def make_mixed_frame(n_rows: int, seed: int) -> pd.DataFrame:
    """A small mixed-type table with dependence between columns (numeric, categorical, boolean, datetime)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n_rows).astype(float)
    group = rng.choice(["a", "b", "c"], n_rows, p=[0.5, 0.3, 0.2])
    income = 1000 * age + rng.normal(0, 5000, n_rows) + np.where(group == "a", 10000, 0)
    flag = np.where(income > np.median(income), "yes", "no")
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n_rows), unit="D")
    label = np.where(income + rng.normal(0, 8000, n_rows) > np.median(income), ">50K", "<=50K")
    return pd.DataFrame({"age": age, "group": group, "income": income, "flag": flag, "day": day, "label": label})


@pytest.fixture
def mixed_frames():
    """(real, synthetic, holdout): independent draws from the same process."""
    return make_mixed_frame(300, 1), make_mixed_frame(300, 2), make_mixed_frame(200, 3)


def pytest_terminal_summary(terminalreporter):
    """Say where tests kept files worth looking at (the browser test's screenshots), also under xdist."""
    seen = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.getreports(outcome):
            seen += [value for key, value in getattr(report, "user_properties", []) if key == "screenshots"]
    for folder in dict.fromkeys(seen):
        terminalreporter.write_line(f"screenshots kept in {folder}")
