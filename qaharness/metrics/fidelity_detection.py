"""fidelity.detection — a classifier two-sample test: can a model tell real from synthetic?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import delong_ci
from ._base import Metric, register_metric

MAX_ROWS_PER_SIDE = 20_000
MAX_CATEGORIES = 250


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
        keep = pd.Index(real[column].value_counts().index[:MAX_CATEGORIES - 1])
        codes = keep.get_indexer(both.astype(object)).astype(float)
        codes[(codes < 0) & both.notna().to_numpy()] = len(keep)
        codes[both.isna().to_numpy()] = np.nan
        blocks.append(codes)
        categorical.append(True)
    return np.column_stack(blocks), categorical


@register_metric
class Detection(Metric):
    """ROC-AUC of a gradient-boosted classifier that tells real from synthetic rows.

    3-fold stratified cross-validation on a balanced sample (at most 20,000 rows per side);
    the AUC of the pooled out-of-fold scores, with DeLong's 95% CI. ``value`` is
    max(AUC, 1 − AUC): 0.5 (indistinguishable) is ideal, 1 means every row is told apart.
    Reference: the classifier two-sample test (Lopez-Paz & Oquab, 2017); SDMetrics' detection metrics.
    """

    id = "fidelity.detection"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.5, 1.0)
    ideal = 0.5
    ideal_tolerance = 0.2
    has_baseline = True
    description = "How well a classifier tells synthetic rows from real ones (0.5: not at all)."

    def compute(self, data: EvalInput, *, rng: np.random.Generator) -> MetricResult:
        if not data.columns():
            return self.skipped("no distribution column")
        n = min(len(data.real), len(data.synthetic), int(self.params.get("max_rows", MAX_ROWS_PER_SIDE)))
        if n < 6:
            return self.skipped(f"needs at least 6 rows per side; have {n}")
        real = data.real.iloc[np.sort(rng.choice(len(data.real), n, replace=False))]
        synthetic = data.synthetic.iloc[np.sort(rng.choice(len(data.synthetic), n, replace=False))]
        features, categorical = _features(real, synthetic, data)
        labels = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
        scores = np.zeros(2 * n)
        folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=int(rng.integers(2**31 - 1)))
        for train, test in folds.split(features, labels):
            model = HistGradientBoostingClassifier(
                max_iter=100, learning_rate=0.1, max_leaf_nodes=31, categorical_features=categorical,
                early_stopping=False, random_state=int(rng.integers(2**31 - 1)))
            model.fit(features[train], labels[train])
            scores[test] = model.predict_proba(features[test])[:, 1]
        auc, (low, high) = delong_ci(labels, scores)
        folded = max(auc, 1 - auc)
        if low > 0.5:
            ci = (low, high)
        elif high < 0.5:
            ci = (1 - high, 1 - low)
        else:  # the interval straddles chance: folded, it starts at 0.5
            ci = (0.5, max(high, 1 - low))
        return self.result(folded, ci=ci, ci_level=0.95, details={
            "auc": auc, "auc_ci": [low, high], "rows_per_side": n, "folds": 3,
            "model": "HistGradientBoostingClassifier(max_iter=100)"})
