"""Shared fixtures. Every test gets its own QAHARNESS_HOME (store, keys, logs)."""

from __future__ import annotations

import pytest

from qaharness.testing.metrics import mixed_frame as make_mixed_frame

__all__ = ["make_mixed_frame"]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("qaharness-home")
    monkeypatch.setenv("QAHARNESS_HOME", str(home))
    return home


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
