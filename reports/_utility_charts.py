"""Utility charts, read by the metrics' declared detail names.

- ``utility.trtr`` / ``utility.tstr`` / ``utility.trts``: value and CI (the XGBoost model's headline score),
  ``details.score`` (its name, e.g. "roc_auc"), ``details.per_model = {model: {score_name: x, ...}}``
- ``utility.tstr_ratio``: ``details.trtr``, ``details.tstr`` (the two headline scores; a gate that computes only
  the ratio still gets the TRTR-vs-TSTR chart), ``details.score``
- ``utility.feature_importance_corr``: ``details.importance`` (which kind ranks), ``details.importances =
  {"feature": [...], "permutation_real": [...], "permutation_synthetic": [...], "gain_real", "gain_synthetic"}``
"""

from __future__ import annotations

from typing import Any

from qaharness._format import fmt
from qaharness.results import MetricResult, Run

from . import _charts
from ._readers import chart, finite, metric, numbers

__all__ = ["utility_charts", "MAX_FEATURES"]

MAX_FEATURES = 25
_SIDES = (
    ("utility.trtr", "TRTR", _charts.REAL),
    ("utility.tstr", "TSTR", _charts.SYNTHETIC),
    ("utility.trts", "TRTS", _charts.HOLDOUT),
)
_LEGEND = (
    ("TRTR: trained on real", _charts.REAL),
    ("TSTR: trained on synthetic", _charts.SYNTHETIC),
    ("TRTS: real model on synthetic rows", _charts.HOLDOUT),
)


def _score_name(m: MetricResult) -> str:
    name = m.details.get("score")
    return name if isinstance(name, str) else ""


def _headline_model(m: MetricResult) -> str:
    """``details.model.name``: the model whose score is the headline value (XGBoost)."""
    model = m.details.get("model")
    return str(model.get("name") or "") if isinstance(model, dict) else ""


def _other_models(m: MetricResult, score: str) -> dict[str, float]:
    """``details.per_model`` minus the headline model: {model: its headline score}."""
    found = m.details.get("per_model")
    headline = _headline_model(m)
    if not isinstance(found, dict):
        return {}
    return {
        str(model): float(entry[score])
        for model, entry in found.items()
        if model != headline and isinstance(entry, dict) and finite(entry.get(score))
    }


def _rows_from_sides(run: Run) -> tuple[list, str]:
    rows: list[tuple[str, float, tuple[float, float] | None, str]] = []
    score = ""
    for metric_id, label, color in _SIDES:
        m = metric(run, metric_id)
        if m is None or m.value is None:
            continue
        score = score or _score_name(m)
        rows.append((f"{label} · {_headline_model(m) or 'headline model'}", m.value, m.ci, color))
        rows += [(f"{label} · {model}", value, None, color) for model, value in _other_models(m, score).items()]
    return rows, score


def _rows_from_ratio(run: Run) -> tuple[list, str, str]:
    """TRTR and TSTR headline scores from ``utility.tstr_ratio`` (no intervals: the ratio's CI is its own)."""
    m = metric(run, "utility.tstr_ratio")
    if m is None or not (finite(m.details.get("trtr")) and finite(m.details.get("tstr"))):
        return [], "", ""
    rows = [
        ("TRTR · headline model", float(m.details["trtr"]), None, _charts.REAL),
        ("TSTR · headline model", float(m.details["tstr"]), None, _charts.SYNTHETIC),
    ]
    ci = f", 95% CI [{fmt(m.ci[0])}, {fmt(m.ci[1])}]" if m.ci else ""
    note = (
        f" This run computed only utility.tstr_ratio ({fmt(m.value)}{ci}), so the two scores are shown "
        "without their own intervals."
    )
    return rows, _score_name(m), note


def _scores_chart(run: Run) -> list[dict]:
    rows, score = _rows_from_sides(run)
    note = ""
    if not any(r[0].startswith("TSTR") for r in rows):
        ratio_rows, ratio_score, note = _rows_from_ratio(run)
        if ratio_rows:
            rows, score = ratio_rows, ratio_score
    if not rows:
        return []
    colours = {c for *_, c in rows}
    uri = _charts.interval_bars(
        "Model quality: trained on real vs on synthetic",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        colors=[r[3] for r in rows],
        xlabel=(score.replace("_", " ") or "score") + " on the real holdout",
        legend=[item for item in _LEGEND if item[1] in colours],
    )
    caption = (
        f"utility.trtr vs utility.tstr ({score.replace('_', ' ') or 'headline score'}): TRTR is trained on real "
        "and tested on the real holdout (the baseline); TSTR is trained on synthetic and tested on the same "
        "holdout; TRTS is trained on real and tested on synthetic. Bars are 95% bootstrap intervals of the "
        "headline model. TSTR close to TRTR means the synthetic data is about as useful." + note
    )
    return [chart("Train on real vs train on synthetic", uri, caption, size="wide")]


def _importances(details: dict[str, Any]) -> tuple[str, list[str], list[float], list[float]] | None:
    found = details.get("importances")
    kind = details.get("importance")
    if not isinstance(found, dict) or not isinstance(found.get("feature"), list) or kind not in ("permutation", "gain"):
        return None
    features = [str(f) for f in found["feature"]]
    real = numbers(found.get(f"{kind}_real"), len(features))
    synthetic = numbers(found.get(f"{kind}_synthetic"), len(features))
    if not features or real is None or synthetic is None:
        return None
    order = sorted(range(len(features)), key=lambda i: -real[i])[:MAX_FEATURES]
    return kind, [features[i] for i in order], [real[i] for i in order], [synthetic[i] for i in order]


def _importance_chart(run: Run) -> list[dict]:
    m = metric(run, "utility.feature_importance_corr")
    parsed = _importances(m.details) if m else None
    if m is None or not parsed:
        return []
    kind, features, real, synthetic = parsed
    uri = _charts.paired_bars(
        "Feature importance: model trained on real vs on synthetic",
        features,
        real,
        synthetic,
        xlabel=f"{kind} importance",
    )
    caption = (
        f"utility.feature_importance_corr (Spearman {fmt(m.value)}): which columns the model relies on when "
        f"trained on real and on synthetic data ({kind} importance on the holdout, largest real first); "
        "similar bars mean the synthetic data preserves what drives the target."
    )
    return [chart("Feature importances side by side", uri, caption, size="wide")]


def utility_charts(run: Run) -> tuple[list[dict[str, Any]], list[str]]:
    return _scores_chart(run) + _importance_chart(run), []
