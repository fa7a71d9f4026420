"""``gaussian_copula``: marginals joined by a Gaussian copula (the statistical baseline).

Each column is mapped to normal scores through its empirical CDF (discrete columns:
a uniform draw inside the category's CDF interval, categories ordered by frequency);
the correlation matrix of the scores is the copula. Sampling draws correlated normals
and maps them back through the marginals. Captures pairwise (monotone) relations only.
Reference: Patki, Wedge & Veeramachaneni, "The Synthetic Data Vault" (2016).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from qaharness.errors import GeneratorError

from ._base import Capabilities, Generator, register_generator
from ._domain import to_float
from ._marginals import fit_marginal, inverse, probabilities

__all__ = ["GaussianCopulaGenerator"]

_EPS = 1e-6


@register_generator
class GaussianCopulaGenerator(Generator):
    """Empirical marginals + Gaussian copula (numpy/scipy; no training loop)."""

    id = "gaussian_copula"
    version = "1"
    description = "empirical marginals joined by a Gaussian copula (statistical baseline)"
    capabilities = Capabilities(dp=False, conditional=False, gpu=False)

    def _fit(self, frame: pd.DataFrame, *, seed: int, budget, progress) -> dict[str, Any]:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
        self.columns_ = [c for c, d in self.domains_.items() if d.kind != "identifier"]
        self.marginals_ = {c: fit_marginal(frame[c], self.domains_[c]) for c in self.columns_}
        if not self.columns_:
            raise GeneratorError("no column to model (identifiers only)", generator=self.id)
        scores = np.column_stack([self._normal_scores(frame[c], c, rng) for c in self.columns_])
        with np.errstate(invalid="ignore", divide="ignore"):  # constant columns: NaN, zeroed below
            corr = np.corrcoef(scores, rowvar=False) if len(self.columns_) > 1 else np.ones((1, 1))
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        values, vectors = np.linalg.eigh(corr)
        corr = (vectors * np.maximum(values, 1e-6)) @ vectors.T
        d = np.sqrt(np.diag(corr))
        self.correlation_ = corr / np.outer(d, d)
        return {"rows": len(frame)}

    def _normal_scores(self, series: pd.Series, column: str, rng: np.random.Generator) -> np.ndarray:
        domain = self.domains_[column]
        if domain.discrete:
            probs = probabilities(domain)
            lookup = {c: i for i, c in enumerate(domain.categories)}
            index = np.array([lookup.get(None if v is None or v != v else str(v), 0) for v in series], dtype=int)
            upper = np.cumsum(probs)
            lower = upper - probs
            u = lower[index] + probs[index] * rng.random(len(series))
        else:
            x = to_float(series, domain.kind)
            present = ~np.isnan(x)
            u = np.full(len(x), 0.5)
            if present.any():
                u[present] = (rankdata(x[present]) - 0.5) / present.sum()
        return ndtri(np.clip(u, _EPS, 1 - _EPS))

    def _sample(self, n_rows: int, *, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
        chol = np.linalg.cholesky(self.correlation_)
        z = rng.standard_normal((n_rows, len(self.columns_))) @ chol.T
        u = ndtr(z)
        missing_u = rng.random((n_rows, len(self.columns_)))
        out = {
            c: inverse(u[:, i], self.domains_[c], self.marginals_[c], missing_u[:, i])
            for i, c in enumerate(self.columns_)
        }
        for column in self.domains_:
            out.setdefault(column, pd.Series([None] * n_rows, dtype=object))
        return pd.DataFrame(out)[list(self.domains_)]

    def _state(self) -> dict[str, Any]:
        return {"columns": self.columns_, "marginals": self.marginals_, "correlation": self.correlation_.tolist()}

    def _restore(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.columns_ = state["columns"]
        self.marginals_ = state["marginals"]
        self.correlation_ = np.asarray(state["correlation"], dtype=float)
