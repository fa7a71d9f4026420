"""Pillar-specific charts and tables, drawn only where results.json holds what they need.

Every reader here is defensive: a missing or oddly shaped key means no chart, never an error.
Detail keys read (agreed with the metric authors):

- fidelity.corr_diff: ``details.columns``, ``details.real_matrix``, ``details.synthetic_matrix``
- run.profiles (qaharness.profile): ``columns.<name>.{kind, edges, real, synthetic, categories}``
- utility.trtr / tstr / trts: the headline score's name in ``details.score`` (e.g. "roc_auc"), per-model
  scores in ``details.per_model = {model: {score_name: x, ...}}``; the headline value and CI are the
  XGBoost model's
- utility.feature_importance_corr: ``details.importances = {"feature": [...], "permutation_real": [...],
  "permutation_synthetic": [...], "gain_real", "gain_synthetic"}``; also accepted:
  ``{"real": {f: v}, "synthetic": {f: v}}`` or ``[{"feature", "real", "synthetic"}]``
- privacy.dcr: ``details.histogram = {"edges": [...], "<series>": [shares per bin], ...}`` (e.g. series
  ``train`` and ``holdout``); without it, the percentiles ``dcr_p5_synthetic_to_training``,
  ``dcr_p5_holdout_to_training``, ``dcr_median_synthetic_to_training``, ``dcr_median_synthetic_to_holdout``
- privacy.mia: ``details.roc = {"fpr": [...], "tpr": [...]}`` (or ``fpr``/``tpr`` at the top); without it,
  ``details.attacks = {name: {"auc": x}}`` and ``details.best_attack``
- privacy.singling_out / linkability / attribute_inference: ``details.{main,control,baseline}_rate`` and
  ``..._rate_ci``
- any privacy metric with a value and a CI in [0, 1]: a row of the risk chart
"""

from __future__ import annotations

import math
from typing import Any

from qaharness.results import Family, Goal, MetricResult, Run

from . import _charts

__all__ = ["charts_for", "tables_for", "MAX_DISTRIBUTIONS", "MAX_HEATMAP", "MAX_PER_COLUMN_ROWS"]

MAX_DISTRIBUTIONS = 24
MAX_HEATMAP = 30
MAX_PER_COLUMN_ROWS = 40
MAX_FEATURES = 25
MAX_ROC_POINTS = 400


def _metric(run: Run, metric_id: str) -> MetricResult | None:
    return next((m for m in run.metrics if m.id == metric_id and m.ok), None)


def _numbers(value: Any, length: int | None = None) -> list[float] | None:
    if not isinstance(value, (list, tuple)) or (length is not None and len(value) != length):
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return [float(v) for v in value]


def _interval(value: Any) -> tuple[float, float] | None:
    pair = _numbers(value, 2)
    return (pair[0], pair[1]) if pair and pair[0] <= pair[1] else None


def _chart(title: str, uri: str, caption: str, size: str = "small") -> dict[str, Any]:
    """``size``: small (three to a row), half (two), wide (full width)."""
    return {"title": title, "uri": uri, "caption": caption, "size": size}


# -- fidelity ----------------------------------------------------------------------------------


def column_badness(run: Run) -> dict[str, float]:
    """Per column, the worst [0, 1]-bounded fidelity per-column value (1 = worst), for ordering."""
    out: dict[str, float] = {}
    for m in run.metrics:
        if m.family is not Family.FIDELITY or not m.ok or not m.per_column or m.bounds != (0.0, 1.0):
            continue
        for column, value in m.per_column.items():
            bad = value if m.goal is Goal.MINIMIZE else 1.0 - value
            out[column] = max(out.get(column, 0.0), bad)
    return out


def _heatmap(run: Run) -> tuple[list[dict], list[str]]:
    corr = _metric(run, "fidelity.corr_diff")
    if corr is None:
        return [], []
    columns, real, synthetic = (corr.details.get(k) for k in ("columns", "real_matrix", "synthetic_matrix"))
    if not isinstance(columns, list) or not isinstance(real, list) or not isinstance(synthetic, list):
        return [], []
    k = len(columns)
    if (
        k < 2
        or len(real) != k
        or len(synthetic) != k
        or not all(_numbers(r, k) and _numbers(s, k) for r, s in zip(real, synthetic))
    ):
        return [], []
    notes, keep = [], list(range(k))
    if k > MAX_HEATMAP:
        per = corr.per_column or {}
        keep = sorted(sorted(range(k), key=lambda i: -per.get(str(columns[i]), 0.0))[:MAX_HEATMAP])
        notes.append(f"Association heatmap: the {MAX_HEATMAP} columns with the largest differences, of {k}.")
    names = [str(columns[i]) for i in keep]
    pick = lambda m: [[m[i][j] for j in keep] for i in keep]  # noqa: E731
    uri = _charts.heatmap(names, pick(real), pick(synthetic))
    caption = (
        "Pairwise associations (Pearson r, Cramér's V, correlation ratio) in the real and the "
        "synthetic data, and their absolute difference: dark cells on the right are relationships "
        "the generator did not reproduce."
    )
    return [_chart("Associations between columns", uri, caption, size="wide")], notes


def _distributions(run: Run) -> tuple[list[dict], list[str]]:
    profiles = (run.profiles or {}).get("columns")
    if not isinstance(profiles, dict) or not profiles:
        return [], []
    badness = column_badness(run)
    order = sorted(profiles, key=lambda c: -badness.get(c, 0.0))
    charts = []
    for column in order[:MAX_DISTRIBUTIONS]:
        chart = _distribution(column, profiles[column], badness.get(column))
        if chart:
            charts.append(chart)
    notes = []
    total = (run.profiles or {}).get("n_columns", len(profiles))
    if isinstance(total, int) and total > len(charts):
        notes.append(f"Distributions: {len(charts)} of {total} columns shown, those that differ most first.")
    rare_k = (run.profiles or {}).get("rare_k")
    if rare_k:
        notes.append(
            f"Categories seen at most {rare_k} times in the real data appear as rare#<hash>; "
            "numeric axes span the real 1st–99th percentiles (outliers fall in the end bins)."
        )
    return charts, notes


def _distribution(column: str, profile: Any, bad: float | None) -> dict[str, Any] | None:
    if not isinstance(profile, dict):
        return None
    kind = profile.get("kind", "")
    caption = f"{kind}; worst per-column score {bad:.3f}" if bad is not None else str(kind)
    edges = _numbers(profile.get("edges"))
    if edges and len(edges) >= 2:
        real, synthetic = (
            _numbers(profile.get("real"), len(edges) - 1),
            _numbers(profile.get("synthetic"), len(edges) - 1),
        )
        if real and synthetic:
            uri = _charts.histogram(column, edges, real, synthetic, datetime=kind == "datetime")
            return _chart(column, uri, caption)
    labels = profile.get("categories")
    if isinstance(labels, list) and labels:
        real, synthetic = _numbers(profile.get("real"), len(labels)), _numbers(profile.get("synthetic"), len(labels))
        if real and synthetic:
            return _chart(column, _charts.categories(column, [str(v) for v in labels], real, synthetic), caption)
    return None


def _per_column_table(run: Run) -> list[dict[str, Any]]:
    metrics = [m for m in run.metrics if m.family is Family.FIDELITY and m.ok and m.per_column]
    if not metrics:
        return []
    badness = column_badness(run)
    columns = list(dict.fromkeys(c for m in metrics for c in m.per_column))
    columns.sort(key=lambda c: -badness.get(c, 0.0))
    from qaharness._format import fmt

    rows = [
        [c] + [fmt(m.per_column.get(c)) if c in m.per_column else "" for m in metrics]
        for c in columns[:MAX_PER_COLUMN_ROWS]
    ]
    return [
        {
            "title": "Per-column scores (worst first)",
            "header": ["column"] + [m.id for m in metrics],
            "rows": rows,
            "more": max(0, len(columns) - MAX_PER_COLUMN_ROWS),
        }
    ]


# -- utility -----------------------------------------------------------------------------------


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _model_scores(details: dict[str, Any], score_name: str) -> dict[str, float]:
    """``details.per_model`` = {model: {score_name: x, ...}} (or {model: x}) → {model: x}."""
    found = details.get("per_model", details.get("models"))
    if not isinstance(found, dict):
        return {}
    out = {}
    for model, entry in found.items():
        value = entry.get(score_name, entry.get("score", entry.get("value"))) if isinstance(entry, dict) else entry
        if _finite(value):
            out[str(model)] = float(value)
    return out


def _utility_scores(run: Run) -> list[dict]:
    rows, colors, values, intervals, score_name = [], [], [], [], ""
    for metric_id, label, color in (
        ("utility.trtr", "TRTR", _charts.REAL),
        ("utility.tstr", "TSTR", _charts.SYNTHETIC),
        ("utility.trts", "TRTS", _charts.HOLDOUT),
    ):
        m = _metric(run, metric_id)
        if m is None:
            continue
        name = next(
            (str(m.details[k]) for k in ("score", "score_name", "scorer") if isinstance(m.details.get(k), str)), ""
        )
        score_name = score_name or name
        per_model = _model_scores(m.details, name)
        headline_model = next((k for k, v in per_model.items() if abs(v - m.value) < 1e-12), None)
        rows.append(f"{label} · {headline_model or 'headline'}"), colors.append(color)
        values.append(m.value), intervals.append(m.ci)
        for model, value in per_model.items():
            if model != headline_model:
                rows.append(f"{label} · {model}"), colors.append(color), values.append(value), intervals.append(None)
    if not rows:
        return []
    uri = _charts.interval_bars(
        "Model quality: trained on real vs on synthetic",
        rows,
        values,
        intervals,
        colors=colors,
        xlabel=score_name.replace("_", " ") or "score",
    )
    caption = (
        "TRTR: trained on real, tested on the real holdout (the baseline); TSTR: trained on synthetic, "
        "tested on the same holdout; TRTS: trained on real, tested on synthetic. Bars are 95% bootstrap "
        "intervals of the headline model. TSTR close to TRTR means the synthetic data is about as useful."
    )
    return [_chart("Train on real vs train on synthetic", uri, caption, size="wide")]


def _importances(details: dict[str, Any]) -> tuple[list[str], list[float], list[float]] | None:
    found = details.get("importances")
    real = synthetic = None
    if isinstance(found, dict) and isinstance(found.get("feature"), list):  # utility.feature_importance_corr
        kind = next((k for k in ("permutation", "gain") if isinstance(found.get(f"{k}_real"), list)), None)
        if kind is None:
            return None
        features = [str(f) for f in found["feature"]]
        real = dict(zip(features, found[f"{kind}_real"]))
        synthetic = dict(zip(features, found.get(f"{kind}_synthetic") or []))
    elif isinstance(found, dict):
        real, synthetic = found.get("real"), found.get("synthetic")
    elif isinstance(found, list) and all(isinstance(r, dict) for r in found):
        real = {str(r.get("feature")): r.get("real") for r in found}
        synthetic = {str(r.get("feature")): r.get("synthetic") for r in found}
    if real is None:
        real = details.get("real_importances", details.get("real_importance"))
        synthetic = details.get("synthetic_importances", details.get("synthetic_importance"))
    elif isinstance(real, list) and isinstance(details.get("features"), list):
        features = [str(f) for f in details["features"]]
        real, synthetic = dict(zip(features, real)), dict(zip(features, synthetic or []))
    if not isinstance(real, dict) or not isinstance(synthetic, dict):
        return None
    features = [f for f in real if f in synthetic]
    values_real, values_synthetic = _numbers([real[f] for f in features]), _numbers([synthetic[f] for f in features])
    if not features or values_real is None or values_synthetic is None:
        return None
    order = sorted(range(len(features)), key=lambda i: -values_real[i])[:MAX_FEATURES]
    return [str(features[i]) for i in order], [values_real[i] for i in order], [values_synthetic[i] for i in order]


def _importance_chart(run: Run) -> list[dict]:
    m = _metric(run, "utility.feature_importance_corr")
    parsed = _importances(m.details) if m else None
    if not parsed:
        return []
    features, real, synthetic = parsed
    kind = str(m.details.get("importance", "")).replace("_", " ")
    uri = _charts.paired_bars(
        "Feature importance: model trained on real vs on synthetic",
        features,
        real,
        synthetic,
        xlabel=f"{kind} importance".strip(),
    )
    caption = (
        "Which columns the model relies on, when trained on real and on synthetic data; similar bars "
        "mean the synthetic data preserves what drives the target."
    )
    return [_chart("Feature importances side by side", uri, caption, size="wide")]


# -- privacy -----------------------------------------------------------------------------------


def _dcr_chart(run: Run) -> list[dict]:
    m = _metric(run, "privacy.dcr")
    if m is None:
        return []
    hist = next(
        (m.details[k] for k in ("histogram", "histograms", "dcr_histogram") if isinstance(m.details.get(k), dict)), None
    )
    edges = _numbers(hist.get("edges")) if hist else None
    series = (
        {str(k): s for k, v in hist.items() if k != "edges" and (s := _numbers(v, len(edges) - 1))} if edges else {}
    )
    if edges and len(edges) >= 2 and series:
        uri = _charts.distance_histogram("Distance to closest record", edges, series)
        caption = (
            "How close synthetic rows come to real rows. If training rows are much closer than holdout "
            "rows the generator has memorised its training data."
        )
        return [_chart("Distance to closest record (DCR)", uri, caption, size="half")]
    return _dcr_summary(m)


_DCR_SUMMARY = (
    ("dcr_p5_synthetic_to_training", "5th pct: synthetic → training", _charts.SYNTHETIC),
    ("dcr_p5_holdout_to_training", "5th pct: holdout → training", _charts.HOLDOUT),
    ("dcr_median_synthetic_to_training", "median: synthetic → training", _charts.SYNTHETIC),
    ("dcr_median_synthetic_to_holdout", "median: synthetic → holdout", _charts.HOLDOUT),
)


def _dcr_summary(m: MetricResult) -> list[dict]:
    """Without a histogram: DCR percentiles, synthetic-to-training beside the holdout yardsticks."""
    rows = [(label, float(m.details[key]), color) for key, label, color in _DCR_SUMMARY if _finite(m.details.get(key))]
    if len(rows) < 2:
        return []
    uri = _charts.interval_bars(
        "Distance to closest record",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [None] * len(rows),
        colors=[r[2] for r in rows],
        xlabel="distance",
        width=3.4,
    )
    caption = (
        "Distances to the nearest real row. Synthetic rows much closer to training rows than unseen "
        "(holdout) rows suggest memorisation."
    )
    return [_chart("Distance to closest record (DCR)", uri, caption, size="half")]


def _roc_chart(run: Run) -> list[dict]:
    m = _metric(run, "privacy.mia")
    if m is None:
        return []
    roc = m.details.get("roc") if isinstance(m.details.get("roc"), dict) else m.details
    fpr = _numbers(roc.get("fpr"))
    tpr = _numbers(roc.get("tpr"), len(fpr)) if fpr else None
    if not fpr or not tpr or len(fpr) < 2:
        return _attack_aucs(m)
    step = max(1, len(fpr) // MAX_ROC_POINTS)
    fpr, tpr = fpr[::step] + fpr[-1:], tpr[::step] + tpr[-1:]
    auc = m.details.get("auc", m.value)
    uri = _charts.roc_curve("Membership inference attack", fpr, tpr, float(auc) if _finite(auc) else None)
    caption = (
        "An attacker scores real records as 'in the training data' or not. A curve on the diagonal "
        "means the attack is no better than guessing."
    )
    return [_chart("Membership inference ROC", uri, caption, size="half")]


def _attack_aucs(m: MetricResult) -> list[dict]:
    """Without a ROC curve: each attack's AUC (``details.attacks = {name: {"auc": x, ...}}``)."""
    attacks = m.details.get("attacks")
    if not isinstance(attacks, dict):
        return []
    rows = [
        (str(name), float(a["auc"])) for name, a in attacks.items() if isinstance(a, dict) and _finite(a.get("auc"))
    ]
    if not rows:
        return []
    best = m.details.get("best_attack")
    intervals = [m.ci if name == best else None for name, _ in rows]
    uri = _charts.interval_bars(
        "Membership inference attacks",
        [r[0] for r in rows],
        [r[1] for r in rows],
        intervals,
        colors=[_charts.SYNTHETIC] * len(rows),
        reference=0.5,
        limits=(0.0, 1.0),
        xlabel="ROC-AUC (0.5 = guessing)",
        width=3.4,
    )
    caption = (
        "How well each attack tells training rows from unseen rows, as ROC-AUC; 0.5 (dashed) is "
        "guessing. The bar is the 95% interval of the strongest attack."
    )
    return [_chart("Membership inference", uri, caption, size="half")]


_ANONYMETER = (
    ("privacy.singling_out", "singling out"),
    ("privacy.linkability", "linkability"),
    ("privacy.attribute_inference", "attribute inference"),
)


def _attack_rates_chart(run: Run) -> list[dict]:
    """Anonymeter-style attacks: main attack vs control and random baseline success rates, with CIs."""
    labels, values, intervals, colors = [], [], [], []
    for metric_id, name in _ANONYMETER:
        m = _metric(run, metric_id)
        if m is None:
            continue
        rates, per = m.details, m.details.get("per_column")
        worst = m.details.get("worst_column")
        if not _finite(rates.get("main_rate")) and isinstance(per, dict) and isinstance(per.get(worst), dict):
            rates, name = per[worst], f"{name} ({worst})"  # attribute inference: the worst secret
        for part, color in (("main", _charts.SYNTHETIC), ("control", _charts.REAL), ("baseline", _charts.HOLDOUT)):
            rate = rates.get(f"{part}_rate")
            if _finite(rate):
                labels.append(f"{name} · {part}"), values.append(float(rate)), colors.append(color)
                intervals.append(_interval(rates.get(f"{part}_rate_ci")))
    if not labels:
        return []
    uri = _charts.interval_bars(
        "Attack success rates", labels, values, intervals, colors=colors, limits=(0.0, 1.0), xlabel="success rate"
    )
    caption = (
        "Anonymeter-style attacks: the main attack uses the synthetic data against training rows, the "
        "control the same attack against unseen rows, the baseline random guesses. Risk is how far main "
        "exceeds control."
    )
    return [_chart("Attack success rates", uri, caption, size="wide")]


def _risk_chart(run: Run) -> list[dict]:
    rows = [
        m for m in run.metrics if m.family is Family.PRIVACY and m.ok and m.ci is not None and m.bounds == (0.0, 1.0)
    ]
    if not rows:
        return []
    uri = _charts.interval_bars(
        "Privacy risks with confidence intervals",
        [m.id for m in rows],
        [m.value for m in rows],
        [m.ci for m in rows],
        colors=[_charts.SYNTHETIC] * len(rows),
        limits=(0.0, 1.0),
        xlabel="risk / score",
    )
    caption = "Each privacy measure with its confidence interval; see each metric below for its ideal value."
    return [_chart("Privacy risks", uri, caption, size="wide")]


def _secret_risks_chart(run: Run) -> list[dict]:
    """Attribute inference: the risk for each secret column, with its CI (worst first)."""
    m = _metric(run, "privacy.attribute_inference")
    per = m.details.get("per_column") if m else None
    if not isinstance(per, dict):
        return []
    rows = [
        (str(c), float(d["risk"]), _interval(d.get("risk_ci")))
        for c, d in per.items()
        if isinstance(d, dict) and _finite(d.get("risk"))
    ]
    if len(rows) < 2:
        return []
    rows = sorted(rows, key=lambda r: -r[1])[:MAX_FEATURES]
    uri = _charts.interval_bars(
        "Attribute inference risk per secret column",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        colors=[_charts.SYNTHETIC] * len(rows),
        limits=(0.0, 1.0),
        xlabel="risk",
        width=3.4,
    )
    caption = (
        "For each column treated as a secret: how much better than chance an attacker who knows the "
        "other columns guesses it from the synthetic data (0 = no better)."
    )
    return [_chart("Attribute inference by column", uri, caption, size="half")]


def charts_for(family: Family, run: Run) -> tuple[list[dict[str, Any]], list[str]]:
    """(charts, notes) for one pillar; charts are dicts with title, uri, caption, size."""
    if family is Family.FIDELITY:
        heat, heat_notes = _heatmap(run)
        dist, dist_notes = _distributions(run)
        return heat + dist, heat_notes + dist_notes
    if family is Family.UTILITY:
        return _utility_scores(run) + _importance_chart(run), []
    if family is Family.PRIVACY:
        return (
            _risk_chart(run) + _dcr_chart(run) + _roc_chart(run) + _secret_risks_chart(run) + _attack_rates_chart(run)
        ), []
    return [], []


def tables_for(family: Family, run: Run) -> list[dict[str, Any]]:
    return _per_column_table(run) if family is Family.FIDELITY else []
