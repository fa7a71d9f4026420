"""``independent``: every column drawn from its own marginal, independently.

The privacy-max, utility-min baseline: it keeps each column's distribution (through
1,001 quantiles or category frequencies) and destroys every relation between columns.
A policy that passes this generator's output is not checking relations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._base import Capabilities, Generator, register_generator
from ._marginals import fit_marginal, inverse

__all__ = ["IndependentGenerator"]


@register_generator
class IndependentGenerator(Generator):
    """Column marginals sampled independently (numpy; no training loop)."""

    id = "independent"
    version = "1"
    description = "column marginals, sampled independently (baseline: max privacy, no relations)"
    capabilities = Capabilities(dp=False, conditional=True, gpu=False)

    def _fit(self, frame: pd.DataFrame, *, seed: int, budget, progress) -> dict[str, Any]:
        self.marginals_ = {c: fit_marginal(frame[c], d) for c, d in self.domains_.items() if d.kind != "identifier"}
        return {"rows": len(frame)}

    def _sample(self, n_rows: int, *, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        out = {}
        for column, domain in self.domains_.items():
            if domain.kind == "identifier":
                out[column] = pd.Series([None] * n_rows, dtype=object)
                continue
            u = rng.random(n_rows)
            missing_u = None if domain.discrete else rng.random(n_rows)
            out[column] = inverse(u, domain, self.marginals_[column], missing_u)
        return pd.DataFrame(out)

    def _sample_conditional(self, n_rows: int, seed: int, conditions: dict[str, str]) -> pd.DataFrame:
        frame = self._sample(n_rows, seed=seed)
        for column, value in conditions.items():  # columns are independent: conditioning is setting
            frame[column] = pd.Series([value] * n_rows, dtype=object)
        return frame

    def _state(self) -> dict[str, Any]:
        return {"marginals": self.marginals_}

    def _restore(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.marginals_ = state["marginals"]
