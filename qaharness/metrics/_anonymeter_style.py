"""The anonymeter method (Giomi et al., PoPETs 2023), shared by the singling-out, linkability and
attribute-inference metrics.

Every attack runs three times: the *main* attack on training rows (what the generator saw), the
*control* attack on holdout rows (what it never saw) and a *random* baseline. Success rates are
Wilson estimates; the risk is the excess of main over control, normalised by what is left to win:
``risk = (main − control) / (1 − control)``, its error propagated from the two Wilson errors and the
result clipped to [0, 1] — the same arithmetic as ``anonymeter.stats.confidence``.
This module holds those statistics, the input preparation the three metrics share, and the small
pieces of the linkability and inference attacks (links, guess scoring); the nearest-neighbour
search is ``_nn.knn`` and the singling-out query engine ``_singling_out``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from ..inputs import EvalInput
from ..stats import Z95
from ._base import MetricDetails

__all__ = [
    "AttackCounts",
    "success_rate",
    "residual_risk",
    "residual",
    "clip_risk",
    "attack_columns",
    "dedupe_rows",
    "DEFAULT_ATTACKS",
    "AttackDetails",
]

DEFAULT_ATTACKS = 2000


def success_rate(n_success: float, n_total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson point estimate and error bound of a success rate (anonymeter's ``success_rate``)."""
    if n_total <= 0:
        raise ValueError("a success rate needs at least one attack")
    variance = n_success * (n_total - n_success) / n_total
    denominator = n_total + z * z
    rate = (n_success + 0.5 * z * z) / denominator
    error = (z / denominator) * math.sqrt(max(variance, 0.0) + 0.25 * z * z)
    return rate, error


def residual(main: tuple[float, float], control: tuple[float, float]) -> tuple[float, float] | None:
    """(main − control) / (1 − control) and its propagated error bound, unclipped; None when the
    control attack always wins (nothing left to measure)."""
    (m, dm), (c, dc) = main, control
    if c >= 1.0:
        return None
    return (m - c) / (1.0 - c), math.hypot(dm / abs(1.0 - c), dc * (m - 1.0) / (1.0 - c) ** 2)


def residual_risk(main: tuple[float, float], control: tuple[float, float]) -> tuple[float, tuple[float, float]]:
    """(main − control) / (1 − control) with propagated error, clipped to [0, 1]: (value, ci)."""
    found = residual(main, control)
    if found is None:
        return 0.0, (0.0, 1.0)
    value, error = found
    return clip_risk(value), (clip_risk(value - error), clip_risk(value + error))


def clip_risk(x: float) -> float:
    return min(max(x, 0.0), 1.0)


@dataclass(frozen=True)
class AttackCounts:
    """Successes and attack counts of the main, control and baseline attacks."""

    main: float
    n_main: int
    control: float
    n_control: int
    baseline: float
    n_baseline: int

    def risk(self) -> tuple[float, tuple[float, float]]:
        return residual_risk(success_rate(self.main, self.n_main), success_rate(self.control, self.n_control))

    def residual(self, z: float = Z95) -> tuple[float, float] | None:
        """The unclipped risk (from the 95% Wilson rates, as ``risk``) and its error bound scaled to ``z``."""
        found = residual(success_rate(self.main, self.n_main), success_rate(self.control, self.n_control))
        return None if found is None else (found[0], found[1] * z / Z95)

    def details(self) -> dict[str, Any]:
        value, ci = self.risk()
        out: dict[str, Any] = {"risk": value, "risk_ci": list(ci)}
        for name in ("main", "control", "baseline"):
            successes, total = getattr(self, name), getattr(self, f"n_{name}")
            rate, error = success_rate(successes, total)
            out[f"{name}_rate"] = rate
            out[f"{name}_rate_ci"] = [max(0.0, rate - error), min(1.0, rate + error)]
            out[f"{name}_successes"] = float(successes)
            out[f"{name}_attacks"] = int(total)
        out["attack_beats_baseline"] = bool(out["main_rate"] > out["baseline_rate"])
        return out


class AttackDetails(MetricDetails):
    """The rates every anonymeter-style attack reports (``AttackCounts.details``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    risk: float = Field(ge=0, le=1, description="(main − control) / (1 − control), clipped to [0, 1]")
    risk_ci: tuple[float, float] = Field(description="95% interval of risk (Wilson errors propagated)")
    main_rate: float = Field(ge=0, le=1, description="Wilson success rate of the attack on training rows")
    main_rate_ci: tuple[float, float] = Field(description="95% interval of main_rate")
    main_successes: float = Field(ge=0, description="successful attacks on training rows")
    main_attacks: int = Field(ge=1, description="attacks on training rows")
    control_rate: float = Field(ge=0, le=1, description="Wilson success rate of the attack on holdout rows")
    control_rate_ci: tuple[float, float] = Field(description="95% interval of control_rate")
    control_successes: float = Field(ge=0, description="successful attacks on holdout rows (size-corrected)")
    control_attacks: int = Field(ge=1, description="attacks on holdout rows")
    baseline_rate: float = Field(ge=0, le=1, description="Wilson success rate of random guesses")
    baseline_rate_ci: tuple[float, float] = Field(description="95% interval of baseline_rate")
    baseline_successes: float = Field(ge=0, description="successful random guesses")
    baseline_attacks: int = Field(ge=1, description="random guesses")
    attack_beats_baseline: bool = Field(description="main_rate above baseline_rate")


def attack_columns(data: EvalInput, requested: Any = None, *, option: str = "columns") -> list[str]:
    """Distribution columns the attacker uses (identifiers and free text are left out)."""
    usable = data.columns()
    if requested is None:
        return usable
    unknown = [c for c in requested if c not in usable]
    if unknown:
        from ..errors import BadInputError

        raise BadInputError(
            f"{option} names {', '.join(map(str, unknown))}, not a usable column; usable: {', '.join(usable)}",
            source=option,
            column=str(unknown[0]),
        )
    return list(requested)


def dedupe_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows of ``frame`` over ``columns`` with exact duplicates dropped (anonymeter drops them too)."""
    hashes = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    _, first = np.unique(hashes, return_index=True)
    return frame.iloc[np.sort(first)][columns].reset_index(drop=True)


# -- linkability and attribute inference: nearest synthetic neighbours of attacked rows ----------


def attack_targets(data: EvalInput, n_attacks: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the training rows (main attack) and holdout rows (control attack) attacked,
    ``n_attacks`` of each at most, drawn from every training and holdout row."""
    from ._nn import sample_indices

    assert data.holdout is not None
    return sample_indices(len(data.real), n_attacks, rng), sample_indices(len(data.holdout), n_attacks, rng)


def count_links(idx_a: np.ndarray, idx_b: np.ndarray) -> np.ndarray:
    """Per attacked row: do the two halves share one of their nearest synthetic rows?"""
    return (idx_a[:, :, None] == idx_b[:, None, :]).any(axis=(1, 2))


def guesses_correct(guesses: pd.Series, secrets: pd.Series, regression: bool, tolerance: float = 0.05) -> np.ndarray:
    """anonymeter's rule: a category must match; a number within ``tolerance`` of the guess, relative
    to |guess|; a missing guess for a missing secret counts as correct."""
    g = guesses.to_numpy()
    s = secrets.to_numpy()
    missing = pd.isna(g) & pd.isna(s)
    if regression:
        g, s = g.astype(float), s.astype(float)
        with np.errstate(invalid="ignore"):
            hit = np.abs(g - s) <= tolerance * (np.abs(g) + 1e-12)
    else:
        hit = np.array([a == b for a, b in zip(g, s)], dtype=bool) if g.dtype == object else g == s
    return np.asarray(hit, dtype=bool) | missing
