"""Type aliases shared across modules (one definition each)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

import pandas as pd

__all__ = ["Source", "PathLike", "MetricParamsMap"]

#: a table as callers hand it over: a path (or DuckDB query string) or a DataFrame
Source: TypeAlias = str | Path | pd.DataFrame
PathLike: TypeAlias = str | Path
#: metric id → that metric's parameters (validated by the metric's ``Params``)
MetricParamsMap: TypeAlias = dict[str, dict[str, object]]
