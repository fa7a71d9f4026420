"""fidelity.detection — a classifier two-sample test: can a model tell real from synthetic?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import delong_ci
from ._base import Metric, MetricDetails, MetricParams, RunContext, register_metric

MAX_ROWS_PER_SIDE = 10_000
MAX_CATEGORIES = 250
FOLDS = 3


def _features(real: pd.DataFrame, synthetic: pd.DataFrame, data: EvalInput) -> tuple[np.ndarray, list[bool]]:
    blocks, categorical = [], []
    for column in data.columns():
        kind = data.schema[column]
        both = pd.concat([real[column], synthetic[column]], ignore_index=True)
        if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
            values = both.astype("int64").to_numpy(float) if kind is ColumnKind.DATETIME else both.to_numpy(float)
            if kind is ColumnKind.DATETIME:
                values[both.isna().to_numpy()] = np.nan
            blocks.append(values)
            categorical.append(False)
            continue
        keep = pd.Index(real[column].value_counts().index[: MAX_CATEGORIES - 1])
        codes = keep.get_indexer(both.astype(object)).astype(float)
        codes[(codes < 0) & both.notna().to_numpy()] = len(keep)
        codes[both.isna().to_numpy()] = np.nan
        blocks.append(codes)
        categorical.append(True)
    return np.column_stack(blocks), categorical


def exact_twins(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows of real/synthetic twin pairs: a feature vector that occurs exactly once among the real
    rows and exactly once among the synthetic rows (a copied record). Returns a boolean mask.

    Vectors that repeat on a side (the common combinations of discrete data) are not twins: their
    frequencies are the signal the classifier must learn.
    """
    groups = pd.util.hash_pandas_object(pd.DataFrame(features), index=False).to_numpy()
    frame = pd.DataFrame({"group": groups, "real": labels == 1})
    counts = frame.groupby("group")["real"].agg(["sum", "size"])
    pairs = counts.index[(counts["sum"] == 1) & (counts["size"] == 2)]
    return frame["group"].isin(pairs).to_numpy()


def _out_of_fold_scores(
    features: np.ndarray, labels: np.ndarray, categorical: list[bool], rng: np.random.Generator
) -> np.ndarray:
    """Stratified 3-fold out-of-fold P(real) of a gradient-boosted classifier."""
    scores = np.zeros(labels.size)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=int(rng.integers(2**31 - 1)))
    for train, test in folds.split(features, labels):
        model = HistGradientBoostingClassifier(
            max_iter=60,
            learning_rate=0.15,
            max_leaf_nodes=31,
            categorical_features=categorical,
            early_stopping=False,
            random_state=int(rng.integers(2**31 - 1)),
        )
        model.fit(features[train], labels[train])
        scores[test] = model.predict_proba(features[test])[:, 1]
    return scores


@register_metric
class Detection(Metric):
    """ROC-AUC of a gradient-boosted classifier that tells real from synthetic rows.

    Stratified 3-fold cross-validation on a balanced sample (at most 10,000 rows per side).
    Exact real/synthetic twins — a record that occurs once on each side, i.e. a copy — are left
    out of the classifier and counted in ``details.exact_twins``: a copy is indistinguishable by
    construction (privacy's concern), and a twin memorised in one fold would push the other out
    of chance. ``value`` is the AUC of the pooled out-of-fold scores of the other rows, floored at
    0.5, with DeLong's 95% CI: 0.5 (indistinguishable) is ideal, 1 means every row is told apart;
    when every sampled row is a twin it is 0.5. Range [0.5, 1]; lower is better.
    Reference: the classifier two-sample test (Lopez-Paz & Oquab, 2017); SDMetrics' detection metrics.
    """

    class Params(MetricParams):
        max_rows: int = Field(MAX_ROWS_PER_SIDE, ge=6, description="rows sampled per side for the classifier")

    class Details(MetricDetails):
        model_config = ConfigDict(frozen=True, extra="forbid")
        auc: float = Field(ge=0, le=1, description="out-of-fold ROC-AUC before the 0.5 floor")
        auc_ci: list[float] = Field(min_length=2, max_length=2, description="DeLong 95% interval of auc")
        rows_per_side: int = Field(ge=1, description="rows sampled from real and from synthetic")
        exact_twins: int = Field(ge=0, description="synthetic rows sampled that are exact twins of a real row")
        exact_twin_share: float = Field(ge=0, le=1, description="exact_twins / rows_per_side")
        folds: int = Field(description="stratified cross-validation folds")
        model: str = Field(description="the classifier")

    params: Params

    id = "fidelity.detection"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.5, 1.0)
    ideal = 0.5
    ideal_tolerance = 1e-9
    conformance_defect = "collapse"
    has_baseline = True
    baseline_draws = 3
    baseline_resample = False  # a duplicated holdout row, memorised in one fold, would fake a signal
    description = "How well a classifier tells synthetic rows from real ones (0.5: not at all)."

    def compute(self, data: EvalInput, ctx: RunContext, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column")
        n = min(len(data.real), len(data.synthetic), self.params.max_rows)
        if n < 6:
            return self.skipped(f"needs at least 6 rows per side; have {n}")
        real = data.real.iloc[np.sort(rng.choice(len(data.real), n, replace=False))]
        synthetic = data.synthetic.iloc[np.sort(rng.choice(len(data.synthetic), n, replace=False))]
        features, categorical = _features(real, synthetic, data)
        labels = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
        twins = exact_twins(features, labels)
        n_twins = int(twins.sum()) // 2
        keep = ~twins
        details = {
            "rows_per_side": n,
            "exact_twins": n_twins,
            "exact_twin_share": n_twins / n,
            "folds": FOLDS,
            "model": "HistGradientBoostingClassifier(max_iter=60)",
        }
        if n - n_twins < 2 * FOLDS:
            message = f"{n_twins} of {n} sampled synthetic rows are exact twins of real rows: indistinguishable"
            return self.result(
                0.5,
                ci=(0.5, 0.5),
                ci_level=0.95,
                message=message,
                details={**details, "auc": 0.5, "auc_ci": [0.5, 0.5]},
            )
        scores = _out_of_fold_scores(features[keep], labels[keep], categorical, rng)
        auc, (low, high) = delong_ci(labels[keep], scores)
        value = max(auc, 0.5)  # below 0.5 is noise: the classifier is no better than chance
        ci = (max(low, 0.5), max(high, 0.5))
        return self.result(value, ci=ci, ci_level=0.95, details={**details, "auc": auc, "auc_ci": [low, high]})
