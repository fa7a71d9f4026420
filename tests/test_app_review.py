"""The Review page: the form keeps its state on a validation error, approving a FAIL run needs a reason or a
waiver, the decision is shown before it is appended, and who may sign off follows login and the allow-list."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from _app_fixtures import build_store, store_copy
from streamlit.testing.v1 import AppTest

from qaharness.app.page_review import check_review
from qaharness.store import RunStore

MAIN = str(resources.files("qaharness.app") / "main.py")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    return build_store(tmp_path_factory.mktemp("review-store"))


@pytest.fixture
def store(template, tmp_path, monkeypatch) -> tuple[RunStore, dict[str, str]]:
    return store_copy(template, tmp_path, monkeypatch)


def _review(run_id: str, user: dict | None = None, secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["run"] = run_id
    if user is not None:
        at.user = user
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    at.run()
    at.switch_page("page_review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [*at.markdown, *at.info, *at.warning, *at.error, *at.success, *at.caption]
    return "\n".join(str(p.value) for p in parts).replace("\\", "")


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _submit(at: AppTest, *, name: str | None = None, decision: str | None = None, comment: str | None = None,
            waiver: str | None = None) -> AppTest:  # fmt: skip
    if name is not None:
        at.text_input(key="qa_review_reviewer").input(name)
    if decision is not None:
        at.radio(key="qa_review_decision").set_value(decision)
    if comment is not None:
        at.text_area(key="qa_review_comment").input(comment)
    if waiver is not None:
        at.text_input(key="qa_review_waiver").input(waiver)
    _button(at, "Submit review").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_validation_error_keeps_the_form_and_nothing_is_recorded(store):
    runs, ids = store
    at = _review(ids["fail"])
    assert at.radio(key="qa_review_decision").value is None, "no decision is pre-selected"
    _submit(at, name="Ana Ruiz", decision="reject")
    assert "Say why in the comment: 'Reject' needs one." in _text(at)
    # the choice and the name survive the error: a second Submit cannot record the opposite decision
    assert at.radio(key="qa_review_decision").value == "reject"
    assert at.text_input(key="qa_review_reviewer").value == "Ana Ruiz"
    _submit(at, comment="KS on income too high; retrain.")
    assert "About to record: **Reject**" in _text(at) and runs.reviews(ids["fail"]).empty
    _button(at, "Confirm and record").click().run()
    reviews = runs.reviews(ids["fail"])
    assert reviews[["reviewer", "decision", "comment"]].values.tolist() == [
        ["Ana Ruiz", "reject", "KS on income too high; retrain."]
    ]
    assert "recorded: Reject by Ana Ruiz" in _text(at)
    assert at.radio(key="qa_review_decision").value is None, "the form is cleared after recording"
    assert at.dataframe[-1].value["decision"].tolist() == ["Reject"]


def test_approving_a_failed_run_needs_a_reason_or_a_waiver(store):
    runs, ids = store
    at = _review(ids["fail"])
    _submit(at, name="Bo", decision="approve")
    assert "This run FAILED its policy: approving it needs a written reason" in _text(at)
    _submit(at, waiver="RISK-42 (DPO, until 2027-03-31)")
    text = _text(at)
    assert "About to record: **Approve**" in text and "verdict FAIL" in text and "RISK-42" in text
    _button(at, "Confirm and record").click().run()
    assert runs.reviews(ids["fail"])[["decision", "waiver"]].values.tolist() == [
        ["approve", "RISK-42 (DPO, until 2027-03-31)"]
    ]


def test_a_passing_run_is_approved_without_a_comment_and_change_it_records_nothing(store):
    runs, ids = store
    at = _review(ids["pass"])
    assert not [t for t in at.text_input if t.key == "qa_review_waiver"], "no waiver field for a passing run"
    _submit(at, name="Bo")
    assert "Choose a decision" in _text(at)
    _submit(at, decision="approve")
    _button(at, "Change it").click().run()
    assert "About to record" not in _text(at) and runs.reviews(ids["pass"]).empty
    _submit(at)
    _button(at, "Confirm and record").click().run()
    assert runs.reviews(ids["pass"])["decision"].tolist() == ["approve"]


def test_a_hostile_reviewer_name_is_shown_as_text(store):
    runs, ids = store
    at = _review(ids["pass"])
    _submit(at, name="![x](http://127.0.0.1:9/p.png)", decision="approve")
    raw = "\n".join(str(m.value) for m in at.markdown)
    assert "![x](" not in raw and r"\!\[x\]\(http" in raw
    _button(at, "Confirm and record").click().run()
    assert runs.reviews(ids["pass"])["reviewer"].tolist() == ["![x](http://127.0.0.1:9/p.png)"]
    assert "![x](" not in "\n".join(str(s.value) for s in at.success)


def _login(email: str | None) -> dict:
    return {"is_logged_in": email is not None, **({"email": email, "name": "N"} if email else {})}


def test_review_with_login_allows_only_the_allow_list(store):
    runs, ids = store
    secrets = {"qaharness": {"reviewers": ["lead@example.org"]}}
    at = _review(ids["pass"], _login(None), secrets)
    assert "Sign in to review" in _text(at) and not at.text_area
    at.user = _login("mallory@example.org")
    at.run()
    assert "not on this dashboard's reviewers allow-list" in _text(at) and not at.text_area
    at.user = _login("Lead@Example.org")
    at.run()
    assert not [t for t in at.text_input if t.key == "qa_review_reviewer"], "a signed-in reviewer types no name"
    at.radio(key="qa_review_decision").set_value("approve")
    _button(at, "Submit review").click().run()
    _button(at, "Confirm and record").click().run()
    assert runs.reviews(ids["pass"])["reviewer"].tolist() == ["Lead@Example.org"]


def test_an_allow_list_without_login_disables_sign_off(store, monkeypatch):
    _, ids = store
    monkeypatch.setenv("QAHARNESS_REVIEWERS", "lead@example.org")
    at = _review(ids["pass"])
    assert "Sign-off is disabled" in _text(at) and not at.text_area


def test_insecure_open_review_accepts_only_typed_names_on_the_list(store, monkeypatch):
    runs, ids = store
    monkeypatch.setenv("QAHARNESS_REVIEWERS", "lead@example.org")
    monkeypatch.setenv("QAHARNESS_INSECURE_OPEN_REVIEW", "1")
    at = _review(ids["pass"])
    assert "Only names on the reviewers allow-list are accepted (open review)" in _text(at)
    _submit(at, name="mallory@example.org", decision="approve")
    assert "is not on this dashboard's reviewers allow-list" in _text(at)
    _submit(at, name="lead@example.org")
    _button(at, "Confirm and record").click().run()
    assert runs.reviews(ids["pass"])["reviewer"].tolist() == ["lead@example.org"]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"reviewer": " "}, "needs a reviewer"),
        ({"decision": None}, "Choose a decision"),
        ({"decision": "request_changes"}, "'Request changes' needs one"),
        ({"verdict": "fail"}, "FAILED its policy"),
        ({"allowed_typed": False}, "not on this dashboard's reviewers allow-list"),
    ],
)
def test_check_review_table(fields, problem):
    base = {
        "verdict": "pass",
        "reviewer": "Bo",
        "decision": "approve",
        "comment": "",
        "waiver": "",
        "allowed_typed": True,
    }
    assert check_review(**base) is None
    assert problem in (check_review(**{**base, **fields}) or "")
    assert check_review(**{**base, "verdict": "fail", "waiver": "RISK-1"}) is None
    assert check_review(**{**base, "verdict": "fail", "comment": "accepted for an internal pilot"}) is None
