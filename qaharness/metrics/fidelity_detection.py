"""fidelity.detection — a classifier two-sample test: can a model tell real from synthetic?"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from ..inputs import EvalInput
from ..results import Family, Goal, MetricResult
from ..schema import ColumnKind
from ..stats import delong_ci
from ._base import Metric, MetricParams, RunContext, register_metric

MAX_ROWS_PER_SIDE = 10_000
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
        keep = pd.Index(real[column].value_counts().index[: MAX_CATEGORIES - 1])
        codes = keep.get_indexer(both.astype(object)).astype(float)
        codes[(codes < 0) & both.notna().to_numpy()] = len(keep)
        codes[both.isna().to_numpy()] = np.nan
        blocks.append(codes)
        categorical.append(True)
    return np.column_stack(blocks), categorical


@register_metric
class Detection(Metric):
    """ROC-AUC of a gradient-boosted classifier that tells real from synthetic rows.

    3-fold cross-validation on a balanced sample (at most 10,000 rows per side);
    identical rows are kept in one fold. ``value`` is the AUC of the pooled out-of-fold scores,
    floored at 0.5, with DeLong's 95% CI: 0.5 (indistinguishable) is ideal, 1 means every row is
    told apart. Range [0.5, 1]; lower is better.
    Reference: the classifier two-sample test (Lopez-Paz & Oquab, 2017); SDMetrics' detection metrics.
    """

    class Params(MetricParams):
        max_rows: int = Field(MAX_ROWS_PER_SIDE, ge=6, description="rows sampled per side for the classifier")

    params: Params

    id = "fidelity.detection"
    family = Family.FIDELITY
    goal = Goal.MINIMIZE
    bounds = (0.5, 1.0)
    ideal = 0.5
    ideal_tolerance = 1e-9
    has_baseline = True
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
        scores = np.zeros(2 * n)
        # identical rows share a fold: a twin with the opposite label in training would be
        # memorised and push the AUC below 0.5 (exact copies are privacy's concern, not this test's)
        groups = pd.util.hash_pandas_object(pd.DataFrame(features), index=False).factorize()[0]
        folds = GroupKFold(n_splits=3, shuffle=True, random_state=int(rng.integers(2**31 - 1)))
        for train, test in folds.split(features, labels, groups):
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
        auc, (low, high) = delong_ci(labels, scores)
        value = max(auc, 0.5)  # below 0.5 is noise: the classifier is no better than chance
        ci = (max(low, 0.5), max(high, 0.5))
        return self.result(
            value,
            ci=ci,
            ci_level=0.95,
            details={
                "auc": auc,
                "auc_ci": [low, high],
                "rows_per_side": n,
                "folds": 3,
                "model": "HistGradientBoostingClassifier(max_iter=60)",
            },
        )
