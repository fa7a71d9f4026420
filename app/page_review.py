"""Review: approve, reject or request changes on a run, with a comment. Reviews are appended, never edited."""

from __future__ import annotations

import streamlit as st

from qaharness.app import _ui
from qaharness.app._data import DECISIONS, Identity, allowed_reviewers, identity, may_review
from qaharness.errors import BadInputError
from qaharness.store import RunStore

_NEEDS_COMMENT = ("reject", "request_changes")


def _who_may_sign(who: Identity, allowed: set[str]) -> bool:
    """Explain who is signing; returns whether this user may submit a review."""
    if not who.login:
        st.warning(
            "**Login is not configured for this dashboard.** Anyone who can open it can sign off, and "
            "the reviewer name below is whatever they type: it is recorded but not verified. "
            "Configure OIDC login (`[auth]` in `.streamlit/secrets.toml`) and a reviewers allow-list "
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
            f"You are signed in as **{who.who}**, who is not on this dashboard's reviewers "
            "allow-list: you can read runs and reviews but not sign off."
            + ("" if allowed else " (The allow-list is empty: nobody may sign off until one is set.)")
        )
        return False
    st.success(f"Signed in as **{who.who}**; you may sign off.")
    return True


def _form(store: RunStore, run_id: str, who: Identity) -> None:
    with st.form("review", clear_on_submit=True):
        if who.login:
            reviewer = who.who or ""
            st.markdown(f"Reviewer: **{reviewer}**")
        else:
            reviewer = st.text_input("Your name", placeholder="e.g. Ana Ruiz, privacy lead")
        decision = st.radio("Decision", list(DECISIONS), format_func=DECISIONS.get, horizontal=True)
        comment = st.text_area("Comment", placeholder="What you checked, and why you decided so.")
        submitted = st.form_submit_button("Submit review", type="primary")
    if not submitted:
        return
    if not reviewer.strip():
        st.error("Enter your name: a review needs a reviewer.")
        return
    if decision in _NEEDS_COMMENT and not comment.strip():
        st.error(f"Say why in the comment: '{DECISIONS[decision]}' needs one.")
        return
    try:
        review_id = store.add_review(run_id, reviewer=reviewer, decision=decision, comment=comment.strip())
    except BadInputError as exc:
        st.error(str(exc))
        return
    st.success(f"Review {review_id} recorded: {DECISIONS[decision]} by {reviewer.strip()}.")


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
        f"{_ui.verdict_badge(row['verdict'])} · {policy} · dataset `{row['dataset_version']}` · "
        f"generator `{row['generator'] or '—'}`"
    )
    st.page_link(
        _ui.PAGES["run"],
        label="See the run's rules and metrics",
        icon=":material/query_stats:",
        query_params={"run": run_id},
    )
    who = identity(st.user)
    if _who_may_sign(who, allowed_reviewers(st.secrets)):
        _form(store, run_id, who)
    st.subheader("Reviews of this run")
    st.caption("Reviews are appended to the run store and never edited; the newest decision stands.")
    _ui.reviews_table(store, run_id)


_ui.guard(_body)
