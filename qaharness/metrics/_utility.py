"""Shared machinery of the utility pillar: the task, the encoding, the fitted models.

The five ``utility.*`` metrics ask different questions of the same few models, so the
models are fitted once per ``EvalInput`` and kept in the run's ``RunContext``:

* **Task** — from ``data.task`` (binary | multiclass | regression | classification) or,
  when unset, from the target column: categorical/boolean → classification (binary for
  two classes in real, else multiclass); numeric → regression, unless every value is an
  integer and there are at most ``MAX_INTEGER_CLASSES`` distinct ones (→ classification);
  more than ``MAX_CLASSES`` classes is an error.
  Classes are those of the real target; rows whose target is missing, or a class real
  never has, are left out of training and testing (counted in ``details.rows_dropped``
  and named in the run's notes).
* **Features** — every distribution column except the target (identifiers and free text
  are left out). Categories are fitted on the union of real, synthetic and holdout (the
  ``MAX_CATEGORIES - 1`` most frequent, the rest pooled), so a code means the same
  category in every table; datetimes become seconds; missing stays missing (NaN).
* **Training rows** — the synthetic model learns from every synthetic row; the real model
  from a real sample of the synthetic table's size (stratified by class; every real row
  when synthetic is as large), so TRTR is the score a perfect generator of that many rows
  reaches and a small honest extract is not judged against a model trained on more data.
* **Models** — XGBoost (``xgb.train``, hist trees, fixed hyperparameters in ``XGB_PARAMS``,
  no row or column subsampling, so a fit does not depend on any seed) and a simple
  linear model (logistic regression / ridge regression on standardised numerics and
  one-hot categories, fitted on at most ``LINEAR_MAX_ROWS`` rows).
* **Seeds** — everything that is random in the *shared* fits (the real sample, the linear
  model's row sample, the permutation-importance holdout sample and permutations) draws from
  ``model_seed`` (metric parameter, default 0), not from the metric's own ``rng``: the
  engine gives every metric a different rng, and the five metrics must see the same
  models. The metric's rng drives only its own bootstrap interval. Same inputs and
  seeds → identical numbers.
* **Sharing** — the fit lives in the run's ``RunContext`` (owned by the engine, dropped with
  the run), keyed by the input and the fit settings (``UtilityParams.fit_settings``): metrics
  given the same settings share one fit; different settings get their own. No module-level cache.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from pydantic import Field
from scipy import sparse
from sklearn.linear_model import LogisticRegression, Ridge

from qaharness.errors import NumericalError, UtilityError

from ..inputs import EvalInput
from ..masking import mask_label, rare_values
from ..schema import ColumnKind
from ._base import MetricParams, RunContext
from ._utility_scores import HEADLINE, Score, all_scores, prepared_scores

__all__ = [
    "UtilityError",
    "UtilityFit",
    "get_fit",
    "UtilityParams",
    "TASKS",
    "XGB_PARAMS",
    "matched_rows",
]

TASKS = ("binary", "multiclass", "regression", "classification")
MAX_INTEGER_CLASSES = 10
MAX_CLASSES = 100
MAX_CATEGORIES = 250
LINEAR_MAX_CATEGORIES = 30
LINEAR_MAX_ROWS = 5_000
XGB_PARAMS: dict[str, Any] = {
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.1,
    "min_child_weight": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "max_bin": 256,
    "lambda": 1.0,
}
XGB_ROUNDS = 200
N_JOBS = 2
#: below this many training rows XGBoost runs on one thread: on a busy 2-core machine
#: OpenMP's thread barriers made a 300-row fit 100x slower with 2 threads than with 1
SINGLE_THREAD_ROWS = 20_000
TRAIN_SIDES = ("real", "synthetic")
FLOAT32_MAX = float(np.finfo(np.float32).max)


# -- task -------------------------------------------------------------------------------
def resolve_task(data: EvalInput) -> tuple[str, list | None]:
    """(task, classes of the real target or None for regression)."""
    target = data.target
    kind = data.schema[target]
    requested = (data.task or "").strip().lower() or None
    if requested not in (None, *TASKS):
        raise UtilityError(f"--task {data.task!r} is unknown; use one of: {', '.join(TASKS)}")
    if kind in (ColumnKind.TEXT, ColumnKind.IDENTIFIER, ColumnKind.DATETIME):
        raise UtilityError(
            f"target {target!r} is a {kind.value} column; utility needs a categorical, boolean or numeric target"
        )
    values = data.real[target].dropna()
    if values.empty:
        raise UtilityError(f"target {target!r} is all missing in real")
    if requested == "regression" and kind is not ColumnKind.NUMERIC:
        raise UtilityError(f"--task regression needs a numeric target; {target!r} is {kind.value}")
    if requested is None:
        requested = "classification"
        if kind is ColumnKind.NUMERIC:
            integral = bool(np.all(np.mod(values.to_numpy(float), 1) == 0))
            if not (integral and values.nunique() <= MAX_INTEGER_CLASSES):
                requested = "regression"
    if requested == "regression":
        return "regression", None
    classes = sorted(values.unique().tolist())
    if len(classes) < 2:
        raise UtilityError(f"the real target {target!r} has a single class; nothing to classify")
    if len(classes) > MAX_CLASSES:
        raise UtilityError(
            f"the real target {target!r} has {len(classes)} classes (at most {MAX_CLASSES} are "
            "modelled); for a numeric target pass --task regression"
        )
    if requested == "binary" and len(classes) > 2:
        raise UtilityError(f"--task binary, but the real target {target!r} has {len(classes)} classes")
    task = "binary" if requested == "binary" or (requested == "classification" and len(classes) == 2) else "multiclass"
    return task, classes


# -- encoding ---------------------------------------------------------------------------
class _Encoder:
    """Column encodings fitted once on the union of the three tables."""

    def __init__(self, data: EvalInput, frames: dict[str, pd.DataFrame]):
        self.features = [c for c in data.columns() if c != data.target]
        self.kinds = {c: data.schema[c] for c in self.features}
        self.categories: dict[str, pd.Index] = {}
        self.scales: dict[str, tuple[float, float]] = {}
        for column in self.features:
            if self._numeric(column):
                values = _as_float(frames["real"][column])
                finite = values[~np.isnan(values)]
                mean, std = (float(finite.mean()), float(finite.std())) if finite.size else (0.0, 1.0)
                self.scales[column] = (mean, std if std > 0 else 1.0)
            else:
                union = pd.concat([f[column] for f in frames.values()], ignore_index=True)
                self.categories[column] = pd.Index(union.value_counts(dropna=True).index[: MAX_CATEGORIES - 1])

    def _numeric(self, column: str) -> bool:
        return self.kinds[column] in (ColumnKind.NUMERIC, ColumnKind.DATETIME)

    @property
    def feature_types(self) -> list[str]:
        return ["q" if self._numeric(c) else "c" for c in self.features]

    def codes(self, series: pd.Series, column: str) -> np.ndarray:
        keep = self.categories[column]
        missing = series.isna().to_numpy()
        codes = keep.get_indexer(series.to_numpy()).astype(np.float32)
        codes[codes < 0] = len(keep)  # pooled "other" ...
        codes[missing] = np.nan  # ... unless missing
        return codes

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Float32 matrix for XGBoost: numerics as is, categories as codes, NaN missing.

        A numeric value beyond float32's range (which XGBoost computes in) is a ``NumericalError``
        naming the column, not an infinite feature.
        """
        out = np.empty((len(frame), len(self.features)), dtype=np.float32)
        for j, column in enumerate(self.features):
            if self._numeric(column):
                values = _as_float(frame[column])
                if np.nanmax(np.abs(values), initial=0.0) > FLOAT32_MAX:
                    raise NumericalError(
                        f"column {column!r} has values beyond the float32 range the models compute in; "
                        "rescale the column (e.g. to other units)",
                        column=column,
                    )
                out[:, j] = values
            else:
                out[:, j] = self.codes(frame[column], column)
        return out

    def linear(self, matrix: np.ndarray) -> sparse.csr_matrix:
        """Design matrix for the linear model, from ``matrix()``'s output."""
        blocks = []
        for j, column in enumerate(self.features):
            x = matrix[:, j].astype(float)
            missing = np.isnan(x)
            if self._numeric(column):
                mean, std = self.scales[column]
                blocks.append(
                    sparse.csr_matrix(
                        np.column_stack([np.where(missing, 0.0, (x - mean) / std), missing.astype(float)])
                    )
                )
            else:
                top = min(LINEAR_MAX_CATEGORIES, len(self.categories[column]) + 1)
                code = np.where(missing | (x >= top), top, x).astype(np.int64)  # top = "other/missing"
                blocks.append(sparse.csr_matrix((np.ones(x.size), (np.arange(x.size), code)), shape=(x.size, top + 1)))
        return sparse.hstack(blocks, format="csr")


def _as_float(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = series.astype("int64").to_numpy(dtype=float) / 1e9
        out[series.isna().to_numpy()] = np.nan
        return out
    return series.to_numpy(dtype=float)


# -- the fitted models ------------------------------------------------------------------
def matched_rows(y: np.ndarray, size: int, seed: int, classification: bool) -> np.ndarray | None:
    """Indices of a sample of ``size`` rows of ``y`` (None when ``size`` covers every row).

    Classification samples each class in proportion, with at least one row of every class, so the
    size-matched real model sees every class the real data has.
    """
    n = y.size
    if size >= n:
        return None
    rng = np.random.default_rng([seed, 3])
    size = max(size, 2)
    if not classification:
        return np.sort(rng.choice(n, size, replace=False))
    classes, counts = np.unique(y, return_counts=True)
    exact = size * counts / n
    quota = np.minimum(np.maximum(np.floor(exact).astype(int), 1), counts)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable"):  # largest remainders first
        if quota.sum() >= size:
            break
        quota[i] += int(quota[i] < counts[i])
    picks = [rng.choice(np.flatnonzero(y == c), q, replace=False) for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picks))


class UtilityFit:
    """Models and predictions for one ``EvalInput``; computed lazily, each at most once."""

    def __init__(self, data: EvalInput, params: dict[str, Any]):
        self.target = data.target
        self.task, self.classes = resolve_task(data)
        self.k = len(self.classes) if self.classes else 0
        self.model_seed = int(params["model_seed"])
        self.rounds = int(params["n_estimators"])
        self.n_jobs = int(params["n_jobs"])
        frames = {"real": data.real, "synthetic": data.synthetic, "holdout": data.holdout}
        self.encoder = _Encoder(data, frames)
        if not self.encoder.features:
            raise UtilityError(f"no feature column besides the target {self.target!r}")
        self.y: dict[str, np.ndarray] = {}
        self.x: dict[str, np.ndarray] = {}
        self.rows_dropped: dict[str, int] = {}
        self.dropped_why: dict[str, dict[str, int]] = {}
        for name, frame in frames.items():
            y, keep, unknown = self._encode_target(frame[self.target])
            self.y[name] = y
            self.x[name] = self.encoder.matrix(frame.loc[keep] if not keep.all() else frame)
            self.rows_dropped[name] = int((~keep).sum())
            self.dropped_why[name] = {"missing": int((~keep).sum()) - unknown, "unknown_class": unknown}
        #: training rows of each side's models: the real model learns from as many real rows as
        #: synthetic has (a real sample of that size, stratified by class), so the baseline it sets
        #: is what a perfect generator of that many rows reaches; None = every row
        self.train_rows: dict[str, np.ndarray | None] = {
            "real": matched_rows(self.y["real"], self.y["synthetic"].size, self.model_seed, bool(self.classes)),
            "synthetic": None,
        }
        self._rare = rare_values(data.real[self.target]) if self.classes else set()
        self._cache: dict[tuple, Any] = {}

    def _encode_target(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
        """(codes or values of the usable rows, which rows are usable, rows with a class real lacks)."""
        if self.task == "regression":
            keep = series.notna().to_numpy()
            return series.to_numpy(float)[keep], keep, 0
        codes = pd.Index(self.classes).get_indexer(series.astype(object).where(series.notna(), None))
        keep = codes >= 0
        return codes[keep].astype(np.int64), keep, int((~keep & series.notna().to_numpy()).sum())

    def training(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """(features, target) the ``side`` model is fitted on."""
        rows = self.train_rows.get(side)
        return (self.x[side], self.y[side]) if rows is None else (self.x[side][rows], self.y[side][rows])

    def n_train(self, side: str) -> int:
        return int(self.training(side)[1].size)

    def _once(self, key: tuple, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # labels, safe for outputs ------------------------------------------------------------
    def label(self, code: int) -> str:
        assert self.classes is not None, "labels exist for classification only"
        value = self.classes[code]
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        return mask_label(value) if str(value) in self._rare or text in self._rare else text

    def missing_classes(self, side: str) -> list[str]:
        if not self.classes:
            return []
        present = np.bincount(self.y[side], minlength=self.k) > 0
        return [self.label(i) for i in range(self.k) if not present[i]]

    def check_trainable(self, side: str) -> None:
        y = self.training(side)[1]
        if y.size < 2:
            raise UtilityError(f"the {side} table has {y.size} row(s) with a usable target; can't train")
        if self.classes and np.unique(y).size < 2:
            only = self.label(int(y[0]))
            raise UtilityError(
                f"the {side} target {self.target!r} has a single class ({only}); a classifier can't be trained on it"
            )
        if self.task == "regression" and np.ptp(y) == 0:
            raise UtilityError(f"the {side} target {self.target!r} is constant; a regressor can't learn from it")

    def check_testable(self, side: str) -> None:
        y = self.y[side]
        if y.size < 2:
            raise UtilityError(f"the {side} table has {y.size} row(s) with a usable target; can't score")
        if self.task == "binary" and np.unique(y).size < 2:
            raise UtilityError(f"the {side} target has a single class ({self.label(int(y[0]))}); ROC-AUC is undefined")
        if self.task == "regression" and np.ptp(y) == 0:
            raise UtilityError(f"the {side} target is constant; R² is undefined")

    # models ------------------------------------------------------------------------------
    def threads(self, side: str = "real") -> int:
        return self.n_jobs if self.n_train(side) >= SINGLE_THREAD_ROWS else 1

    def xgb_params(self, side: str = "real") -> dict[str, Any]:
        objectives: dict[str, dict[str, Any]] = {
            "binary": {"objective": "binary:logistic"},
            "multiclass": {"objective": "multi:softprob", "num_class": self.k},
            "regression": {"objective": "reg:squarederror"},
        }
        objective = objectives[self.task]
        return {**XGB_PARAMS, **objective, "nthread": self.threads(side), "seed": self.model_seed}

    def booster(self, side: str) -> xgb.Booster:
        def fit() -> xgb.Booster:
            self.check_trainable(side)
            x, y = self.training(side)
            matrix = xgb.DMatrix(
                x,
                label=y,
                feature_types=self.encoder.feature_types,
                feature_names=[f"f{j}" for j in range(len(self.encoder.features))],
                enable_categorical=True,
                nthread=self.threads(side),
            )
            return xgb.train(self.xgb_params(side), matrix, num_boost_round=self.rounds)

        return self._once(("booster", side), fit)

    def linear_model(self, side: str):
        def fit():
            self.check_trainable(side)
            x, y = self.training(side)
            pick = np.arange(y.size)
            if y.size > LINEAR_MAX_ROWS:
                rng = np.random.default_rng([self.model_seed, 1, TRAIN_SIDES.index(side)])
                pick = np.sort(rng.choice(y.size, LINEAR_MAX_ROWS, replace=False))
            design, y = self.encoder.linear(x[pick]), y[pick]
            if self.task == "regression":
                return Ridge(alpha=1.0).fit(design, y)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # lbfgs convergence notes: the score shows the fit
                return LogisticRegression(C=1.0, max_iter=100, tol=1e-3).fit(design, y)

        return self._once(("linear", side), fit)

    def predict(self, train: str, test: str, model: str = "xgboost", x: np.ndarray | None = None) -> np.ndarray:
        """Predictions of the ``train``-side model on the ``test`` table (or on ``x``)."""

        def run() -> np.ndarray:
            features = self.x[test] if x is None else x
            if model == "xgboost":
                booster = self.booster(train)
                booster.set_param({"nthread": self.n_jobs if len(features) >= SINGLE_THREAD_ROWS else 1})
                out = booster.inplace_predict(features)
                return (
                    np.asarray(out, dtype=float).reshape(len(features), -1).squeeze(axis=1)
                    if self.task != "multiclass"
                    else np.asarray(out, dtype=float)
                )
            fitted = self.linear_model(train)
            design = self.encoder.linear(features)
            if self.task == "regression":
                return fitted.predict(design)
            proba = np.zeros((len(features), self.k))
            proba[:, fitted.classes_] = fitted.predict_proba(design)
            return proba[:, 1] if self.task == "binary" else proba

        return run() if x is not None else self._once(("predict", train, test, model), run)

    def scores(self, train: str, test: str, model: str = "xgboost") -> dict[str, float]:
        return all_scores(self.task, self.y[test], self.predict(train, test, model), self.k)

    def headline_score(self, train: str, test: str) -> Score:
        """The prepared headline score (a callable of bootstrap weights)."""
        fns = prepared_scores(self.task, self.y[test], self.predict(train, test), self.k)
        return fns[HEADLINE[self.task]]

    def chance_score(self, test: str) -> Score:
        """The headline score of a model with no skill on the ``test`` rows (a callable of weights):
        ROC-AUC 0.5; R² 0; for macro-F1 the better of two featureless predictors — always the real
        majority class, or labels guessed at random in the real class proportions q (expected
        per-class F1 2 p q / (p + q) with p the test rows' proportions; 1/K when p = q). A model fit
        to a shuffled target scores about the latter (≈ 1/K), well above the majority's macro-F1
        (a third of 2 p_max / (1 + p_max) for three classes), so the majority alone overstates skill."""
        if self.task == "binary":
            return lambda weights: 0.5
        if self.task == "regression":
            return lambda weights: 0.0
        real_counts = np.bincount(self.y["real"], minlength=self.k)
        constant = np.eye(self.k)[np.full(self.y[test].size, int(np.argmax(real_counts)))]
        majority = prepared_scores(self.task, self.y[test], constant, self.k)[HEADLINE[self.task]]
        q, y, k = real_counts / real_counts.sum(), self.y[test], self.k

        def guessing(weights: np.ndarray | None) -> float:
            counts = np.bincount(y, weights=weights, minlength=k).astype(float)
            p = counts / counts.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                f1 = np.where(p + q > 0, 2 * p * q / (p + q), 0.0)
            return float(f1.mean())

        return lambda weights: max(float(majority(weights)), guessing(weights))


# -- parameters and the shared fit --------------------------------------------------------
class UtilityParams(MetricParams):
    """Parameters of the utility metrics. ``model_seed``, ``n_estimators`` and ``n_jobs`` shape the
    shared fit: metrics given different values get (and pay for) their own fit in the run context."""

    model_seed: int = Field(0, ge=0, description="seed of the shared fits' random choices")
    n_estimators: int = Field(XGB_ROUNDS, ge=1, description="XGBoost boosting rounds")
    n_jobs: int = Field(N_JOBS, ge=1, description="XGBoost threads above SINGLE_THREAD_ROWS training rows")
    n_boot: int | None = Field(None, ge=0, description="bootstrap resamples for the CI (None: the metric's default)")

    def fit_settings(self) -> dict[str, int]:
        return {"model_seed": self.model_seed, "n_estimators": self.n_estimators, "n_jobs": self.n_jobs}


def get_fit(data: EvalInput, params: UtilityParams, ctx: RunContext) -> UtilityFit:
    """The ``UtilityFit`` for ``data`` and these fit settings, built once per run in ``ctx``."""
    if data.holdout is None or data.target is None:
        raise UtilityError("utility needs a holdout and a target column")
    settings = params.fit_settings()
    return ctx.cached(data, ("utility.fit", *sorted(settings.items())), lambda: UtilityFit(data, settings))
