"""Pieces every page uses: escaping, the run picker, the verdict banner, rule colours, downloads, help.

Every string that comes from data (generator names, tickets, reviewer names, manifest fields, rule
messages, file paths) goes through :func:`md` before it reaches Markdown (``st.markdown``,
``st.caption``, alerts, expander labels), so a manifest cannot inject a link, an image (a tracking
pixel) or Streamlit's ``:color[...]`` directives. Tables and JSON views show text as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from qaharness._format import fmt, outcome_class, outcome_rank, rule_outcome, rule_subject, threshold_text
from qaharness.errors import QAHarnessError
from qaharness.results import RuleResult, Run
from qaharness.store import RunStore

from ._artifacts import find_artifact, pdf_label
from ._data import DECISIONS, load_runs, open_store, store_path

__all__ = [
    "PAGES",
    "OUTCOME_BACKGROUND",
    "md",
    "chart_text",
    "page_store",
    "pick_run",
    "verdict_badge",
    "verdict_banner",
    "rules_frame",
    "style_outcomes",
    "downloads",
    "empty_store",
    "fmt",
    "reviews_table",
    "guard",
]

# Page scripts, relative to main.py (st.switch_page / st.page_link take these paths).
PAGES = {
    "runs": "page_runs.py",
    "run": "page_run.py",
    "compare": "page_compare.py",
    "policies": "page_policies.py",
    "review": "page_review.py",
}
_VERDICT_COLOUR = {"pass": "green", "warn": "orange", "fail": "red"}
_BANNER = {"pass": "#2e7d32", "warn": "#b26a00", "fail": "#c62828", "": "#607d8b"}
#: cell backgrounds by outcome class (``qaharness._format.outcome_class``), shared by Run and Compare
OUTCOME_BACKGROUND = {
    "fail": "#fbe0e0",
    "error": "#fdf0d5",
    "insufficient": "#fbe0e0",
    "warn": "#fff1d6",
    "waived": "#ececec",
    "pass": "#dff3e4",
}
_SELECTED = "qa_run"
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def md(value: Any) -> str:
    """Data-derived text made inert for Markdown: every ASCII punctuation mark backslash-escaped, one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def chart_text(value: Any) -> str:
    """Data-derived text for Plotly labels, legends and hovers, which render a subset of HTML (links)."""
    return html.escape(str(value), quote=False)


def page_store() -> tuple[RunStore, pd.DataFrame] | None:
    """The store and its runs; ``None`` (after showing why) when it is empty, missing or busy."""
    store = open_store()
    try:
        runs = load_runs(store)
    except duckdb.Error as exc:
        st.error(
            f"Could not read the run store {md(store.path)}: {md(str(exc).splitlines()[0])}. "
            "A gate may be writing to it; reload the page in a moment."
        )
        return None
    if runs.empty:
        empty_store(store.path)
        return None
    return store, runs


def empty_store(path: Path | None = None) -> None:
    path = path or store_path()
    st.info(f"No runs yet in the store {md(path)}.")
    st.markdown("Record a first run, then reload this page: the end-to-end demo on the bundled Adult data,")
    st.code("qaharness demo\nqaharness app --store qaharness-demo/runs.duckdb", language="bash")
    st.markdown("or gate your own tables against a policy, recording into this store:")
    st.code(
        "qaharness gate --real train.parquet --synthetic synth.parquet --holdout holdout.parquet \\\n"
        f"    --target income --policy default --out gate/ --store {path}",
        language="bash",
    )
    st.caption("(qaharness evaluate with the same inputs records an ungated run.)")


def pick_run(runs: pd.DataFrame, label: str = "Run") -> str:
    """A run chosen by the user; remembered across pages and in the URL (``?run=ID``)."""
    ids = list(runs["run_id"])
    labels = dict(zip(runs["run_id"], runs["label"]))
    wanted = st.query_params.get("run") or st.session_state.get(_SELECTED)
    matches = [i for i in ids if wanted and i.startswith(str(wanted))]
    index = ids.index(matches[0]) if len(matches) == 1 else 0
    if wanted and not matches:
        st.warning(f"No run {md(repr(wanted))} in this store; showing the newest run.")
    choice = st.selectbox(label, ids, index=index, format_func=lambda i: labels.get(i, i))
    st.session_state[_SELECTED] = choice
    if st.query_params.get("run") != choice:
        st.query_params["run"] = choice
    return choice


def verdict_badge(verdict: str | None) -> str:
    """A small coloured badge (Markdown) for a verdict; the words are fixed, never data."""
    if verdict not in _VERDICT_COLOUR:
        return ":gray-badge[NOT GATED]"
    return f":{_VERDICT_COLOUR[str(verdict)]}-badge[{str(verdict).upper()}]"


def verdict_banner(run: Run) -> None:
    """The run's verdict as a large solid badge, then the failed and warned rules by name.

    The badge is fixed HTML (its word and colour come from the closed set of verdicts); the rule
    names below it are data and go through :func:`md`.
    """
    word = str(run.verdict).upper() if run.verdict in _VERDICT_COLOUR else "NOT GATED"
    st.html(
        f'<div data-testid="qa-verdict" style="display:inline-block;background:{_BANNER[run.verdict or ""]};'
        "color:#fff;font-weight:700;font-size:2.6rem;line-height:1.15;letter-spacing:.06em;"
        f'padding:.35rem 1.4rem;border-radius:.5rem">{word}</div>'
    )
    if run.verdict not in _VERDICT_COLOUR:
        st.caption("This run was evaluated without a release policy: nothing was judged against thresholds.")
        return
    rules = run.rules or []
    failed = [r.id for r in rules if outcome_class(r) in ("fail", "error", "insufficient")]
    warned = [r.id for r in rules if outcome_class(r) == "warn"]
    lines = []
    if failed:
        lines.append(f"**{len(failed)} of {len(rules)} rules failed:** " + ", ".join(md(r) for r in failed))
    if warned:
        plural = "s" if len(warned) > 1 else ""
        lines.append(f"**{len(warned)} warning{plural}:** " + ", ".join(md(r) for r in warned))
    if not lines:
        lines.append(f"All {len(rules)} rules held (waived rules count as held).")
    st.markdown("  \n".join(lines))


_RULE_COLUMNS = ["outcome", "rule", "reads", "observed", "required", "severity", "message", "waiver", "rationale"]


def rules_frame(rules: list[RuleResult]) -> pd.DataFrame:
    """Rules as text columns, failed first; every number and threshold through ``qaharness._format``."""
    ordered = sorted(rules, key=outcome_rank)
    return pd.DataFrame(
        [
            {
                "outcome": rule_outcome(r),
                "rule": r.id,
                "reads": rule_subject(r),
                "observed": fmt(r.observed, 4) if r.observed is not None else "—",
                "required": threshold_text(r),
                "severity": r.severity,
                "message": r.message,
                "waiver": _waiver(r.waiver),
                "rationale": r.rationale,
                "_class": outcome_class(r),
            }
            for r in ordered
        ],
        columns=[*_RULE_COLUMNS, "_class"],
    )


def _waiver(waiver: dict | None) -> str:
    if not waiver:
        return ""
    state = "" if waiver.get("active", True) else " (expired)"
    until = f"until {waiver['expires']}" if waiver.get("expires") else "for this run"  # None: a gate option
    return f"{waiver.get('owner', '?')} {until}{state}: {waiver.get('reason', '')}"


def style_outcomes(frame: pd.DataFrame, classes: pd.Series | pd.DataFrame) -> Any:
    """A Styler colouring each cell by the outcome class at the same place in ``classes``."""
    if isinstance(classes, pd.Series):
        colours = pd.DataFrame({c: classes for c in frame.columns}, index=frame.index)
    else:
        colours = classes.reindex(index=frame.index, columns=frame.columns)
    css = colours.map(lambda c: f"background-color: {OUTCOME_BACKGROUND[c]}" if c in OUTCOME_BACKGROUND else "")
    return frame.style.apply(lambda _: css, axis=None)


def downloads(store: RunStore, run_id: str, run: Run) -> None:
    """results.json (from the store), and the HTML and PDF reports when recorded and unchanged.

    Only recorded artifacts whose sha256 still matches are offered; a PDF is labelled signed only
    when its signature verifies (``_artifacts``).
    """
    rows = store.artifacts(run_id).to_dict("records")
    cols = st.columns(3)
    cols[0].download_button(
        "results.json",
        run.to_json(),
        file_name=f"results-{run_id}.json",
        mime="application/json",
        key=f"dl-json-{run_id}",
    )
    for col, suffix, what, mime in (
        (cols[1], ".html", "HTML report", "text/html"),
        (cols[2], ".pdf", "PDF report", "application/pdf"),
    ):
        found = find_artifact(rows, suffix, store.path)
        with col:
            _offer(found, what, mime, run_id, store.path)


def _offer(found: Any, what: str, mime: str, run_id: str, store: Path) -> None:
    again = (
        f"To replace it, download results.json here, render it (qaharness report FOLDER --format "
        f"{'pdf --sign' if mime == 'application/pdf' else 'html'}) and record the new file with --store {store}."
    )
    if found is None:
        st.caption(md(f"No {what} recorded for this run. {again}"))
        return
    if found.state == "missing":
        where = " or ".join(found.looked_in) or "(no path recorded)"
        st.caption(md(f"The {what} recorded for this run is gone: it is not at {where}. {again}"))
        return
    if found.state == "changed":
        st.caption(
            md(
                f"The {what} at {found.path} changed since it was recorded (its sha256 differs), so it is not "
                f"offered as this run's. {again}"
            )
        )
        return
    if found.state != "ok" or found.path is None:
        st.caption(md(f"The {what} was not there when the run was recorded (no sha256), so it is not offered. {again}"))
        return
    label, note = (what, "") if mime != "application/pdf" else pdf_label(found.path)
    st.download_button(label, found.path.read_bytes(), file_name=found.path.name, mime=mime, key=f"dl-{what}-{run_id}")
    if note:
        st.caption(md(note))


def reviews_table(store: RunStore, run_id: str) -> None:
    reviews = store.reviews(run_id)
    if reviews.empty:
        st.caption("No reviews yet.")
        return
    shown = reviews.assign(
        time=reviews["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
        decision=reviews["decision"].map(lambda d: DECISIONS.get(d, d)),
        waiver=reviews["waiver"].fillna("") if "waiver" in reviews else "",
    )
    st.dataframe(shown[["time", "reviewer", "decision", "comment", "waiver"]], hide_index=True, width="stretch")


def guard(body: Callable[[], None]) -> None:
    """Run a page body; a qaharness error becomes a message instead of a traceback."""
    try:
        body()
    except QAHarnessError as exc:
        st.error(md(exc))
    except duckdb.Error as exc:
        st.error(f"The run store could not be read: {md(str(exc).splitlines()[0])}. Reload in a moment.")
