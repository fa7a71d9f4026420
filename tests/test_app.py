"""The reviewer dashboard through streamlit.testing.v1.AppTest: every page, empty store and a store of runs."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
from _app_fixtures import HOSTILE, build_store, store_copy
from streamlit.testing.v1 import AppTest

from qaharness.app import _ui
from qaharness.app._data import Identity, allowed_reviewers, dataset_version, identity, may_review
from qaharness.results import RuleResult
from qaharness.store import RunStore

MAIN = str(resources.files("qaharness.app") / "main.py")
PAGES = ("page_runs.py", "page_run.py", "page_compare.py", "page_policies.py", "page_review.py")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    return build_store(tmp_path_factory.mktemp("app-store"))


@pytest.fixture
def store(template, tmp_path, monkeypatch) -> tuple[RunStore, dict[str, str]]:
    return store_copy(template, tmp_path, monkeypatch)


def _app(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [*at.markdown, *at.info, *at.warning, *at.error, *at.success, *at.caption, *at.title, *at.html]
    return "\n".join(str(p.value) for p in parts)


def _unescaped(text: str) -> str:
    """What the Markdown shows: backslash escapes removed."""
    return text.replace("\\", "")


# -- empty store --------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_every_page_on_a_missing_store_says_how_to_start(page, tmp_path, monkeypatch):
    monkeypatch.setenv("QAHARNESS_STORE", str(tmp_path / "none.duckdb"))
    at = _app(page)
    text = _unescaped(_text(at))
    if page == "page_policies.py":
        assert "Policies" in text
    else:
        commands = "\n".join(c.value for c in at.code)
        assert "No runs yet" in text and "qaharness demo" in commands and "qaharness app --store" in commands


def test_an_existing_but_empty_store_shows_the_help(tmp_path, monkeypatch):
    path = tmp_path / "empty.duckdb"
    RunStore(path)._write(lambda con: None)  # creates the tables, no runs
    monkeypatch.setenv("QAHARNESS_STORE", str(path))
    assert "No runs yet" in _text(_app())


# -- a store of runs ----------------------------------------------------------------------
def test_runs_page_lists_filters_and_trends(store):
    _, ids = store
    at = _app()
    table = at.dataframe[0].value
    assert set(table["run_id"]) == set(ids.values())
    assert at.get("plotly_chart"), "no trend chart"
    verdict = next(m for m in at.multiselect if m.label == "Verdict")
    verdict.set_value(["fail"]).run()
    assert list(at.dataframe[0].value["run_id"]) == [ids["fail"]]
    assert "1 of 3 runs" in _text(at)


def test_runs_page_opens_a_run(store):
    _, ids = store
    at = _app()
    at.selectbox[0].set_value(ids["pass"]).run()
    at.button[0].click().run()
    assert not at.exception
    assert ids["pass"] in _text(at) and "PASS" in _text(at)


def test_pages_wait_for_a_gate_holding_the_write_lock(store):
    """Another process holds the store read-write (as a gate does); the page retries and then shows the runs."""
    runs, ids = store
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
                "time.sleep(3); con.close()"
            ),
            str(runs.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        at = _app("page_run.py", run=ids["pass"])
        assert holder.poll() is not None, "the page finished while the lock was still held"
        assert ids["pass"] in _text(at)
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_run_page_shows_a_large_verdict_naming_the_failed_rules(store):
    _, ids = store
    at = _app("page_run.py", run=ids["fail"])
    (badge,) = [h.value for h in at.html if "qa-verdict" in h.value]
    assert ">FAIL</div>" in badge and "background:#c62828" in badge and "font-size:2.6rem" in badge
    text = _unescaped(_text(at))
    assert "**2 of 4 rules failed:** ks-max, budget-cap" in text
    assert "release-default v1" in text and ids["fail"] in text


def test_run_page_rules_are_coloured_and_failed_first(store):
    _, ids = store
    at = _app("page_run.py", run=ids["fail"])
    rules = at.dataframe[0].value
    assert list(rules["outcome"]) == ["fail", "insufficient evidence", "waived", "pass"]
    assert list(rules["rule"]) == ["ks-max", "budget-cap", "singling-out", "detection-auc"]
    assert rules.loc[1, "reads"] == "budget" and rules.loc[1, "observed"] == "—"
    assert "A classifier must not tell real from synthetic." in set(rules["rationale"])
    assert "dpo until 2026-12-31: internal use only" in set(rules["waiver"])
    styled = at.dataframe[0].proto.arrow_data.styler.styles
    assert _ui.OUTCOME_BACKGROUND["fail"] in styled and _ui.OUTCOME_BACKGROUND["pass"] in styled


def test_style_outcomes_colours_each_cell_by_its_rule(store):
    frame = _ui.rules_frame(
        [
            RuleResult(id="a", metric="m.x", status="pass"),
            RuleResult(id="b", metric="m.y", status="fail", severity="warn"),
            RuleResult(id="c", metric="m.z", status="fail"),
        ]
    )
    classes = frame.pop("_class")
    assert list(frame["rule"]) == ["c", "b", "a"] and list(classes) == ["fail", "warn", "pass"]
    css = _ui.style_outcomes(frame, classes)._compute().ctx
    assert ("background-color", _ui.OUTCOME_BACKGROUND["warn"]) in css[(1, 0)]


def test_run_page_drilldown_privacy_provenance_without_none(store):
    _, ids = store
    at = _app("page_run.py", run=ids["fail"])
    assert len(at.get("plotly_chart")) >= 3  # metric values, per-column, privacy
    per_column = next(s for s in at.selectbox if s.label == "Metric")
    per_column.set_value("fidelity.js").run()
    assert not at.exception
    assert "fidelity.js per column" in str(at.get("plotly_chart")[1].proto.spec)
    assert "gaussian_copula" in str([j.proto.body for j in at.json])
    metrics = at.dataframe[1].value
    assert "None" not in metrics.to_string() and "nan" not in metrics.to_string()
    privacy = next(d.value for d in at.dataframe if "what it measures" in d.value.columns and len(d.value) == 1)
    assert privacy.loc[0, "baseline"] == "0.0100" and privacy.loc[0, "ideal"] == "0.000"


def test_the_chosen_run_follows_the_reviewer_across_pages(store):
    _, ids = store
    at = _app("page_run.py", run=ids["fail"])
    at.selectbox[0].set_value(ids["pass"]).run()
    assert ids["pass"] in _text(at) and at.query_params["run"] == ids["pass"]
    at.switch_page("page_review.py").run()
    assert at.selectbox[0].value == ids["pass"] and not at.exception


def test_run_page_names_an_unknown_run(store):
    at = _app("page_run.py", run="nosuchrun")
    assert "No run 'nosuchrun'" in _unescaped(_text(at))


def test_compare_page_side_by_side_failed_first_and_coloured(store):
    _, ids = store
    at = _app("page_compare.py", runs=f"{ids['pass']},{ids['fail']}")
    summary, rules, metrics = (d.value for d in at.dataframe[:3])
    assert list(summary.loc["verdict"]) == ["pass", "fail"]
    assert list(rules.index[:2]) == ["ks-max", "budget-cap"], "rules that failed in any run come first"
    assert rules.loc["ks-max"].str.startswith("fail").tolist() == [False, True]
    assert rules.loc["singling-out"].str.startswith("waived").tolist() == [False, True]
    assert rules.loc["budget-cap"].tolist() == ["", "insufficient evidence"]
    assert _ui.OUTCOME_BACKGROUND["fail"] in at.dataframe[1].proto.arrow_data.styler.styles
    assert "difference" in metrics.columns and "privacy.singling_out" in metrics.index
    assert at.get("plotly_chart")


def test_policies_page_renders_each_policy_with_its_rationale(store):
    at = _app("page_policies.py")
    assert any("release-default" in _unescaped(e.label) and "2 run(s)" in e.label for e in at.expander)
    rule_tables = [d.value["id"].tolist() for d in at.dataframe if "threshold" in d.value.columns]
    assert ["detection-auc", "ks-max", "singling-out"] in rule_tables
    assert "Singling out must not beat the control set." in _unescaped(_text(at))


def test_policies_page_refuses_a_policy_file_the_gate_would_refuse(store, template):
    """A policy file changed on disk after its runs (here: a YAML alias) is named, never expanded or shown."""
    runs, ids = store
    bad = template[0].parent / "aliased.yaml"
    bad.write_text("id: aliased\nversion: '1'\nrules: &r []\nwaivers: *r\n", encoding="utf-8")
    run = runs.get_run(ids["fail"])
    policy = run.policy.model_copy(update={"source": str(bad), "id": "aliased"})
    runs.record_run(run.model_copy(update={"policy": policy}), kind="gate")
    at = _app("page_policies.py")
    assert any("alias" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("aliased" in _unescaped(e.label) for e in at.expander)


def test_policies_page_reads_the_packaged_policies(tmp_path, monkeypatch):
    monkeypatch.setenv("QAHARNESS_STORE", str(tmp_path / "none.duckdb"))
    packaged = sorted(p.name for p in resources.files("qaharness.policies").iterdir() if p.name.endswith(".yaml"))
    at = _app("page_policies.py")
    assert packaged and len(at.expander) >= len(packaged) and not at.error


# -- data-derived text is escaped -----------------------------------------------------------
@pytest.fixture
def hostile(tmp_path, monkeypatch) -> tuple[RunStore, dict[str, str]]:
    path, ids = build_store(tmp_path, hostile=True)
    monkeypatch.setenv("QAHARNESS_STORE", str(path))
    monkeypatch.delenv("QAHARNESS_REVIEWERS", raising=False)
    return RunStore(path), ids


@pytest.mark.parametrize("page", ["page_run.py", "page_review.py", "page_compare.py", "page_runs.py"])
def test_generator_names_and_tickets_cannot_inject_markdown(hostile, page):
    _, ids = hostile
    at = _app(page, run=ids["fail"], runs=f"{ids['pass']},{ids['fail']}")
    markdown = "\n".join(str(m.value) for m in [*at.markdown, *at.caption, *at.warning, *at.error, *at.info])
    for live in (r"\]\(http", r"!\[", r"<img", r":red\["):
        assert not re.search(r"(?<!\\)" + live, markdown), f"{live!r} reached Markdown unescaped on {page}"
    if page in ("page_run.py", "page_review.py"):
        assert r"\[Approve here\]\(http\:\/\/127\.0\.0\.1\:9\/x\)" in markdown  # shown, as text
    charts = "\n".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    assert "<img" not in charts and "<a " not in charts


def test_md_escapes_every_markdown_construct():
    assert _ui.md("![x](http://e/p.png)") == r"\!\[x\]\(http\:\/\/e\/p\.png\)"
    assert _ui.md("a\nb  *c*") == r"a b \*c\*"
    assert _ui.md(":red[x] :material/home: $x$") == r"\:red\[x\] \:material\/home\: \$x\$"
    assert _ui.chart_text('<a href="x">y</a>') == '&lt;a href="x"&gt;y&lt;/a&gt;'
    assert HOSTILE  # the fixture's injection attempt is what the page tests above feed in


# -- the pieces ---------------------------------------------------------------------------
def test_identity_reads_st_user_safely():
    assert identity({"email": "test@example.com"}) == Identity(login=False, logged_in=False)
    assert identity({"is_logged_in": False}) == Identity(login=True, logged_in=False)
    assert identity({"is_logged_in": True, "email": "a@b"}).who == "a@b"
    assert identity(object()) == Identity(login=False, logged_in=False)


def test_allow_list_from_secrets_and_environment(monkeypatch):
    monkeypatch.setenv("QAHARNESS_REVIEWERS", " x@y.org , ")
    assert allowed_reviewers({"qaharness": {"reviewers": ["A@B.org"]}}) == {"a@b.org", "x@y.org"}
    monkeypatch.delenv("QAHARNESS_REVIEWERS")
    assert allowed_reviewers({}) == set()
    signed_in = Identity(login=True, logged_in=True, email="a@b.org")
    assert may_review(signed_in, {"a@b.org"}) and not may_review(signed_in, set())


def test_without_login_an_allow_list_disables_sign_off_unless_open_review(monkeypatch):
    anonymous = Identity(login=False, logged_in=False)
    monkeypatch.delenv("QAHARNESS_INSECURE_OPEN_REVIEW", raising=False)
    assert may_review(anonymous, set()), "no login and no list: anyone (the page says so)"
    assert not may_review(anonymous, {"lead@example.org"}), "a list that login cannot enforce"
    monkeypatch.setenv("QAHARNESS_INSECURE_OPEN_REVIEW", "1")
    assert may_review(anonymous, {"lead@example.org"}, typed="Lead@example.org ")
    assert not may_review(anonymous, {"lead@example.org"}, typed="mallory@example.org")


def test_dataset_version_names_content():
    assert dataset_version("data/adult.parquet", "1234567890") == "adult.parquet@12345678"
    assert dataset_version(None, None) == "(unnamed)"


def test_runs_frame_keeps_its_columns(store):
    from qaharness.app._data import load_runs

    runs, _ = store
    frame = load_runs(runs)
    assert isinstance(frame, pd.DataFrame) and {"label", "review", "dataset_version"} <= set(frame.columns)
