"""Report charts: each privacy metric on its own scale, gate reports get the utility charts their metrics
support, and the chart defects seen on Adult (clipped titles, overlapping ticks, a key that didn't match
the fills, captions that didn't name their metric) stay fixed."""

from __future__ import annotations

import base64
import itertools
import re

import matplotlib
import pytest
from _report_fixtures import build_run

from qaharness.reports import _charts
from qaharness.reports._fidelity_charts import fidelity_charts
from qaharness.reports._privacy_charts import privacy_charts, scale_for
from qaharness.reports._utility_charts import utility_charts
from qaharness.results import Family, Goal, MetricResult, PolicyRef, RuleResult, Run

#: Adult's fnlwgt range: the histogram whose tick labels overlapped
FNLWGT_EDGES = [12285.0 + i * 73621.0 for i in range(21)]


def _svg(uri: str) -> str:
    return base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")


def _run(metrics: list[MetricResult], rules: list[RuleResult] | None = None) -> Run:
    return Run(
        qaharness_version="0",
        created_at="2026-01-01T00:00:00+00:00",
        seed=1,
        inputs={},
        schema={},
        metrics=metrics,
        rules=rules,
        verdict="pass" if rules else None,
        policy=PolicyRef(id="p", version="1", sha256="0" * 64) if rules else None,
    )


def _privacy(metric_id: str, value: float, ci: tuple[float, float], ideal: float, **fields) -> MetricResult:
    return MetricResult(
        id=metric_id, family=Family.PRIVACY, goal=Goal.MINIMIZE, bounds=(0.0, 1.0), value=value, ci=ci, ideal=ideal,
        ci_level=0.95, **fields,
    )  # fmt: skip


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(fig).get_renderer()


def _extents(fig, artists) -> list:
    renderer = _renderer(fig)
    return [a.get_window_extent(renderer) for a in artists if a.get_text()]


# -- privacy on its own scales ------------------------------------------------------------------


def test_each_privacy_metric_gets_its_own_scale_with_its_ideal():
    dcr = _privacy("privacy.dcr", 0.535, (0.51, 0.56), ideal=0.5)
    copies = _privacy("privacy.exact_match", 0.004, (0.001, 0.009), ideal=0.0, baseline=0.002)
    rule = RuleResult(id="closer", metric="privacy.dcr", field="ci_low", op="<=", threshold=0.55, status="pass")
    run = _run([dcr, copies], [rule])
    dcr_scale, copies_scale = scale_for(run, dcr), scale_for(run, copies)
    assert dcr_scale and copies_scale
    # DCR's axis spans its ideal, value, interval and the rule's limit — and is not the copies' axis
    assert dcr_scale.ideal == 0.5 and dcr_scale.limit == 0.55 and "ci_low <= 0.55" in dcr_scale.note
    assert dcr_scale.low <= 0.5 and dcr_scale.high >= 0.56 and dcr_scale.low > 0.4
    assert copies_scale.ideal == 0.0 and copies_scale.low == 0.0 and copies_scale.high < 0.05
    assert copies_scale.baseline == 0.002 and dcr_scale.baseline is None
    charts, _ = privacy_charts(run)
    assert [c["title"] for c in charts] == ["Privacy measures on their own scales"]
    svg = _svg(charts[0]["uri"])
    assert svg.count("ideal 0.5") == 1 and "ideal 0.000" in svg and "risk / score" not in svg
    assert "holdout baseline" in svg  # the copies metric has one; the legend says what the tick is


def test_a_metric_without_a_declared_ideal_still_gets_a_scale():
    odd = MetricResult(id="privacy.x", family=Family.PRIVACY, goal=Goal.MINIMIZE, bounds=(None, None), value=3.0)
    scale = scale_for(_run([odd]), odd)
    assert scale and scale.ideal is None and scale.low < 3.0 < scale.high and scale.note == "no ideal declared"


# -- utility charts in gate reports -------------------------------------------------------------


def _ratio_only() -> MetricResult:
    """What a gate computing only utility.tstr_ratio records (the default policy's utility rule)."""
    return MetricResult(
        id="utility.tstr_ratio",
        family=Family.UTILITY,
        goal=Goal.MAXIMIZE,
        bounds=(None, None),
        value=0.777,
        ci=(0.707, 0.834),
        ci_level=0.95,
        ideal=1.0,
        details={"task": "binary", "score": "roc_auc", "trtr": 0.885, "tstr": 0.688},
    )


def test_a_gate_with_only_the_ratio_still_draws_trtr_vs_tstr():
    charts, _ = utility_charts(_run([_ratio_only()]))
    assert [c["title"] for c in charts] == ["Train on real vs train on synthetic"]
    assert "only utility.tstr_ratio (0.777, 95% CI [0.707, 0.834])" in charts[0]["caption"]
    svg = _svg(charts[0]["uri"])
    assert "TRTR · headline model" in svg and "TSTR · headline model" in svg and "roc auc" in svg


def test_evaluate_style_utility_has_intervals_models_and_importances():
    run = build_run()
    charts, _ = utility_charts(run)
    assert [c["title"] for c in charts] == ["Train on real vs train on synthetic", "Feature importances side by side"]
    scores = _svg(charts[0]["uri"])
    assert "TRTR · xgboost" in scores and "TRTR · logistic_regression" in scores and "TSTR · xgboost" in scores
    assert "TSTR · logistic_regression" not in scores  # that model failed: no score to draw
    assert "feature_importance_corr (Spearman 0.800)" in charts[1]["caption"]
    assert "trained on real" in _svg(charts[1]["uri"]) and "trained on synthetic" in _svg(charts[1]["uri"])


# -- chart defects ------------------------------------------------------------------------------


def test_histogram_ticks_of_large_numbers_do_not_overlap():
    shares = [0.05] * 20
    fig = _charts.histogram_figure("fnlwgt", FNLWGT_EDGES, shares, shares)
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    labels = [t for t in ax.get_xticklabels() if t.get_text() and low <= t.get_position()[0] <= high]
    assert 2 <= len(labels) <= 5 and all(len(t.get_text()) <= 5 for t in labels), [t.get_text() for t in labels]
    boxes = sorted(_extents(fig, labels), key=lambda b: b.x0)
    assert all(left.x1 < right.x0 for left, right in itertools.pairwise(boxes)), "tick labels overlap"


def test_compact_numbers():
    assert [_charts.compact_number(v) for v in (0, 0.25, 1500, 350_000, 1_200_000, 2e-5)] == [
        "0",
        "0.25",
        "1.5k",
        "350k",
        "1.2M",
        "2e-05",
    ]


def test_heatmap_titles_sit_inside_the_figure():
    columns = [f"column_{i}" for i in range(15)]
    identity = [[1.0 if i == j else 0.1 for j in range(15)] for i in range(15)]
    fig = _charts.heatmap_figure(columns, identity, identity)
    renderer = _renderer(fig)
    fig.draw_without_rendering()
    page = fig.bbox
    for ax in fig.axes[:3]:
        text = next(t for t in (ax.title, ax._left_title, ax._right_title) if t.get_text())  # titles sit left
        title = text.get_window_extent(renderer)
        assert page.y0 <= title.y0 and title.y1 <= page.y1, text.get_text()
        assert title.y0 >= ax.get_window_extent(renderer).y1 - 1, "the title overlaps its panel"


def test_the_key_is_drawn_with_the_fills_it_names():
    key = _svg(_charts.legend_key())
    for chart in (
        _svg(_charts.histogram("x", [0, 1, 2], [0.5, 0.5], [0.25, 0.75])),
        _svg(_charts.categories("c", ["a", "b"], [0.5, 0.5], [0.25, 0.75])),
    ):
        for colour in (_charts.REAL, _charts.SYNTHETIC):
            styles = set(re.findall(rf'style="([^"]*{colour}[^"]*)"', chart))
            assert styles, colour
            for style in styles:  # every way the chart draws real (synthetic) is how the key shows it
                assert style.replace("stroke-linejoin: miter", "").strip("; ") in key, (colour, style)


def test_distribution_captions_name_their_metric():
    run = build_run()
    charts, _ = fidelity_charts(run)
    distributions = [c for c in charts if c["size"] == "small"]
    assert distributions
    for c in distributions:
        assert re.search(r"worst score: fidelity\.\w+ \d", c["caption"]), c["caption"]
    heatmap = next(c for c in charts if c["title"] == "Associations between columns")
    assert heatmap["caption"].startswith("fidelity.corr_diff")


def test_charts_are_deterministic():
    first = _charts.histogram("x", [0, 1, 2], [0.5, 0.5], [0.25, 0.75])
    assert first == _charts.histogram("x", [0, 1, 2], [0.5, 0.5], [0.25, 0.75])
    assert "<dc:date>" not in _svg(first)


@pytest.mark.parametrize("name", ["$x$", "a_b^c"])
def test_column_names_are_drawn_as_written(name):
    assert name in _svg(_charts.histogram(name, [0, 1], [1.0], [1.0]))
    assert matplotlib.rcParams["text.parse_math"] is True, "the charts must not change global rcParams"
