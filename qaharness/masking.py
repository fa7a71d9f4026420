"""Keep rare real values out of every output.

A category seen at most ``k`` times in the real data could identify a person; outputs
show it as ``rare#<mask>`` instead. The mask is the first 8 hex digits of an HMAC-SHA256 of
the value keyed by a secret kept in ``$QAHARNESS_HOME/mask.key`` (32 random bytes, mode 600,
made on first use): the same value gets the same mask in every table, run and report made
under one home, so a reviewer can match it across them, but without the secret nobody can
recover it by hashing a dictionary of likely values (job titles, ZIP codes) — an unkeyed hash
could be. Where the home cannot be written the secret lives for the process only (masks stay
stable within a run). Default k = 7, as in MOSTLY AI's QA reports.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import home

__all__ = [
    "RARE_K",
    "MASK_KEY_FILE",
    "mask_label",
    "mask_secret",
    "masked_value",
    "rare_values",
    "masked_counts",
    "mask_rows",
]

RARE_K = 7
MASK_KEY_FILE = "mask.key"
_SECRET_BYTES = 32


def mask_secret() -> bytes:
    """The masking secret of the current ``$QAHARNESS_HOME`` (created on first use)."""
    return _secret_for(str(home()))


@lru_cache(maxsize=8)
def _secret_for(folder: str) -> bytes:
    path = Path(folder) / MASK_KEY_FILE
    try:
        data = path.read_bytes()
        if len(data) >= _SECRET_BYTES:
            return data
    except OSError:
        pass
    fresh = secrets.token_bytes(_SECRET_BYTES)
    tmp = path.with_name(f".{MASK_KEY_FILE}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(tmp, flags, 0o600), "wb") as handle:
            handle.write(fresh)
        if path.exists():  # a short (damaged) key is replaced
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # complete when visible; fails if another process won
        return fresh
    except FileExistsError:  # another process made it meanwhile: use theirs
        data = path.read_bytes()
        return data if len(data) >= _SECRET_BYTES else fresh
    except OSError:  # a read-only home: masks stable within this process only
        return fresh
    finally:
        tmp.unlink(missing_ok=True)


def mask_label(value: object) -> str:
    """``rare#`` + 8 hex digits of HMAC-SHA256(home secret, str(value))."""
    digest = hmac.new(mask_secret(), str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:8]
    return f"rare#{digest}"


def masked_value(text: str, count: int, k: int = RARE_K) -> str:
    """``text`` as outputs may show it: itself when the real data holds it more than ``k`` times,
    else ``rare#<mask>`` (a real minimum or maximum is usually one row: masked)."""
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
