"""Runs: every recorded run, filterable, with the trend of key metrics across runs and dataset versions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from qaharness.app import _ui
from qaharness.store import RunStore

_KEY_METRICS = ("fidelity.detection", "fidelity.ks", "fidelity.js", "utility.tstr_ratio", "privacy.dcr")
_TABLE = [
    "run_id",
    "created_at",
    "kind",
    "verdict",
    "review",
    "policy_id",
    "policy_version",
    "dataset_version",
    "generator",
    "synthetic",
    "ticket",
]


def _options(runs: pd.DataFrame, column: str) -> list[str]:
    return sorted({str(v) for v in runs[column].dropna() if str(v)})


def _filters(runs: pd.DataFrame) -> pd.DataFrame:
    """Dataset, generator, policy, verdict and date filters; returns the matching runs."""
    cols = st.columns(5)
    picked = {
        "dataset_version": cols[0].multiselect("Dataset", _options(runs, "dataset_version")),
        "generator": cols[1].multiselect("Generator", _options(runs, "generator")),
        "policy_id": cols[2].multiselect("Policy", _options(runs, "policy_id")),
        "verdict": cols[3].multiselect("Verdict", _options(runs, "verdict")),
    }
    created = pd.to_datetime(runs["created_at"])
    first, last = created.min().date(), created.max().date()
    dates = cols[4].date_input(
        "Date", value=(first, last), min_value=first - dt.timedelta(days=1), max_value=last + dt.timedelta(days=1)
    )
    keep = pd.Series(True, index=runs.index)
    for column, values in picked.items():
        if values:
            keep &= runs[column].astype(str).isin(values)
    if isinstance(dates, tuple) and len(dates) == 2:
        keep &= (created.dt.date >= dates[0]) & (created.dt.date <= dates[1])
    return runs[keep]


def _open_run(runs: pd.DataFrame) -> None:
    labels = dict(zip(runs["run_id"], runs["label"]))
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Open a run", list(runs["run_id"]), format_func=lambda i: labels.get(i, i))
    if right.button("Open run", type="primary", width="stretch"):
        st.session_state["qa_run"] = chosen
        st.switch_page(_ui.PAGES["run"], query_params={"run": chosen})


def _trend(store: RunStore, runs: pd.DataFrame) -> None:
    st.subheader("Trend of key metrics")
    metrics = store.metrics()
    if metrics.empty:
        st.caption("No metric values recorded.")
        return
    metrics = metrics[metrics["run_id"].isin(runs["run_id"]) & (metrics["status"] == "ok")]
    metrics = metrics.merge(runs[["run_id", "dataset_version", "label"]], on="run_id")
    available = sorted(metrics["metric_id"].unique())
    default = [m for m in _KEY_METRICS if m in available][:3] or available[:2]
    cols = st.columns([3, 1])
    chosen = cols[0].multiselect("Metrics", available, default=default)
    colour = cols[1].radio(
        "Colour by", ["dataset_version", "generator"], horizontal=True, format_func=lambda c: c.replace("_", " ")
    )
    shown = metrics[metrics["metric_id"].isin(chosen)].sort_values("created_at")
    if shown.empty:
        st.caption("Pick at least one metric with values in the filtered runs.")
        return
    shown = shown.assign(  # Plotly renders a subset of HTML in legends and hovers: data is escaped
        generator=shown["generator"].fillna("(none)").map(_ui.chart_text),
        dataset_version=shown["dataset_version"].map(_ui.chart_text),
        metric_id=shown["metric_id"].map(_ui.chart_text),
        err_plus=shown["ci_high"] - shown["value"],
        err_minus=shown["value"] - shown["ci_low"],
    )
    fig = px.line(
        shown,
        x="created_at",
        y="value",
        color=colour,
        facet_row="metric_id",
        markers=True,
        error_y="err_plus",
        error_y_minus="err_minus",
        hover_data=["run_id", "dataset_version", "generator"],
        height=max(260, 220 * len(chosen)),
    )
    fig.update_yaxes(matches=None, title=None)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    st.plotly_chart(fig, width="stretch")


def _body() -> None:
    st.title("Runs")
    loaded = _ui.page_store()
    if loaded is None:
        return
    store, runs = loaded
    shown = _filters(runs)
    st.caption(f"{len(shown)} of {len(runs)} runs")
    if shown.empty:
        st.info("No run matches these filters.")
        return
    table = shown[_TABLE].copy()
    text_columns = [c for c in _TABLE if c != "created_at"]
    table[text_columns] = table[text_columns].astype(object).where(table[text_columns].notna(), "—")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"created_at": st.column_config.DatetimeColumn("created (UTC)")},
    )
    _open_run(shown)
    _trend(store, shown)


_ui.guard(_body)
