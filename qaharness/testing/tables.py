"""Calibration tables: the bundled UCI Adult data and four seeded tables with real structure.

Each table is a population the calibration suite draws disjoint training, holdout and unseen rows
from. A seeded table's *structure* (loadings, category levels and frequencies) is fixed per table;
the seed only chooses which rows are drawn, so two seeds are two samples of one population.

| id | rows | columns | target (task) | what it stresses |
|---|---|---|---|---|
| ``adult`` | 48,842 | 15 | income (binary) | the bundled data the thresholds were first set on |
| ``wide`` | any | 74 | outcome (binary) | 2,701 column pairs: maxima over many pairs |
| ``discrete`` | any | 8 | diagnosis (multiclass) | low-cardinality categoricals only: many identical rows |
| ``missing`` | any | 14 | readmitted (binary) | missing values, at random and not at random |
| ``ids`` | any | 12 | length_of_stay (regression) | an integer row id and a unique patient-id string |

Every table names the column its planted defects act on: ``shift_column`` (+3 years of age, or one
band up on an ordinal column), ``collapse_column`` (mode collapse) and ``id_columns`` (replayed ids).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import norm

from qaharness.datasets import ADULT_TARGET, load_adult

__all__ = ["TableSpec", "TABLES", "ShapeUnavailable", "stable_key"]


class ShapeUnavailable(ValueError):
    """A table holds fewer rows than a shape asks for, or a case does not apply to a table."""


def stable_key(*parts: str | int) -> list[int]:
    """Integers for ``np.random.SeedSequence`` from names and numbers (``hash()`` of a str is salted per process)."""
    return [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]


@dataclass(frozen=True)
class TableSpec:
    """A calibration table: how to draw rows and which columns the planted defects act on."""

    name: str
    description: str
    target: str
    shift_column: str
    collapse_column: str
    draw_rows: Callable[[int, np.random.Generator], pd.DataFrame] = field(repr=False)
    id_columns: tuple[str, ...] = ()
    #: the ordered levels when ``shift_column`` is an ordinal categorical (the shift moves rows one band up)
    shift_levels: tuple[str, ...] = ()
    #: rows the source holds; None: a seeded table draws as many as asked
    max_rows: int | None = None
    #: whether the table has numeric columns (jittered copies need one)
    has_numeric: bool = True

    def draw(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n_rows`` rows of the population, in random order, with a fresh RangeIndex."""
        if self.max_rows is not None and n_rows > self.max_rows:
            raise ShapeUnavailable(f"table {self.name!r} holds {self.max_rows:,} rows; the shape needs {n_rows:,}")
        return self.draw_rows(n_rows, rng).reset_index(drop=True)


# -- UCI Adult --------------------------------------------------------------------------------------

ADULT_ROWS = 48_842


@lru_cache(maxsize=1)
def _adult() -> pd.DataFrame:
    return load_adult()


def _draw_adult(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    adult = _adult()
    return adult.iloc[rng.choice(len(adult), n_rows, replace=False)].copy()


# -- building blocks for the seeded tables ----------------------------------------------------------


def _score(latent: np.ndarray, loadings: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A unit-variance score: ``loadings · latent`` plus independent noise (||loadings|| < 1)."""
    shared = latent @ loadings
    return shared + rng.standard_normal(len(latent)) * np.sqrt(max(1.0 - float(loadings @ loadings), 0.05))


def _categories(score: np.ndarray, levels: list[str], probabilities: np.ndarray) -> np.ndarray:
    """Cut a standard-normal score at fixed quantiles: level ``j`` has probability ``probabilities[j]``."""
    cuts = norm.ppf(np.cumsum(probabilities)[:-1])
    return np.asarray(levels, dtype=object)[np.searchsorted(cuts, score)]


def _skewed(n_levels: int, decay: float) -> np.ndarray:
    weights = decay ** np.arange(n_levels)
    return weights / weights.sum()


def _loadings(structure: np.random.Generator, n_latent: int, strength: float) -> np.ndarray:
    direction = structure.standard_normal(n_latent)
    return strength * direction / np.linalg.norm(direction)


def _binary(logit: np.ndarray, rng: np.random.Generator, labels: tuple[str, str]) -> np.ndarray:
    positive = rng.random(len(logit)) < 1.0 / (1.0 + np.exp(-logit))
    return np.where(positive, labels[1], labels[0]).astype(object)


def _age(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Age in whole years, 18-90, driven by the first latent factor."""
    return np.clip(np.round(45 + 14 * _score(z, np.array([0.7] + [0.0] * (z.shape[1] - 1)), rng)), 18, 90).astype(
        np.int64
    )


# -- wide: 74 columns --------------------------------------------------------------------------------

_WIDE_NUMERIC, _WIDE_CATEGORICAL, _WIDE_BOOLEAN, _WIDE_DATES = 30, 30, 8, 4


def _draw_wide(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """74 columns: age, 30 numeric (gaussian, skewed, counts, zero-inflated, a few pure noise), 30
    categoricals (3-12 levels, and three code-like ones of 25-60; skewed), 8 yes/no flags, 4 dates and
    a binary target, tied by 4 latents."""
    structure = np.random.default_rng(stable_key("wide-structure"))
    z = rng.standard_normal((n_rows, 4))
    columns: dict[str, np.ndarray] = {"age": _age(z, rng)}
    for i in range(_WIDE_NUMERIC):
        strength = 0.0 if i % 10 == 9 else structure.uniform(0.4, 0.85)  # every tenth column is noise
        s = _score(z, _loadings(structure, 4, strength), rng)
        kind = i % 4
        if kind == 0:
            columns[f"num_{i}"] = np.round(structure.uniform(10, 100) + structure.uniform(2, 30) * s, 2)
        elif kind == 1:
            columns[f"num_{i}"] = np.round(np.exp(structure.uniform(3, 8) + 0.6 * s), 1)
        elif kind == 2:
            columns[f"num_{i}"] = rng.poisson(np.exp(structure.uniform(0, 2.5) + 0.5 * s)).astype(np.int64)
        else:
            amount = np.round(np.exp(7 + 0.8 * s)).astype(np.int64)
            columns[f"num_{i}"] = np.where(s > norm.ppf(0.85), amount, 0)
    for i in range(_WIDE_CATEGORICAL):
        n_levels = (25, 40, 60)[i - 27] if i >= 27 else 3 + i % 10  # three code-like columns with many levels
        s = _score(z, _loadings(structure, 4, structure.uniform(0.3, 0.8)), rng)
        levels = [f"c{i}_{j:02d}" for j in range(n_levels)]
        columns[f"cat_{i}"] = _categories(s, levels, _skewed(n_levels, structure.uniform(0.55, 0.95)))
    for i in range(_WIDE_BOOLEAN):
        s = _score(z, _loadings(structure, 4, structure.uniform(0.3, 0.8)), rng)
        columns[f"flag_{i}"] = np.where(s > structure.uniform(-1, 1), "yes", "no").astype(object)
    for i in range(_WIDE_DATES):
        s = _score(z, _loadings(structure, 4, structure.uniform(0.3, 0.8)), rng)
        days = np.round(1500 + 300 * s).astype(np.int64)
        columns[f"date_{i}"] = (np.datetime64("2015-01-01") + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    logit = 1.6 * z[:, 0] - 1.1 * z[:, 1] + 0.7 * z[:, 2] - 0.6
    columns["outcome"] = _binary(logit, rng, ("negative", "positive"))
    return pd.DataFrame(columns)


# -- discrete: low-cardinality categoricals only ----------------------------------------------------

AGE_BANDS = ("18-29", "30-44", "45-59", "60-74", "75+")


def _draw_discrete(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Seven categoricals of 2-5 levels and a 3-class target; dependence through two latents and a
    retirement rule. Few distinct rows, so synthetic and real rows coincide often."""
    z = rng.standard_normal((n_rows, 2))
    band = _categories(_score(z, np.array([0.75, 0.0]), rng), list(AGE_BANDS), np.array([0.2, 0.28, 0.25, 0.17, 0.1]))
    band_idx = np.searchsorted(np.array(AGE_BANDS, dtype=object), band)
    smoker = _categories(_score(z, np.array([0.3, -0.5]), rng), ["never", "former", "current"], _skewed(3, 0.5))
    bmi = _categories(_score(z, np.array([0.55, -0.3]), rng), ["under", "normal", "over", "obese"], _skewed(4, 0.8))
    education = _categories(
        _score(z, np.array([-0.2, 0.7]), rng), ["primary", "secondary", "tertiary", "postgraduate"], _skewed(4, 0.6)
    )
    working = _categories(_score(z, np.array([0.0, 0.6]), rng), ["unemployed", "employed"], np.array([0.15, 0.85]))
    employment = np.where((band_idx >= 3) & (rng.random(n_rows) < 0.4 + 0.25 * (band_idx - 3)), "retired", working)
    region = _categories(_score(z, np.array([0.0, 0.4]), rng), ["north", "east", "west", "south"], _skewed(4, 0.7))
    sex = np.where(rng.random(n_rows) < 0.52, "female", "male").astype(object)
    bmi_idx = np.searchsorted(np.array(["normal", "obese", "over", "under"], dtype=object), bmi)
    risk = (
        0.9 * band_idx
        + 1.2 * (smoker == "current")
        + 0.5 * (smoker == "former")
        + 0.8 * np.isin(bmi, ["over", "obese"]) * (1 + (bmi_idx == 1))
        - 0.5 * (education == "postgraduate")
        + rng.logistic(size=n_rows) * 0.8
    )
    diagnosis = np.where(risk < 2.0, "none", np.where(risk < 3.6, "chronic", "acute")).astype(object)
    return pd.DataFrame(
        {
            "region": region,
            "age_band": band,
            "sex": sex,
            "education": education,
            "employment": employment.astype(object),
            "smoker": smoker,
            "bmi_class": bmi,
            "diagnosis": diagnosis,
        }
    )


# -- missing: missing values at random and not at random --------------------------------------------


def _with_missing(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = values.astype(float) if values.dtype.kind in "iuf" else values.astype(object)
    out[mask] = np.nan if out.dtype.kind == "f" else None
    return out


def _draw_missing(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Fourteen clinical-looking columns; values are missing completely at random (bmi, smoker,
    diagnosis code), at random given another column (income given employment, blood pressure given
    age) and not at random (high cholesterol goes unrecorded)."""
    z = rng.standard_normal((n_rows, 3))
    age = _age(z, rng)
    employment = _categories(
        _score(z, np.array([-0.3, 0.6, 0.0]), rng), ["employed", "self-employed", "unemployed", "retired"],
        np.array([0.55, 0.15, 0.12, 0.18]),
    )  # fmt: skip
    income = np.round(np.exp(10.2 + 0.5 * _score(z, np.array([0.2, 0.7, 0.0]), rng)), -2)
    bmi = np.round(26 + 4.5 * _score(z, np.array([0.4, -0.2, 0.5]), rng), 1)
    systolic = np.round(120 + 15 * _score(z, np.array([0.6, 0.0, 0.4]), rng))
    cholesterol_score = _score(z, np.array([0.3, 0.0, 0.7]), rng)
    cholesterol = np.round(200 + 35 * cholesterol_score)
    smoker = _categories(_score(z, np.array([0.0, -0.4, 0.4]), rng), ["never", "former", "current"], _skewed(3, 0.55))
    region = _categories(rng.standard_normal(n_rows), [f"region_{k}" for k in range(6)], _skewed(6, 0.8))
    visits = rng.poisson(np.exp(0.8 + 0.4 * _score(z, np.array([0.3, 0.0, 0.6]), rng))).astype(np.int64)
    code = _categories(_score(z, np.array([0.2, 0.0, 0.6]), rng), [f"D{k:02d}" for k in range(8)], _skewed(8, 0.75))
    admitted = np.datetime64("2020-01-01") + rng.integers(0, 1461, n_rows).astype("timedelta64[D]")
    sex = np.where(rng.random(n_rows) < 0.5, "female", "male").astype(object)
    logit = 1.3 * z[:, 2] + 0.6 * z[:, 0] + 0.15 * (visits - 2) + 0.8 * (smoker == "current") - 1.2
    readmitted = _binary(logit, rng, ("home", "readmitted"))
    return pd.DataFrame(
        {
            "age": age,
            "sex": sex,
            "employment": _with_missing(employment, rng.random(n_rows) < 0.03),
            "income": _with_missing(income, rng.random(n_rows) < np.where(employment == "unemployed", 0.5, 0.08)),
            "bmi": _with_missing(bmi, rng.random(n_rows) < 0.10),
            "systolic_bp": _with_missing(systolic, rng.random(n_rows) < np.where(age < 40, 0.3, 0.05)),
            "cholesterol": _with_missing(cholesterol, rng.random(n_rows) < norm.cdf(1.5 * cholesterol_score - 1.5)),
            "smoker": _with_missing(smoker, rng.random(n_rows) < 0.08),
            "region": region,
            "visits": visits,
            "diagnosis_code": _with_missing(code, rng.random(n_rows) < 0.05),
            "admitted": pd.Series(admitted).astype("datetime64[ns]").where(rng.random(n_rows) >= 0.02),
            "readmitted": readmitted,
        }
    ).assign(weight_kg=lambda f: np.round(f["bmi"] * rng.normal(2.95, 0.25, n_rows) ** 2, 1))


# -- ids: an integer row id and a patient id -------------------------------------------------------


def _draw_ids(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """A hospital-stay table with ``rownames`` (the row's number in the source file, as R writes it:
    unique integers) and ``patient_id`` (unique strings), ten clinical columns and a regression target."""
    z = rng.standard_normal((n_rows, 3))
    age = _age(z, rng)
    severity = _score(z, np.array([0.4, 0.6, 0.0]), rng)
    procedures = rng.poisson(np.exp(0.3 + 0.5 * severity)).astype(np.int64)
    medications = rng.poisson(np.exp(2.0 + 0.3 * _score(z, np.array([0.3, 0.6, 0.2]), rng))).astype(np.int64)
    glucose = np.round(100 + 25 * _score(z, np.array([0.3, 0.2, 0.6]), rng), 1)
    comorbidity = np.clip(np.round(2 + 1.8 * _score(z, np.array([0.7, 0.3, 0.0]), rng)), 0, 10).astype(np.int64)
    ward = _categories(_score(z, np.array([0.0, 0.7, 0.0]), rng), [f"ward_{k}" for k in "ABCDEF"], _skewed(6, 0.75))
    admission = _categories(severity, ["elective", "urgent", "emergency"], np.array([0.4, 0.35, 0.25]))
    insurance = _categories(_score(z, np.array([0.0, 0.0, 0.7]), rng), ["public", "private", "none"], _skewed(3, 0.5))
    sex = np.where(rng.random(n_rows) < 0.5, "female", "male").astype(object)
    stay = np.exp(0.9 + 0.45 * severity + 0.04 * comorbidity + 0.01 * (age - 45) + 0.25 * rng.standard_normal(n_rows))
    numbers = rng.choice(9_000_000, n_rows, replace=False) + 1_000_000
    return pd.DataFrame(
        {
            "rownames": np.arange(1, n_rows + 1, dtype=np.int64),
            "patient_id": np.char.add("PT", numbers.astype(str)).astype(object),
            "age": age,
            "sex": sex,
            "ward": ward,
            "admission_type": admission,
            "insurance": insurance,
            "num_procedures": procedures,
            "num_medications": medications,
            "glucose": glucose,
            "comorbidity_index": comorbidity,
            "length_of_stay": np.round(stay, 1),
        }
    ).iloc[rng.permutation(n_rows)]


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "adult",
            "UCI Adult (bundled): 6 numeric and 9 categorical columns, binary income target",
            ADULT_TARGET,
            shift_column="age",
            collapse_column="occupation",
            draw_rows=_draw_adult,
            max_rows=ADULT_ROWS,
        ),
        TableSpec(
            "wide",
            "74 columns (31 numeric, 30 categorical of 3-60 levels, 8 yes/no, 4 dates, binary target), 4 latents",
            "outcome",
            shift_column="age",
            collapse_column="cat_1",
            draw_rows=_draw_wide,
        ),
        TableSpec(
            "discrete",
            "7 categoricals of 2-5 levels and a 3-class target; few distinct rows",
            "diagnosis",
            shift_column="age_band",
            collapse_column="smoker",
            draw_rows=_draw_discrete,
            shift_levels=AGE_BANDS,
            has_numeric=False,
        ),
        TableSpec(
            "missing",
            "14 columns with values missing at random and not at random, binary target",
            "readmitted",
            shift_column="age",
            collapse_column="smoker",
            draw_rows=_draw_missing,
        ),
        TableSpec(
            "ids",
            "integer row id (rownames), unique patient id, 10 clinical columns, regression target",
            "length_of_stay",
            shift_column="age",
            collapse_column="ward",
            draw_rows=_draw_ids,
            id_columns=("rownames", "patient_id"),
        ),
    )
}
