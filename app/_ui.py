"""Pieces every page uses: the run picker, the verdict badge, downloads, the empty-store help."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from qaharness._format import fmt
from qaharness.errors import QAHarnessError
from qaharness.results import Run
from qaharness.store import RunStore

from ._data import DECISIONS, load_runs, open_store, store_path

__all__ = ["PAGES", "page_store", "pick_run", "verdict_badge", "downloads", "empty_store", "fmt", "reviews_table"]

# Page scripts, relative to main.py (st.switch_page / st.page_link take these paths).
PAGES = {
    "runs": "page_runs.py",
    "run": "page_run.py",
    "compare": "page_compare.py",
    "policies": "page_policies.py",
    "review": "page_review.py",
}
_VERDICT_COLOUR = {"pass": "green", "warn": "orange", "fail": "red"}
_SELECTED = "qa_run"


def page_store() -> tuple[RunStore, pd.DataFrame] | None:
    """The store and its runs; ``None`` (after showing why) when it is empty, missing or busy."""
    store = open_store()
    try:
        runs = load_runs(store)
    except duckdb.Error as exc:
        st.error(
            f"Could not read the run store {store.path}: {str(exc).splitlines()[0]}. "
            "A gate may be writing to it; reload the page in a moment."
        )
        return None
    if runs.empty:
        empty_store(store.path)
        return None
    return store, runs


def empty_store(path: Path | None = None) -> None:
    path = path or store_path()
    st.info(f"No runs yet in the store `{path}`.")
    st.markdown(
        "Record a first run, then reload this page:\n\n"
        "- the end-to-end demo on the bundled Adult data, then open its store:\n\n"
        "  ```\n  qaharness demo\n  qaharness app --store qaharness-demo/runs.duckdb\n  ```\n"
        "- or gate your own tables against a policy, recording into this store:\n\n"
        "  ```\n  qaharness gate --real train.parquet --synthetic synth.parquet --holdout holdout.parquet "
        f"--target income --policy default --out gate/ --store {path}\n  ```\n"
        "  (`qaharness evaluate` with the same inputs records an ungated run.)"
    )


def pick_run(runs: pd.DataFrame, label: str = "Run") -> str:
    """A run chosen by the user; remembered across pages and in the URL (``?run=ID``)."""
    ids = list(runs["run_id"])
    labels = dict(zip(runs["run_id"], runs["label"]))
    wanted = st.query_params.get("run") or st.session_state.get(_SELECTED)
    matches = [i for i in ids if wanted and i.startswith(str(wanted))]
    index = ids.index(matches[0]) if len(matches) == 1 else 0
    if wanted and not matches:
        st.warning(f"No run {wanted!r} in this store; showing the newest run.")
    choice = st.selectbox(label, ids, index=index, format_func=lambda i: labels.get(i, i))
    st.session_state[_SELECTED] = choice
    if st.query_params.get("run") != choice:
        st.query_params["run"] = choice
    return choice


def verdict_badge(verdict: str | None) -> str:
    if not verdict or verdict == "—":
        return ":gray-badge[NOT GATED]"
    return f":{_VERDICT_COLOUR.get(verdict, 'gray')}-badge[{verdict.upper()}]"


def _artifact_file(artifacts: pd.DataFrame, match: Callable[[str], bool]) -> tuple[str, Path] | None:
    """The newest artifact whose name matches; (name, path)."""
    if artifacts.empty:
        return None
    for row in artifacts.iloc[::-1].to_dict("records"):
        if match(str(row["name"]).lower()) or match(str(row["path"]).lower()):
            return str(row["name"]), Path(str(row["path"]))
    return None


def _beside(out_dir: object, pattern: str, store: Path) -> tuple[str, Path] | None:
    """A report written beside results.json but not recorded as an artifact (newest first).

    A relative out_dir is tried from the working directory, then from the store's folder.
    """
    if not isinstance(out_dir, str) or not out_dir:
        return None
    folder = Path(out_dir)
    if not folder.is_absolute() and not folder.is_dir():
        folder = store.parent / folder
    found = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    return (found[0].name, found[0]) if found else None


def downloads(store: RunStore, run_id: str, run: Run, out_dir: object = None) -> None:
    """results.json (always, from the store), the HTML report and the PDF (says whether it is signed).

    Reports are the run's artifacts named *.html / *.pdf, else report.html / report*.pdf in its out_dir.
    """
    artifacts = store.artifacts(run_id)
    html = _artifact_file(artifacts, lambda n: n.endswith(".html")) or _beside(out_dir, "report.html", store.path)
    pdf = _artifact_file(artifacts, lambda n: n.endswith(".pdf")) or _beside(out_dir, "report*.pdf", store.path)
    cols = st.columns(3)
    cols[0].download_button(
        "results.json",
        run.to_json(),
        file_name=f"results-{run_id}.json",
        mime="application/json",
        key=f"dl-json-{run_id}",
    )
    for col, found, what, mime in (
        (cols[1], html, "HTML report", "text/html"),
        (cols[2], pdf, "PDF report", "application/pdf"),
    ):
        if found is None:
            col.caption(f"No {what} recorded for this run (`qaharness report` writes one).")
        elif not found[1].is_file():
            col.caption(f"{what} recorded at `{found[1]}` but the file is not there.")
        else:
            data = found[1].read_bytes()
            if mime == "application/pdf":  # a PAdES signature carries a /ByteRange entry
                what = "signed PDF" if b"/ByteRange" in data else "PDF report (unsigned)"
            col.download_button(what, data, file_name=found[1].name, mime=mime, key=f"dl-{found[0]}-{run_id}")


def reviews_table(store: RunStore, run_id: str) -> None:
    reviews = store.reviews(run_id)
    if reviews.empty:
        st.caption("No reviews yet.")
        return
    shown = reviews.assign(
        time=reviews["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
        decision=reviews["decision"].map(lambda d: DECISIONS.get(d, d)),
    )
    st.dataframe(shown[["time", "reviewer", "decision", "comment"]], hide_index=True, width="stretch")


def guard(body: Callable[[], None]) -> None:
    """Run a page body; a qaharness error becomes a message instead of a traceback."""
    try:
        body()
    except QAHarnessError as exc:
        st.error(str(exc))
    except duckdb.Error as exc:
        st.error(f"The run store could not be read: {str(exc).splitlines()[0]}. Reload in a moment.")
