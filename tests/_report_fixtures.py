"""Runs for the report tests: a real evaluate run plus hand-made utility/privacy/gate parts."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from conftest import make_mixed_frame

from qaharness.api import evaluate
from qaharness.results import Family, Goal, MetricResult, PolicyRef, RuleResult, Run

EVIL = "<script>alert(1)</script>"


def evil_frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The conftest mixed frame with a hostile column name and a hostile category value."""
    frames = []
    for offset, n in ((1, 240), (2, 240), (3, 160)):
        frame = make_mixed_frame(n, seed + offset).rename(columns={"group": EVIL})
        frame.loc[frame.index[:20], EVIL] = "<img src=x onerror=alert(2)>"
        frames.append(frame)
    return frames[0], frames[1], frames[2]


#: what results.json (schema 2) carries for the hand-made results: a description and an ideal
DESCRIPTIONS = {
    "utility.trtr": ("Headline score of a model trained on real rows, tested on the holdout.", 1.0),
    "utility.tstr": ("Headline score of a model trained on synthetic rows, tested on the holdout.", 1.0),
    "utility.feature_importance_corr": ("Agreement of feature importances, real- vs synthetic-trained.", 1.0),
    "privacy.dcr": ("Share of synthetic rows closer to a training row than to an unseen one.", 0.5),
    "privacy.mia": ("How well an attacker tells training rows from unseen ones.", 0.5),
    "privacy.singling_out": ("Excess share of queries that pick out exactly one training record.", 0.0),
    "privacy.linkability": ("Excess share of records linked across two column sets.", 0.0),
}


def _result(metric_id: str, family: Family, value: float, goal: Goal = Goal.MINIMIZE, **fields) -> MetricResult:
    description, ideal = DESCRIPTIONS.get(metric_id, ("", None))
    fields = {"description": description, "ideal": ideal, **fields}
    return MetricResult(
        id=metric_id, family=family, goal=goal, value=value, bounds=fields.pop("bounds", (0.0, 1.0)), **fields
    )


def extra_results() -> list[MetricResult]:
    """Utility and privacy results with the detail keys the report reads."""
    per_model = {"xgboost": {"roc_auc": 0.91, "accuracy": 0.85}, "logistic_regression": {"roc_auc": 0.88}}
    util = dict(score="roc_auc", task="binary")
    edges = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    fpr = list(np.linspace(0, 1, 11))
    return [
        _result(
            "utility.trtr",
            Family.UTILITY,
            0.91,
            Goal.MAXIMIZE,
            bounds=(None, 1.0),
            ci=(0.88, 0.94),
            ci_level=0.95,
            details={**util, "per_model": per_model},
        ),
        _result(
            "utility.tstr",
            Family.UTILITY,
            0.86,
            Goal.MAXIMIZE,
            bounds=(None, 1.0),
            ci=(0.82, 0.9),
            ci_level=0.95,
            details={**util, "per_model": {"xgboost": {"roc_auc": 0.86}, "logistic_regression": {"error": "failed"}}},
        ),
        _result(
            "utility.feature_importance_corr",
            Family.UTILITY,
            0.8,
            Goal.MAXIMIZE,
            bounds=(-1.0, 1.0),
            details={
                "importance": "permutation",
                "importances": {
                    "feature": ["age", "income", EVIL],
                    "permutation_real": [0.1, 0.3, 0.05],
                    "permutation_synthetic": [0.12, 0.2, 0.01],
                    "gain_real": [1, 2, 3],
                    "gain_synthetic": [1, 2, 3],
                },
            },
        ),
        _result(
            "privacy.dcr",
            Family.PRIVACY,
            0.52,
            ci=(0.47, 0.57),
            ci_level=0.95,
            details={
                "histogram": {"edges": edges, "train": [0.1, 0.3, 0.3, 0.2, 0.1], "holdout": [0.1, 0.2, 0.3, 0.3, 0.1]}
            },
        ),
        _result(
            "privacy.mia",
            Family.PRIVACY,
            0.55,
            ci=(0.5, 0.6),
            ci_level=0.95,
            details={"auc": 0.55, "roc": {"fpr": fpr, "tpr": [min(1.0, f * 1.1) for f in fpr]}},
        ),
        _result("privacy.singling_out", Family.PRIVACY, 0.02, ci=(0.0, 0.05), ci_level=0.95),
        MetricResult(
            id="privacy.linkability",
            family=Family.PRIVACY,
            goal=Goal.MINIMIZE,
            bounds=(0.0, 1.0),
            value=None,
            status="skipped",
            message="needs a holdout",
            description=DESCRIPTIONS["privacy.linkability"][0],
            ideal=0.0,
        ),
    ]


def gate_parts(n_rules: int = 4) -> dict:
    rules = [
        RuleResult(
            id="fidelity-ks",
            metric="fidelity.ks",
            op="<=",
            threshold=0.2,
            observed=0.09,
            status="pass",
            rationale="marginals close",
        ),
        RuleResult(
            id="utility-tstr",
            metric="utility.tstr_ratio",
            op=">=",
            threshold=0.9,
            threshold_expr="0.95 * baseline",
            observed=0.8,
            status="fail",
            message="below threshold",
            rationale="A model trained on synthetic data must keep 95% of the real model's skill.",
        ),
        RuleResult(
            id="privacy-dcr",
            metric="privacy.dcr",
            op="<=",
            threshold=0.6,
            observed=0.52,
            status="waived",
            waiver={"by": "dpo@example.org", "reason": "approved " + EVIL, "expires": "2027-01-01"},
        ),
        RuleResult(
            id="corr",
            metric="fidelity.corr_diff",
            op="<=",
            threshold=0.05,
            observed=0.07,
            severity="warn",
            status="fail",
        ),
        RuleResult(  # a rule of another kind: no metric, no field, not enough evidence to decide
            id="budget-cap",
            kind="budget",
            metric=None,
            field=None,
            op="<=",
            threshold=5.0,
            status="insufficient",
            message="insufficient evidence: the ledger holds no release of this source",
            rationale="Composed epsilon per source at most 5.",
        ),
    ]
    rules += [
        RuleResult(id=f"extra-{i}", metric="fidelity.js", op="<=", threshold=0.5, observed=0.1, status="pass")
        for i in range(max(0, n_rules - len(rules)))
    ]
    return {
        "verdict": "fail",
        "rules": rules,
        "policy": PolicyRef(
            id="release-default",
            version="2026.11",
            sha256="ab" * 32,
            source="/usr/lib/python3.11/site-packages/qaharness/policies/release-default.yaml",
        ),
        "provenance": {
            "generator": "ctgan",
            "dp": {"epsilon": 3.0, "delta": 1e-5, "accountant": "prv"},
            "checks": {"seal": True, "rows": True},
            "verified": True,
            "ledger": [{"step": 1, "epsilon": 1.5}, {"step": 2, "epsilon": 3.0}],
        },
    }


FAST_FIDELITY = [
    "fidelity.ks",
    "fidelity.js",
    "fidelity.wasserstein",
    "fidelity.corr_diff",
    "fidelity.coverage",
    "fidelity.missingness",
]


@lru_cache(maxsize=1)
def _evaluated() -> Run:
    real, synthetic, holdout = evil_frames()
    return evaluate(
        real,
        synthetic,
        holdout,
        target="label",
        metrics=FAST_FIDELITY,
        seed=0,
        command=["qaharness", "evaluate", "--real", "real.csv"],
    )


def build_run(ticket: str | None = None, gate: bool = True) -> Run:
    """A gate-style run: fidelity from evaluate (computed once per session), the rest hand-made."""
    run = _evaluated()
    update = {"metrics": run.metrics + extra_results(), "ticket": ticket}
    if gate:
        update.update(gate_parts())
    return Run.model_validate({**run.model_dump(by_alias=True), **update})
