"""Keep rare real values out of every output.

A category seen at most ``k`` times in the real data could identify a person; outputs
show it as ``rare#<hash>`` instead (the hash lets a reviewer match it across tables
without revealing it). Default k = 7, as in MOSTLY AI's QA reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["RARE_K", "mask_label", "masked_value", "rare_values", "masked_counts", "mask_rows"]

RARE_K = 7


def mask_label(value: object) -> str:
    digest = hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:8]
    return f"rare#{digest}"


def masked_value(text: str, count: int, k: int = RARE_K) -> str:
    """``text`` as outputs may show it: itself when the real data holds it more than ``k`` times,
    else ``rare#<hash>`` (a real minimum or maximum is usually one row: masked)."""
    return text if count > k else mask_label(text)


def rare_values(real: pd.Series, k: int = RARE_K) -> set[str]:
    """Values of ``real`` seen at most ``k`` times (as strings)."""
    counts = real.value_counts(dropna=True)  # count first, stringify the few distinct values after
    return {str(v) for v, n in counts.items() if n <= k}


def masked_counts(
    real: pd.Series, others: Iterable[pd.Series] = (), *, k: int = RARE_K, top: int = 20
) -> dict[str, list]:
    """Top-``top`` category shares of ``real`` and each other series, rare real values masked."""
    rare = rare_values(real, k)

    def shares(series: pd.Series) -> pd.Series:
        counts = series.value_counts(dropna=False)  # count first, relabel the few distinct values after
        labels = ["(missing)" if pd.isna(v) else (mask_label(v) if str(v) in rare else str(v)) for v in counts.index]
        grouped = pd.Series(counts.to_numpy(), index=labels).groupby(level=0, sort=False).sum()
        return (grouped / max(len(series), 1)).sort_values(ascending=False, kind="stable")

    real_share = shares(real)
    order = list(real_share.index[:top])
    out = {"categories": order, "real": [float(real_share.get(c, 0.0)) for c in order]}
    for i, other in enumerate(others):
        share = shares(other)
        out[f"other_{i}"] = [float(share.get(c, 0.0)) for c in order]
    return out


def mask_rows(synthetic: pd.DataFrame, real: pd.DataFrame, kinds: Mapping[str, str], k: int = RARE_K) -> pd.DataFrame:
    """``synthetic`` as text for display (``qaharness generate --preview``), rare real values masked.

    Per column kind (``kinds``: column → kind name): categorical, boolean and text values are shown
    when the real data holds them more than ``k`` times; identifiers only when the real data never
    holds them (a generator's surrogate); numbers and dates unless they fall in a tail where at most
    ``k`` real rows lie (below the (k+1)-th smallest or above the (k+1)-th largest real value).
    Everything else becomes ``rare#<hash>``; missing values are empty.
    """
    out = {}
    for column in synthetic.columns:
        values, kind = synthetic[column], kinds.get(str(column), "categorical")
        reference = real[column] if column in real.columns else pd.Series(dtype=object)
        text = values.astype(object).where(values.notna(), None).map(lambda v: "" if v is None else str(v))
        if kind in ("numeric", "datetime"):
            keep = _inside_tails(values, reference, k)
        else:
            counts = reference.dropna().astype(str).value_counts()
            held = text.map(counts).fillna(0).to_numpy()
            keep = held == 0 if kind == "identifier" else held > k
        keep = keep | values.isna().to_numpy()
        out[column] = np.where(keep, text.to_numpy(), [mask_label(v) for v in text])
    return pd.DataFrame(out, index=synthetic.index)


def _inside_tails(values: pd.Series, reference: pd.Series, k: int) -> np.ndarray:
    """True where a value lies between the (k+1)-th smallest and (k+1)-th largest reference value."""
    known = reference.dropna()
    if len(known) <= 2 * k:
        return np.zeros(len(values), dtype=bool)
    try:
        ordered = np.sort(known.to_numpy())
        low, high = ordered[k], ordered[-k - 1]
        return ((values >= low) & (values <= high)).fillna(False).to_numpy(dtype=bool)
    except TypeError:  # values of another type than the real column's: show none of them
        return np.zeros(len(values), dtype=bool)
