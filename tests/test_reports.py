"""HTML/PDF reports rendered from results.json: content, escaping, self-containment, page 1 not blank."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from _report_fixtures import EVIL, build_run, evil_frames

from qaharness.errors import BadInputError
from qaharness.inputs import prepare_inputs
from qaharness.profile import column_profiles
from qaharness.reports import _charts, render_reports, report_paths
from qaharness.reports.html import render_html
from qaharness.results import Family, Goal, MetricResult, Run


@pytest.fixture(scope="module")
def gate_run() -> Run:
    return build_run(ticket="DATA-123")


@pytest.fixture(scope="module")
def gate_html(gate_run) -> str:
    return render_html(gate_run)


@pytest.fixture(scope="module")
def rendered(gate_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    gate_run.write(folder)
    return folder, render_reports(folder, ["html", "pdf"])


def _svgs(html: str) -> list[str]:
    return [
        base64.b64decode(uri).decode("utf-8")
        for uri in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    ]


def test_html_is_self_contained(gate_html):
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:)", gate_html), "only data: URIs may be referenced"
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


def test_content_verdict_policy_rules_and_pillars(gate_run, gate_html):
    text = re.sub(r"<[^>]+>", " ", gate_html)
    assert "FAIL" in text and "release-default" in text and "2026.11" in text and "ab" * 32 in text
    assert "0.95 * baseline" in gate_html and "dpo@example.org" in gate_html and "2027-01-01" in gate_html
    assert "Ticket DATA-123" in text
    for title in ("Fidelity", "Utility", "Privacy", "Provenance and privacy budget", "Reproducibility"):
        assert title in text
    # a plain-language line per registered metric, from the metric class
    from qaharness.metrics import get_metric

    for m in gate_run.metrics:
        if m.family is Family.FIDELITY:
            assert get_metric(m.id).description in gate_html
    # inputs with fingerprints, reproducibility: seed, command, versions; DP budget
    for info in gate_run.inputs.values():
        assert info.sha256 in gate_html
    assert "qaharness evaluate --real real.csv" in gate_html
    assert f"numpy {gate_run.environment['numpy']}" in gate_html
    assert "ε = 3.000" in gate_html and "accountant prv" in gate_html
    assert "needs a holdout" in gate_html  # skipped metric with its reason


def test_charts_drawn_where_details_exist(gate_html):
    alts = re.findall(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="([^"]*)"', gate_html)
    for expected in (
        "Associations between columns",
        "Train on real vs train on synthetic",
        "Feature importances side by side",
        "Distance to closest record (DCR)",
        "Membership inference ROC",
        "Privacy risks",
        "age",
        "income",
    ):
        assert expected in alts, expected
    assert any("&lt;script&gt;" in a for a in alts)  # the hostile column's distribution


def test_charts_are_deterministic():
    first = _charts.histogram("x", [0, 1, 2], [0.5, 0.5], [0.25, 0.75])
    assert first == _charts.histogram("x", [0, 1, 2], [0.5, 0.5], [0.25, 0.75])
    svg = base64.b64decode(first.split(",", 1)[1]).decode()
    assert "<dc:date>" not in svg


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
            details={"per_model": "garbage", "score": 3},
        ),
        MetricResult(
            id="utility.feature_importance_corr",
            family=Family.UTILITY,
            goal=Goal.MAXIMIZE,
            bounds=(-1, 1),
            value=0.1,
            details={"importances": {"feature": ["a"], "permutation_real": ["?"]}},
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
    run = Run(
        qaharness_version="0",
        created_at="2026-01-01T00:00:00+00:00",
        seed=1,
        inputs={},
        schema={},
        metrics=weird,
        profiles={"columns": {"a": {"kind": "numeric", "edges": "bad"}, "b": 3}},
        provenance={"dp": None, "odd": [1, {"x": 2}]},
    )
    html = render_html(run)
    assert "NO VERDICT" in html and "boom" in html and "not differentially private" in html
    alts = re.findall(r'<img src="data:[^"]+" alt="([^"]*)"', html)
    assert alts == ["Train on real vs train on synthetic"]  # only the headline utility value was drawable


def test_long_tables_are_capped():
    from _report_fixtures import gate_parts

    from qaharness.reports._context import MAX_RULES

    parts = gate_parts(n_rules=MAX_RULES + 30)
    run = Run(
        qaharness_version="0",
        created_at="2026-01-01T00:00:00+00:00",
        seed=1,
        inputs={},
        schema={f"c{i}": "numeric" for i in range(150)},
        metrics=[],
        **parts,
    )
    html = render_html(run)
    assert "30 more rules are not shown" in html
    assert "90 more columns are not listed" in html


@pytest.mark.slow
def test_pdf_page_one_not_blank_and_ticket_everywhere(rendered, tmp_path):
    folder, written = rendered
    pdf = written["pdf"]
    assert pdf.name == "report-DATA-123.pdf" and pdf == report_paths(folder, "DATA-123")["pdf"]
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed: apt-get install poppler-utils")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(tmp_path / "page1")],
        check=True,
    )
    from PIL import Image

    pixels = np.asarray(Image.open(tmp_path / "page1.png").convert("L"))
    assert (pixels < 200).mean() > 0.02, "page 1 is (nearly) blank"
    first_page = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "DATA-123" in first_page and "FAIL" in first_page
    from pyhanko.pdf_utils.reader import PdfFileReader

    with pdf.open("rb") as handle:
        info = PdfFileReader(handle).trailer_view["/Info"]
        assert "DATA-123" in str(info["/Title"]) and "DATA-123" in str(info["/Keywords"])
        assert str(info["/ticket"]) == "DATA-123"


@pytest.mark.slow
def test_html_written_beside_results(rendered):
    folder, written = rendered
    assert written["html"] == folder / "report.html"
    assert "Synthetic data QA report" in written["html"].read_text(encoding="utf-8")


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


@pytest.mark.slow
def test_200_column_report_renders_to_pdf_quickly(tmp_path):
    import time

    from qaharness.api import evaluate

    rng = np.random.default_rng(7)

    def frame(n: int) -> pd.DataFrame:
        cols = {f"num_{i}": rng.normal(i % 5, 1 + i % 3, n) for i in range(150)}
        cols.update({f"cat_{i}": rng.choice(["a", "b", "c", "d"], n) for i in range(50)})
        return pd.DataFrame(cols)

    run = evaluate(frame(150), frame(150), metrics=["fidelity.ks", "fidelity.js", "fidelity.corr_diff"], seed=0)
    run.write(tmp_path)
    start, cpu_start = time.perf_counter(), time.process_time()
    written = render_reports(tmp_path, ["html", "pdf"])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # rendering is single-threaded: CPU time is what it costs on an idle machine (about 7 s here);
    # wall time on a 2-core box shared with other jobs says more about the neighbours
    assert cpu < 30, f"200-column report took {cpu:.1f} s of CPU ({wall:.1f} s wall)"
    html = written["html"].read_text(encoding="utf-8")
    assert "30 columns with the largest differences, of 200" in html
    assert "24 of 200 columns shown" in html
    assert "more rows are not shown" in html
