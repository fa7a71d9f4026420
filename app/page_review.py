"""Review: approve, reject or request changes on a run. Reviews are appended to the store, never edited.

The form keeps what was typed and chosen when a check fails (no decision is pre-selected, so a reset
can never turn a Reject into an Approve). Reject and Request changes need a comment; approving a run
whose verdict is FAIL needs a written reason or a waiver reference. A valid submission is shown back
as the exact decision to be recorded, and only "Confirm and record" appends it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from qaharness.app import _ui
from qaharness.app._data import DECISIONS, Identity, allowed_reviewers, identity, insecure_open_review, may_review
from qaharness.errors import BadInputError
from qaharness.store import RunStore

_NEEDS_COMMENT = ("reject", "request_changes")
_KEY = {name: f"qa_review_{name}" for name in ("reviewer", "decision", "comment", "waiver")}
_PENDING, _DONE, _FAILED = "qa_review_pending", "qa_review_done", "qa_review_failed"


def _who_may_sign(who: Identity, allowed: set[str]) -> bool:
    """Explain who is signing; returns whether this user may submit a review."""
    if not who.login:
        if allowed and not insecure_open_review():
            st.error(
                "**Sign-off is disabled.** A reviewers allow-list is set, but login is not configured, so the "
                "list cannot be enforced: anyone could type an allowed name. Configure OIDC login (`[auth]` in "
                "`.streamlit/secrets.toml`), or start the dashboard with `--insecure-open-review` to accept "
                "typed names from the list anyway."
            )
            return False
        st.warning(
            "**Login is not configured for this dashboard.** Anyone who can open it can sign off, and the "
            "reviewer name below is whatever they type: it is recorded but not verified."
            + (" Only names on the reviewers allow-list are accepted (open review)." if allowed else "")
            + " Configure OIDC login (`[auth]` in `.streamlit/secrets.toml`) and a reviewers allow-list "
            "(`[qaharness] reviewers = [...]`) to restrict sign-off."
        )
        return True
    if not who.logged_in:
        st.info("Sign in to review. Without signing in you can read runs and reviews but not sign off.")
        if st.button("Log in", icon=":material/login:"):
            st.login()
        return False
    if not may_review(who, allowed):
        st.warning(
            f"You are signed in as **{_ui.md(who.who)}**, who is not on this dashboard's reviewers "
            "allow-list: you can read runs and reviews but not sign off."
            + ("" if allowed else " (The allow-list is empty: nobody may sign off until one is set.)")
        )
        return False
    st.success(f"Signed in as **{_ui.md(who.who)}**; you may sign off.")
    return True


def check_review(
    *, verdict: str | None, reviewer: str, decision: str | None, comment: str, waiver: str, allowed_typed: bool
) -> str | None:
    """Why this review cannot be recorded, or None when it can."""
    if not reviewer.strip():
        return "Enter your name: a review needs a reviewer."
    if not allowed_typed:
        return f"{_ui.md(reviewer.strip())} is not on this dashboard's reviewers allow-list."
    if decision not in DECISIONS:
        return "Choose a decision: Approve, Reject or Request changes."
    if decision in _NEEDS_COMMENT and not comment.strip():
        return f"Say why in the comment: '{DECISIONS[decision]}' needs one."
    if decision == "approve" and verdict == "fail" and not (comment.strip() or waiver.strip()):
        return (
            "This run FAILED its policy: approving it needs a written reason in the comment or the waiver "
            "that accepts the risk (e.g. RISK-42, signed by the data protection officer)."
        )
    return None


def _form(run_id: str, verdict: str | None, who: Identity, allowed: set[str]) -> None:
    with st.form("review", clear_on_submit=False):
        if who.login:
            reviewer = who.who or ""
            st.markdown(f"Reviewer: **{_ui.md(reviewer)}**")
        else:
            reviewer = st.text_input("Your name", placeholder="e.g. Ana Ruiz, privacy lead", key=_KEY["reviewer"])
        decision = st.radio(
            "Decision", list(DECISIONS), index=None, format_func=DECISIONS.get, horizontal=True, key=_KEY["decision"]
        )
        comment = st.text_area("Comment", placeholder="What you checked, and why you decided so.", key=_KEY["comment"])
        waiver = ""
        if verdict == "fail":
            waiver = st.text_input(
                "Waiver (approving a failed run)",
                placeholder="the accepted-risk reference, e.g. RISK-42 (DPO, until 2027-03-31)",
                key=_KEY["waiver"],
            )
        submitted = st.form_submit_button("Submit review", type="primary")
    if not submitted:
        return
    st.session_state.pop(_DONE, None)
    typed_ok = who.login or may_review(who, allowed, typed=reviewer)
    problem = check_review(
        verdict=verdict, reviewer=reviewer, decision=decision, comment=comment, waiver=waiver, allowed_typed=typed_ok
    )
    if problem:
        st.session_state.pop(_PENDING, None)
        st.error(problem)
        return
    st.session_state[_PENDING] = {
        "run_id": run_id,
        "verdict": verdict,
        "reviewer": reviewer.strip(),
        "decision": decision,
        "comment": comment.strip(),
        "waiver": waiver.strip(),
    }


def _record(store: RunStore, pending: dict[str, Any]) -> None:
    """Confirm: append the review, then clear the decision, comment and waiver (the name stays)."""
    st.session_state.pop(_PENDING, None)
    try:
        review_id = store.add_review(
            pending["run_id"],
            reviewer=pending["reviewer"],
            decision=pending["decision"],
            comment=pending["comment"],
            waiver=pending["waiver"],
        )
    except BadInputError as exc:
        st.session_state[_FAILED] = str(exc)
        return
    st.session_state[_DONE] = {
        "run_id": pending["run_id"],
        "text": f"Review {review_id} recorded: {DECISIONS[pending['decision']]} by {pending['reviewer']}.",
    }
    st.session_state[_KEY["decision"]] = None
    st.session_state[_KEY["comment"]] = ""
    st.session_state[_KEY["waiver"]] = ""


def _confirm(store: RunStore, pending: dict[str, Any]) -> None:
    decision = DECISIONS[pending["decision"]]
    verdict = str(pending["verdict"] or "not gated").upper()
    with st.container(border=True):
        st.markdown(f"#### About to record: **{decision}**")
        lines = [
            f"- **decision:** {decision} on run {_ui.md(pending['run_id'])} (verdict {verdict})",
            f"- **reviewer:** {_ui.md(pending['reviewer'])}",
            f"- **comment:** {_ui.md(pending['comment']) or '(none)'}",
        ]
        if pending["waiver"]:
            lines.append(f"- **waiver:** {_ui.md(pending['waiver'])}")
        st.markdown("\n".join(lines))
        st.caption("Reviews are appended to the run store and never edited: check before you confirm.")
        left, right = st.columns(2)
        left.button("Confirm and record", type="primary", on_click=_record, args=(store, pending))
        right.button("Change it", on_click=lambda: st.session_state.pop(_PENDING, None))


def _body() -> None:
    st.title("Review")
    loaded = _ui.page_store()
    if loaded is None:
        return
    store, runs = loaded
    run_id = _ui.pick_run(runs, "Run to review")
    row = runs.set_index("run_id").loc[run_id]
    policy = f"{row['policy_id']} v{row['policy_version']}" if row["policy_id"] else "not gated"
    st.markdown(
        f"{_ui.verdict_badge(row['verdict'])} · {_ui.md(policy)} · dataset {_ui.md(row['dataset_version'])} · "
        f"generator {_ui.md(row['generator'] or '—')}"
    )
    st.page_link(
        _ui.PAGES["run"],
        label="See the run's rules and metrics",
        icon=":material/query_stats:",
        query_params={"run": run_id},
    )
    done = st.session_state.get(_DONE)
    if done and done["run_id"] == run_id:
        st.success(_ui.md(done["text"]))
    if st.session_state.get(_FAILED):
        st.error(_ui.md(st.session_state.pop(_FAILED)))
    who = identity(st.user)
    allowed = allowed_reviewers(st.secrets)
    if _who_may_sign(who, allowed):
        verdict = row["verdict"] if row["verdict"] in ("pass", "warn", "fail") else None
        _form(run_id, verdict, who, allowed)
        pending = st.session_state.get(_PENDING)
        if pending and pending["run_id"] == run_id:
            _confirm(store, pending)
    st.subheader("Reviews of this run")
    st.caption("Reviews are appended to the run store and never edited; the newest decision stands.")
    _ui.reviews_table(store, run_id)


_ui.guard(_body)
