"""HTML reports rendered from results.json: page 1 carries the decision, rules of any kind, escaping,
self-containment, results read without the live metric registry."""

from __future__ import annotations

import base64
import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _report_fixtures import EVIL, build_run, evil_frames, gate_parts

from qaharness._format import outcome_class
from qaharness.errors import BadInputError
from qaharness.inputs import prepare_inputs
from qaharness.profile import column_profiles
from qaharness.reports import render_reports
from qaharness.reports._context import MAX_RULES, build_context
from qaharness.reports.html import render_html
from qaharness.results import Family, Goal, MetricResult, RuleResult, Run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gate_run() -> Run:
    return build_run(ticket="DATA-123")


@pytest.fixture(scope="module")
def gate_html(gate_run) -> str:
    return render_html(gate_run)


def _svgs(html: str) -> list[str]:
    return [
        base64.b64decode(uri).decode("utf-8")
        for uri in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    ]


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _page_one(html: str) -> str:
    return html[html.index('<section class="page-one">') : html.index('<h2 class="rules-title">')]


def _bare_run(**fields) -> Run:
    fields.setdefault("schema", {})
    return Run(qaharness_version="0", created_at="2026-01-01T00:00:00+00:00", seed=1, inputs={}, **fields)


def test_html_is_self_contained(gate_html):
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:|#)", gate_html), "only data: URIs and anchors"
    assert "http://" not in gate_html and "https://" not in gate_html
    assert "<link" not in gate_html and "@import" not in gate_html
    for svg in _svgs(gate_html):  # the charts reference nothing outside themselves either
        assert not re.search(r"href=\"(?!#|data:)", svg)


def test_untrusted_names_and_values_are_escaped(gate_html):
    assert "<script" not in gate_html.lower()
    assert "<img src=x" not in gate_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in gate_html  # shown, as text
    assert "approved &lt;script&gt;" in gate_html  # waiver reasons are data too


def test_hostile_column_name_in_chart_is_text(gate_html):
    joined = "\n".join(_svgs(gate_html))
    assert "&lt;script&gt;" in joined and "<script" not in joined


def test_page_one_names_each_failed_and_warned_rule_with_observed_and_threshold(gate_html):
    page = _text(_page_one(gate_html))
    # the banner names the failures instead of counting them
    assert "FAIL" in page and "2 of 5 rules failed: utility-tstr, budget-cap" in page
    assert "1 warning: corr" in page and "1 waived: privacy-dcr" in page
    for rule, observed, threshold in (
        ("utility-tstr", "0.8", ">= 0.9 (0.95 * baseline)"),
        ("corr", "0.07", "<= 0.05"),
        ("budget-cap", "—", "<= 5"),
    ):
        block = page[page.index(f" {rule} · ") :][:400]
        assert f"observed {observed}" in block and f"required {threshold}" in block, block
    # one plain sentence each: the metric's description, else the rule's message (no tstr_ratio result here)
    assert "below threshold" in page
    assert "insufficient evidence: the ledger holds no release of this source" in page
    # inputs, ticket, pillar cards and the policy by id, version and hash — not a site-packages path
    assert "Ticket DATA-123" in page and "real 240 rows" in page and "generator ctgan" in page
    assert "Scores by pillar" in page and "Fidelity" in page and "Privacy" in page
    assert "Policy release-default version 2026.11 · sha256 abababababab" in page
    assert "site-packages" not in gate_html
    # rationales are in the appendix, not on page 1
    assert "keep 95% of the real model's skill" not in page
    appendix = _text(gate_html[gate_html.index("Appendix A") :])
    assert "keep 95% of the real model's skill" in appendix and "Composed epsilon per source" in appendix


def test_rules_table_is_compact_failed_first_and_links_the_appendix(gate_html):
    table = gate_html[
        gate_html.index('<table class="rules">') : gate_html.index("</table>", gate_html.index('<table class="rules">'))
    ]
    order = re.findall(r"<tr><td><span class=\"badge (\w+)\">", table)
    assert order == ["fail", "insufficient", "warn", "waived", "pass"]
    assert "keep 95%" not in table, "rationales belong in the appendix"
    for anchor in re.findall(r'href="#(rule-\d+)"', table):
        assert f'id="{anchor}"' in gate_html


def test_rules_of_any_kind_render_from_rule_result_alone():
    rules = [
        RuleResult(id="budget", kind="budget", metric=None, field=None, status="insufficient", message="no ledger"),
        RuleResult(id="soft", kind="budget", metric=None, field=None, severity="warn", status="insufficient"),
        RuleResult(id="broken", metric="fidelity.ks", status="error", message="metric fidelity.ks is in error"),
    ]
    run = _bare_run(metrics=[], rules=rules, verdict="fail")
    views = {v["id"]: v for v in build_context(run)["decision"]["rules"]}
    assert views["budget"]["outcome"] == "insufficient evidence" and views["budget"]["subject"] == "budget"
    assert views["soft"]["outcome"] == "warn (insufficient evidence)" and views["soft"]["css"] == "warn"
    assert views["broken"]["subject"] == "fidelity.ks (value)" and views["broken"]["threshold"] == "—"
    text = _text(render_html(run))
    assert "insufficient evidence" in text and "no ledger" in text and "None" not in text
    assert [outcome_class(r) for r in rules] == ["insufficient", "warn", "error"]


def test_descriptions_and_ideals_come_from_the_results_not_the_registry(gate_run):
    described = gate_run.metrics[0].model_copy(update={"description": "Described in results.json only.", "ideal": 0.0})
    plugin = MetricResult(
        id="thirdparty.score",
        family=Family.FIDELITY,
        goal=Goal.MINIMIZE,
        bounds=(0.0, 1.0),
        value=0.2,
        description="A plugin that is not installed here.",
        ideal=0.0,
    )
    html = render_html(gate_run.model_copy(update={"metrics": [described, plugin, *gate_run.metrics[1:]]}))
    assert "Described in results.json only." in html and "A plugin that is not installed here." in html
    for folder in ("reports", "app"):  # "the reports and the dashboard read JSON only"
        for source in (REPO / folder).glob("*.py"):
            text = source.read_text(encoding="utf-8")
            assert "qaharness.metrics" not in text and "get_metric" not in text, source


def test_a_missing_baseline_reads_as_a_dash(gate_html):
    text = _text(gate_html)
    assert "None" not in text
    assert "holdout baseline —" in text and "baseline —" in text


def test_content_pillars_provenance_inputs_reproducibility(gate_run, gate_html):
    text = _text(gate_html)
    assert "0.95 * baseline" in gate_html and "dpo@example.org" in gate_html and "2027-01-01" in gate_html
    for title in ("Fidelity", "Utility", "Privacy", "Provenance and privacy budget", "Reproducibility"):
        assert title in text
    for m in gate_run.metrics:
        if m.description:
            assert m.description.replace("'", "&#39;") in gate_html
    for info in gate_run.inputs.values():
        assert info.sha256 in gate_html
    assert "ab" * 32 in gate_html  # the full policy hash, in the reproducibility table
    assert "release-default.yaml (bundled with qaharness)" in text
    assert "qaharness evaluate --real real.csv" in gate_html
    assert f"numpy {gate_run.environment['numpy']}" in gate_html
    assert "ε = 3.000" in gate_html and "accountant prv" in gate_html
    assert "needs a holdout" in gate_html  # skipped metric with its reason


def test_same_run_same_html(gate_run, gate_html):
    assert render_html(gate_run) == gate_html


def test_odd_details_never_crash():
    weird = [
        MetricResult(
            id="fidelity.corr_diff",
            family=Family.FIDELITY,
            goal=Goal.MINIMIZE,
            bounds=(0, 2),
            value=0.1,
            details={"columns": ["a", "b"], "real_matrix": [[1, 0.2]], "synthetic_matrix": "x"},
        ),
        MetricResult(
            id="utility.trtr",
            family=Family.UTILITY,
            goal=Goal.MAXIMIZE,
            bounds=(None, 1),
            value=0.5,
            details={"per_model": "garbage", "score": 3, "model": "x"},
        ),
        MetricResult(
            id="utility.feature_importance_corr",
            family=Family.UTILITY,
            goal=Goal.MAXIMIZE,
            bounds=(-1, 1),
            value=0.1,
            details={"importance": "permutation", "importances": {"feature": ["a"], "permutation_real": ["?"]}},
        ),
        MetricResult(
            id="privacy.dcr",
            family=Family.PRIVACY,
            goal=Goal.MINIMIZE,
            bounds=(0, 1),
            value=0.1,
            details={"histogram": {"edges": [1], "train": []}},
        ),
        MetricResult(
            id="privacy.mia",
            family=Family.PRIVACY,
            goal=Goal.MINIMIZE,
            bounds=(0, 1),
            value=0.5,
            details={"roc": {"fpr": [0, 1], "tpr": [0]}},
        ),
        MetricResult(
            id="thirdparty.unknown",
            family=Family.PRIVACY,
            goal=Goal.MINIMIZE,
            bounds=(None, None),
            value=None,
            status="error",
            message="boom",
            details={"nested": {"deep": [1, 2]}},
        ),
    ]
    run = _bare_run(
        metrics=weird,
        profiles={"columns": {"a": {"kind": "numeric", "edges": "bad"}, "b": 3}},
        provenance={"dp": None, "odd": [1, {"x": 2}]},
    )
    html = render_html(run)
    assert "NO VERDICT" in html and "boom" in html and "not differentially private" in html
    alts = re.findall(r'<img src="data:[^"]+" alt="([^"]*)"', html)
    # the headline utility value and the two privacy values on their own scales were drawable
    assert [a for a in alts if not a.startswith("key")] == [
        "Train on real vs train on synthetic",
        "Privacy measures on their own scales",
    ]


def test_long_tables_are_capped():
    run = _bare_run(metrics=[], schema={f"c{i}": "numeric" for i in range(150)}, **gate_parts(n_rules=MAX_RULES + 30))
    html = render_html(run)
    assert "30 more rules are not shown" in html
    assert "90 more columns are not listed" in html


def test_html_written_beside_results(gate_run, tmp_path):
    gate_run.write(tmp_path)
    written = render_reports(tmp_path, ["html"])
    assert written == {"html": tmp_path / "report.html"}
    assert "Synthetic data release report" in written["html"].read_text(encoding="utf-8")


def test_bad_input(tmp_path, gate_run):
    with pytest.raises(BadInputError, match="no results.json"):
        render_reports(tmp_path, ["html"])
    (tmp_path / "results.json").write_text("{}", encoding="utf-8")
    with pytest.raises(BadInputError, match="not a qaharness results.json"):
        render_reports(tmp_path, ["html"])
    gate_run.write(tmp_path)
    with pytest.raises(BadInputError, match="unknown report format"):
        render_reports(tmp_path, ["docx"])
    with pytest.raises(BadInputError, match="ticket"):
        render_reports(tmp_path, ["html"], ticket="../../etc")
    with pytest.raises(BadInputError, match="--sign needs the pdf"):
        render_reports(tmp_path, ["html"], sign=True)
    with pytest.raises(BadInputError, match="keys init"):
        render_reports(tmp_path, ["pdf"], sign=True, keys=tmp_path / "nokeys")


# -- profiles -----------------------------------------------------------------------------------


def test_profiles_mask_rare_categories_and_clip_numeric_edges():
    rng = np.random.default_rng(0)
    n = 200
    real = pd.DataFrame({"x": np.r_[rng.normal(0, 1, n - 1), 1e6], "c": ["common"] * (n - 3) + ["Jane Doe"] * 3})
    synthetic = pd.DataFrame({"x": rng.normal(0, 1, n), "c": ["common"] * n})
    data = prepare_inputs(real, synthetic)
    profiles = column_profiles(data)
    x, c = profiles["columns"]["x"], profiles["columns"]["c"]
    assert max(x["edges"]) < 1e5, "an extreme real value must not become a bin edge"
    assert sum(x["real"]) == pytest.approx(1.0) and sum(x["synthetic"]) == pytest.approx(1.0)
    assert "Jane Doe" not in json.dumps(profiles)
    assert any(label.startswith("rare#") for label in c["categories"])
    assert c["real"][c["categories"].index("common")] == pytest.approx((n - 3) / n)


def test_profiles_cap_columns_and_round_trip(gate_run):
    real, synthetic, _ = evil_frames()
    profiles = column_profiles(prepare_inputs(real, synthetic), max_columns=2)
    assert profiles["truncated"] and len(profiles["columns"]) == 2 and profiles["n_columns"] == 6
    assert gate_run.profiles and EVIL in gate_run.profiles["columns"]
    assert Run.from_json(gate_run.to_json()) == gate_run
    bare = gate_run.model_copy(update={"profiles": None})
    assert "profiles" not in bare.to_dict()
