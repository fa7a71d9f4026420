"""The reviewer dashboard through streamlit.testing.v1.AppTest: every page, empty store and a store of runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from conftest import make_mixed_frame
from streamlit.testing.v1 import AppTest

from qaharness.api import evaluate
from qaharness.app._data import Identity, allowed_reviewers, dataset_version, identity, may_review
from qaharness.results import Family, Goal, MetricResult, PolicyRef, RuleResult, Run
from qaharness.store import RunStore

MAIN = str(resources.files("qaharness.app") / "main.py")
PAGES = ("page_runs.py", "page_run.py", "page_compare.py", "page_policies.py", "page_review.py")
_RULES = [
    ("detection-auc", "fidelity.detection", "<=", 0.6, "A classifier must not tell real from synthetic."),
    ("ks-max", "fidelity.ks", "<=", 0.05, "Every numeric marginal stays close to the real one."),
    ("singling-out", "privacy.singling_out", "<=", 0.05, "Singling out must not beat the control set."),
]


_POLICY_YAML = """\
id: release-default
version: "1"
description: Default release policy for synthetic tabular data.
rules:
""" + "".join(
    f'  - id: {r}\n    metric: {m}\n    op: "{o}"\n    threshold: {t}\n    severity: error\n    rationale: {why}\n'
    for r, m, o, t, why in _RULES
)


def _privacy(value: float) -> MetricResult:
    return MetricResult(
        id="privacy.singling_out",
        family=Family.PRIVACY,
        value=value,
        goal=Goal.MINIMIZE,
        bounds=(0.0, 1.0),
        ci=(max(0.0, value - 0.02), value + 0.03),
        ci_level=0.95,
        baseline=0.01,
        details={"main_rate": value + 0.01, "control_rate": 0.01, "n_attacks": 500},
    )


def _detection(auc: float) -> MetricResult:
    """Hand-made: the real detection metric trains a classifier, too slow for a fixture."""
    return MetricResult(
        id="fidelity.detection",
        family=Family.FIDELITY,
        value=auc,
        goal=Goal.MINIMIZE,
        bounds=(0.5, 1.0),
        ci=(0.5, auc + 0.04),
        ci_level=0.95,
        baseline=0.52,
    )


def _gated(base: Run, *, verdict: str, generator: str, real_sha: str, hour: int, policy: Path) -> Run:
    worse = verdict == "fail"
    metrics = [
        m.model_copy(
            update={"value": min(1.0, 2 * m.value), "per_column": {c: min(1.0, 2 * v) for c, v in m.per_column.items()}}
        )
        if worse and m.id == "fidelity.ks"
        else m
        for m in base.metrics
    ]
    metrics += [_detection(0.58 if worse else 0.53), _privacy(0.09 if worse else 0.02)]
    by_id = {m.id: m for m in metrics}
    rules = [
        RuleResult(
            id=rule_id,
            metric=metric,
            op=op,
            threshold=threshold,
            observed=by_id[metric].value,
            status="fail" if worse and by_id[metric].value > threshold else "pass",
            message=f"{by_id[metric].value:.3f} {op} {threshold}",
            rationale=why,
        )
        for rule_id, metric, op, threshold, why in _RULES
    ]
    if worse:  # accepted risk on one failing rule
        rules[2] = rules[2].model_copy(
            update={
                "status": "waived",
                "waiver": {
                    "rule": "singling-out",
                    "owner": "dpo",
                    "reason": "internal use only",
                    "expires": "2026-12-31",
                    "active": True,
                },
            }
        )
    real = base.inputs["real"].model_copy(update={"source": "data/adult.parquet", "sha256": real_sha})
    return base.model_copy(
        update={
            "metrics": metrics,
            "rules": rules,
            "verdict": verdict,
            "inputs": {**base.inputs, "real": real},
            "created_at": f"2026-11-2{hour % 10}T{hour:02d}:00:00+00:00",
            "ticket": "REL-7",
            "policy": PolicyRef(id="release-default", version="1", sha256="ab" * 32, source=str(policy)),
            "provenance": {"generator": generator, "epochs": 10, "dp": {"epsilon": 3.0, "delta": 1e-5}},
        }
    )


def build_store(folder: Path) -> tuple[Path, dict[str, str]]:
    """A store of three runs: an ungated evaluate run, a passing and a failing gate (two dataset versions)."""
    base = evaluate(
        make_mixed_frame(150, 1),
        make_mixed_frame(150, 2),
        make_mixed_frame(100, 3),
        target="label",
        seed=0,
        metrics=["fidelity.ks", "fidelity.js", "fidelity.coverage"],
    )
    base = base.model_copy(update={"created_at": "2026-11-20T09:00:00+00:00"})
    policy = folder / "release-default.yaml"
    policy.write_text(_POLICY_YAML, encoding="utf-8")
    store = RunStore(folder / "runs.duckdb")
    ids = {"evaluate": store.record_run(base, kind="evaluate")}
    out = folder / "gate-pass"
    out.mkdir()
    (out / "report.html").write_text("<html><body><h1>qaharness report</h1></body></html>", encoding="utf-8")
    (out / "report.pdf").write_bytes(b"%PDF-1.4\n% a stand-in for the signed report /ByteRange [0 1 2 3]\n")
    passing = _gated(base, verdict="pass", generator="ctgan", real_sha="1" * 64, hour=11, policy=policy)
    ids["pass"] = store.record_run(
        passing,
        kind="gate",
        out_dir=out,
        artifacts={
            "results.json": passing.write(out),
            "report.html": out / "report.html",
            "report.pdf": out / "report.pdf",
        },
    )
    failing = _gated(base, verdict="fail", generator="gaussian_copula", real_sha="2" * 64, hour=12, policy=policy)
    ids["fail"] = store.record_run(failing, kind="gate")
    return store.path, ids


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    return build_store(tmp_path_factory.mktemp("app-store"))


@pytest.fixture
def store(template, tmp_path, monkeypatch) -> tuple[RunStore, dict[str, str]]:
    """A fresh copy of the three-run store, which the app reads through $QAHARNESS_STORE."""
    path = tmp_path / "runs.duckdb"
    shutil.copy(template[0], path)
    monkeypatch.setenv("QAHARNESS_STORE", str(path))
    monkeypatch.delenv("QAHARNESS_REVIEWERS", raising=False)
    return RunStore(path), template[1]


def _app(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [*at.markdown, *at.info, *at.warning, *at.error, *at.success, *at.caption, *at.title]
    return "\n".join(str(p.value) for p in parts)


# -- empty store --------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_every_page_on_a_missing_store_says_how_to_start(page, tmp_path, monkeypatch):
    monkeypatch.setenv("QAHARNESS_STORE", str(tmp_path / "none.duckdb"))
    at = _app(page)
    text = _text(at)
    if page == "page_policies.py":
        assert "Policies" in text
    else:
        assert "No runs yet" in text and "qaharness demo" in text and "qaharness app --store" in text


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
        assert f"run `{ids['pass']}`" in _text(at)
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_run_page_shows_verdict_rules_drilldown_privacy_provenance(store):
    _, ids = store
    at = _app("page_run.py", run=ids["fail"])
    text = _text(at)
    assert f"run `{ids['fail']}`" in text and "FAIL" in text and "release-default v1" in text
    rules = at.dataframe[0].value
    assert rules["status"].iloc[0] == "fail" and "rationale" in rules.columns
    assert "A classifier must not tell real from synthetic." in set(rules["rationale"])
    assert "dpo until 2026-12-31: internal use only" in set(rules["waiver"])
    assert len(at.get("plotly_chart")) >= 3  # metric values, per-column, privacy attacks
    per_column = next(s for s in at.selectbox if s.label == "Metric")
    per_column.set_value("fidelity.js").run()
    assert not at.exception
    assert "fidelity.js per column" in str(at.get("plotly_chart")[1].proto.spec)
    assert "gaussian_copula" in str([j.proto.body for j in at.json])


def test_the_chosen_run_follows_the_reviewer_across_pages(store):
    _, ids = store
    at = _app("page_run.py", run=ids["fail"])
    at.selectbox[0].set_value(ids["pass"]).run()
    assert f"run `{ids['pass']}`" in _text(at) and at.query_params["run"] == ids["pass"]
    at.switch_page("page_review.py").run()
    assert at.selectbox[0].value == ids["pass"] and not at.exception


def test_run_page_offers_the_recorded_downloads(store):
    _, ids = store
    at = _app("page_run.py", run=ids["pass"])
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["results.json", "HTML report", "signed PDF"]
    at = _app("page_run.py", run=ids["evaluate"])
    assert [d.proto.label for d in at.get("download_button")] == ["results.json"]
    assert "No PDF report recorded" in _text(at) and "not gated" in _text(at)


def test_run_page_finds_reports_beside_results_json(store, tmp_path):
    runs, ids = store
    out = tmp_path / "gate-out"
    out.mkdir()
    (out / "report.html").write_text("<html></html>", encoding="utf-8")
    (out / "report-REL-7.pdf").write_bytes(b"%PDF-1.4\n% not signed\n")
    run_id = runs.record_run(runs.get_run(ids["fail"]), kind="gate", out_dir=out)
    at = _app("page_run.py", run=run_id)
    assert [d.proto.label for d in at.get("download_button")] == [
        "results.json",
        "HTML report",
        "PDF report (unsigned)",
    ]


def test_run_page_names_an_unknown_run(store):
    at = _app("page_run.py", run="nosuchrun")
    assert "No run 'nosuchrun'" in _text(at)


def test_compare_page_side_by_side(store):
    _, ids = store
    at = _app("page_compare.py", runs=f"{ids['pass']},{ids['fail']}")
    summary, rules, metrics = (d.value for d in at.dataframe[:3])
    assert list(summary.loc["verdict"]) == ["pass", "fail"]
    assert rules.loc["ks-max"].str.contains("fail").tolist() == [False, True]
    assert rules.loc["singling-out"].str.startswith("waived").tolist() == [False, True]
    assert "difference" in metrics.columns and "privacy.singling_out" in metrics.index
    assert at.get("plotly_chart")


def test_policies_page_renders_each_policy_with_its_rationale(store):
    at = _app("page_policies.py")
    assert any("release-default" in e.label and "2 run(s)" in e.label for e in at.expander)
    rule_tables = [d.value["id"].tolist() for d in at.dataframe if "threshold" in d.value.columns]
    assert ["detection-auc", "ks-max", "singling-out"] in rule_tables
    assert "Singling out must not beat the control set." in _text(at)


def test_policies_page_reads_the_packaged_policies(tmp_path, monkeypatch):
    monkeypatch.setenv("QAHARNESS_STORE", str(tmp_path / "none.duckdb"))
    packaged = sorted(p.name for p in resources.files("qaharness.policies").iterdir() if p.name.endswith(".yaml"))
    at = _app("page_policies.py")
    if packaged:
        assert len(at.expander) >= len(packaged) and not at.error
    else:
        assert "No policies found" in _text(at)


def test_review_without_login_is_submitted_and_persisted(store):
    runs, ids = store
    at = _app("page_review.py", run=ids["fail"])
    assert "Login is not configured" in _text(at)
    at.text_input[0].input("Ana Ruiz")
    at.radio[0].set_value("request_changes")
    at.text_area[0].input("KS on income too high; retrain.")
    at.button[0].click().run()
    assert not at.exception
    reviews = runs.reviews(ids["fail"])
    assert list(reviews[["reviewer", "decision", "comment"]].iloc[0]) == [
        "Ana Ruiz",
        "request_changes",
        "KS on income too high; retrain.",
    ]
    assert "recorded" in _text(at)
    assert at.dataframe[-1].value["reviewer"].tolist() == ["Ana Ruiz"]


def test_review_needs_a_name_and_a_reason_to_reject(store):
    runs, ids = store
    at = _app("page_review.py", run=ids["pass"])
    at.radio[0].set_value("approve")
    at.button[0].click().run()
    assert "needs a reviewer" in _text(at)
    at.text_input[0].input("Bo")
    at.radio[0].set_value("reject")
    at.button[0].click().run()
    assert "needs one" in _text(at)
    assert runs.reviews(ids["pass"]).empty


def _login(at: AppTest, email: str | None) -> AppTest:
    at.user = {"is_logged_in": email is not None, **({"email": email, "name": "N"} if email else {})}
    return at


def test_review_with_login_allows_only_the_allow_list(store, monkeypatch):
    runs, ids = store
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["run"] = ids["pass"]
    at.secrets["qaharness"] = {"reviewers": ["lead@example.org"]}
    _login(at, None).run()
    at.switch_page("page_review.py").run()
    assert "Sign in to review" in _text(at) and not at.text_area
    _login(at, "mallory@example.org").run()
    assert "not on this dashboard's reviewers allow-list" in _text(at) and not at.text_area
    _login(at, "Lead@Example.org").run()
    assert not at.text_input, "a signed-in reviewer types no name"
    at.radio[0].set_value("approve")
    at.text_area[0].input("checked")
    at.button[0].click().run()
    assert runs.reviews(ids["pass"])["reviewer"].tolist() == ["Lead@Example.org"]


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
    assert may_review(Identity(login=False, logged_in=False), set())


def test_dataset_version_names_content():
    assert dataset_version("data/adult.parquet", "1234567890") == "adult.parquet@12345678"
    assert dataset_version(None, None) == "(unnamed)"
