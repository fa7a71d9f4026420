"""Privacy charts, read by the metrics' declared detail names.

- every privacy result: ``value``, ``ci``, ``baseline``, ``bounds`` and ``ideal`` (results.json, schema 2) —
  each metric is drawn on its own scale with its ideal marked, never on a shared "risk" axis
  (DCR/NNDR/MIA have ideal 0.5, the risks 0)
- ``privacy.dcr``: ``details.histogram = {"edges": [...], "train": [...], "holdout": [...]}`` (shares of
  synthetic rows per distance bin, to the nearest training / holdout row)
- ``privacy.mia``: ``details.roc = {"fpr": [...], "tpr": [...]}``, ``details.auc`` (else the value)
- ``privacy.singling_out`` / ``linkability``: ``details.{main,control,baseline}_rate`` and ``..._rate_ci``;
  ``privacy.attribute_inference``: the same per secret in ``details.per_column.<column>`` (with ``risk``,
  ``risk_ci``), the worst secret named by ``details.worst_column``
"""

from __future__ import annotations

from typing import Any

from qaharness._format import fmt
from qaharness.results import Family, MetricResult, Run

from . import _charts
from ._readers import chart, finite, interval, limit_of, metric, numbers

__all__ = ["privacy_charts", "scale_for", "MAX_ROC_POINTS"]

MAX_ROC_POINTS = 400
MAX_SECRETS = 25
_DCR_SERIES = {"train": "to the nearest training row", "holdout": "to the nearest holdout row"}
_ANONYMETER = (
    ("privacy.singling_out", "singling out"),
    ("privacy.linkability", "linkability"),
    ("privacy.attribute_inference", "attribute inference"),
)


def scale_for(run: Run, m: MetricResult) -> _charts.Scale | None:
    """The metric on its own axis: a range covering value, CI, ideal, baseline and limit, inside its bounds."""
    if m.value is None:
        return None
    limit = limit_of(run, m)
    points = [m.value, *(m.ci or ()), *(v for v in (m.ideal, m.baseline, limit[0] if limit else None) if finite(v))]
    low, high = min(points), max(points)
    pad = max(0.08 * (high - low), 0.01)
    bound_low, bound_high = m.bounds
    low = low - pad if bound_low is None else max(bound_low, low - pad)
    high = high + pad if bound_high is None else min(bound_high, high + pad)
    if high - low < 1e-9:
        high = low + 1.0
    note = f"ideal {fmt(m.ideal)}" if m.ideal is not None else "no ideal declared"
    if limit:
        note += f" · {limit[1]}"
    return _charts.Scale(
        label=m.id,
        value=m.value,
        low=low,
        high=high,
        ci=m.ci,
        ideal=m.ideal,
        baseline=m.baseline,
        limit=limit[0] if limit else None,
        limit_label=limit[1] if limit else "",
        note=note,
    )


def _scales_chart(run: Run) -> list[dict]:
    rows = [s for m in run.metrics if m.family is Family.PRIVACY and m.ok and (s := scale_for(run, m)) is not None]
    if not rows:
        return []
    uri = _charts.scales("Each privacy measure on its own scale", rows)
    caption = (
        "One axis per metric, zoomed to its own range: the dot is the synthetic data's value with its 95% "
        "interval, the green line the ideal (0.5 for the DCR, NNDR and membership-inference shares: a coin "
        "flip; 0 for risks and shares of copies), the grey tick the holdout baseline and the red dashed line "
        "the policy's limit. Distances between metrics' axes mean nothing."
    )
    return [chart("Privacy measures on their own scales", uri, caption, size="wide")]


def _detail(run: Run, metric_id: str, key: str) -> tuple[MetricResult, dict[str, Any]] | None:
    """The computed metric and one of its details when that detail is a mapping."""
    m = metric(run, metric_id)
    found = m.details.get(key) if m else None
    return (m, found) if m is not None and isinstance(found, dict) else None


def _dcr_chart(run: Run) -> list[dict]:
    found = _detail(run, "privacy.dcr", "histogram")
    if found is None:
        return []
    m, hist = found
    edges = numbers(hist.get("edges"))
    if not edges or len(edges) < 2:
        return []
    series = {
        _DCR_SERIES.get(str(k), str(k)): s
        for k, v in hist.items()
        if k != "edges" and (s := numbers(v, len(edges) - 1))
    }
    if not series:
        return []
    uri = _charts.distance_histogram("Distance to closest record", edges, series, xlabel="distance (encoded rows)")
    caption = (
        f"privacy.dcr (share closer to training {fmt(m.value)}): how close synthetic rows come to real rows. "
        "If they sit much closer to training rows than to holdout rows, the generator has memorised its "
        "training data."
    )
    return [chart("Distance to closest record (DCR)", uri, caption, size="half")]


def _roc_chart(run: Run) -> list[dict]:
    found = _detail(run, "privacy.mia", "roc")
    if found is None:
        return []
    m, roc = found
    fpr = numbers(roc.get("fpr"))
    tpr = numbers(roc.get("tpr"), len(fpr)) if fpr else None
    if not fpr or not tpr or len(fpr) < 2:
        return []
    step = max(1, len(fpr) // MAX_ROC_POINTS)
    fpr, tpr = fpr[::step] + fpr[-1:], tpr[::step] + tpr[-1:]
    auc = m.details.get("auc", m.value)
    uri = _charts.roc_curve("Membership inference attack", fpr, tpr, float(auc) if finite(auc) else None)
    caption = (
        f"privacy.mia (AUC {fmt(m.value)}): an attacker holding the synthetic data scores real records as "
        "'in the training data' or not. A curve on the diagonal means the attack is no better than guessing."
    )
    return [chart("Membership inference ROC", uri, caption, size="half")]


def _attack_rates(m: MetricResult, name: str) -> tuple[dict[str, Any], str]:
    """The rates to draw: the metric's own, or (attribute inference) its worst secret's."""
    per, worst = m.details.get("per_column"), m.details.get("worst_column")
    if not finite(m.details.get("main_rate")) and isinstance(per, dict) and isinstance(per.get(worst), dict):
        return per[worst], f"{name} ({worst})"
    return m.details, name


def _attack_rates_chart(run: Run) -> list[dict]:
    """Anonymeter-style attacks: main attack vs control and random baseline success rates, with CIs."""
    labels, values, intervals, colors = [], [], [], []
    for metric_id, name in _ANONYMETER:
        m = metric(run, metric_id)
        if m is None:
            continue
        rates, label = _attack_rates(m, name)
        for part, color in (("main", _charts.SYNTHETIC), ("control", _charts.REAL), ("baseline", _charts.HOLDOUT)):
            rate = rates.get(f"{part}_rate")
            if finite(rate):
                labels.append(f"{label} · {part}")
                values.append(float(rate))
                colors.append(color)
                intervals.append(interval(rates.get(f"{part}_rate_ci")))
    if not labels:
        return []
    uri = _charts.interval_bars(
        "Attack success rates",
        labels,
        values,
        intervals,
        colors=colors,
        limits=(0.0, 1.0),
        xlabel="success rate",
        legend=[
            ("main: synthetic vs training rows", _charts.SYNTHETIC),
            ("control: vs unseen rows", _charts.REAL),
            ("baseline: random guesses", _charts.HOLDOUT),
        ],
    )
    caption = (
        "privacy.singling_out, privacy.linkability, privacy.attribute_inference (anonymeter method): the main "
        "attack uses the synthetic data against training rows, the control the same attack against unseen "
        "rows, the baseline random guesses. The risk is how far main exceeds control."
    )
    return [chart("Attack success rates", uri, caption, size="wide")]


def _secret_risks_chart(run: Run) -> list[dict]:
    """Attribute inference: the risk for each secret column, with its CI (worst first)."""
    m = metric(run, "privacy.attribute_inference")
    per = m.details.get("per_column") if m else None
    if not isinstance(per, dict):
        return []
    rows = [
        (str(c), float(d["risk"]), interval(d.get("risk_ci")))
        for c, d in per.items()
        if isinstance(d, dict) and finite(d.get("risk"))
    ]
    if len(rows) < 2:
        return []
    rows = sorted(rows, key=lambda r: -r[1])[:MAX_SECRETS]
    uri = _charts.interval_bars(
        "Attribute inference risk per secret column",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        colors=[_charts.SYNTHETIC] * len(rows),
        limits=(0.0, 1.0),
        reference=0.0,
        reference_label="ideal 0",
        xlabel="risk (0 = no better than the control)",
        width=3.35,
    )
    caption = (
        "privacy.attribute_inference per secret: how much better than on unseen rows an attacker who knows "
        "the other columns guesses it from the synthetic data (0 = no better)."
    )
    return [chart("Attribute inference by column", uri, caption, size="half")]


def privacy_charts(run: Run) -> tuple[list[dict[str, Any]], list[str]]:
    charts = (
        _scales_chart(run) + _dcr_chart(run) + _roc_chart(run) + _secret_risks_chart(run) + _attack_rates_chart(run)
    )
    return charts, []
