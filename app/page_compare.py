"""Compare: two or more runs (or generators) side by side, rule by rule and metric by metric."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from qaharness._format import observed_text, outcome_class, outcome_rank, rule_outcome
from qaharness.app import _ui
from qaharness.results import Run
from qaharness.store import RunStore


def _choose(runs: pd.DataFrame) -> list[str]:
    labels = dict(zip(runs["run_id"], runs["label"]))
    ids = list(runs["run_id"])
    wanted = [i for i in str(st.query_params.get("runs", "")).split(",") if i in labels]
    chosen = st.multiselect("Runs to compare", ids, default=wanted or ids[:2], format_func=lambda i: labels.get(i, i))
    st.query_params["runs"] = ",".join(chosen)
    return chosen


def _column_names(runs: pd.DataFrame, chosen: list[str]) -> dict[str, str]:
    """Short column titles: id plus generator, unique per run (escaped: they label Plotly bars too)."""
    rows = runs.set_index("run_id")
    return {i: _ui.chart_text(f"{i[:8]} {rows.loc[i, 'generator'] or ''}".strip()) for i in chosen}


def _summary(loaded: dict[str, Run], names: dict[str, str], runs: pd.DataFrame) -> pd.DataFrame:
    rows = runs.set_index("run_id")
    fields = {
        "verdict": lambda i, r: r.verdict or "—",
        "policy": lambda i, r: f"{r.policy.id} v{r.policy.version}" if r.policy else "—",
        "dataset": lambda i, r: rows.loc[i, "dataset_version"],
        "generator": lambda i, r: rows.loc[i, "generator"] or "—",
        "created": lambda i, r: r.created_at,
        "review": lambda i, r: rows.loc[i, "review"] or "—",
    }
    return pd.DataFrame({names[i]: {k: f(i, r) for k, f in fields.items()} for i, r in loaded.items()})


def _rules(loaded: dict[str, Run], names: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rule × run: outcome and observed value, and each cell's outcome class; rules a run did not check are blank.

    Rules that failed in any run come first.
    """
    table: dict[str, dict[str, str]] = {}
    classes: dict[str, dict[str, str]] = {}
    rank: dict[str, int] = {}
    for run_id, run in loaded.items():
        for rule in run.rules or []:
            observed = "" if rule.observed is None else f" ({observed_text(rule)})"
            table.setdefault(names[run_id], {})[rule.id] = rule_outcome(rule) + observed
            classes.setdefault(names[run_id], {})[rule.id] = outcome_class(rule)
            rank[rule.id] = min(rank.get(rule.id, 99), outcome_rank(rule))
    order = sorted(rank, key=lambda r: (rank[r], r))
    frame = pd.DataFrame(table).reindex(order).fillna("")
    return frame, pd.DataFrame(classes).reindex(index=order, columns=frame.columns).fillna("")


def _metrics(store: RunStore, chosen: list[str], names: dict[str, str]) -> pd.DataFrame:
    """Long format: one row per (run, metric), ``run`` holding the column title."""
    return pd.concat([store.metrics(i).assign(run=names[i]) for i in chosen], ignore_index=True)


def _body() -> None:
    st.title("Compare")
    loaded_store = _ui.page_store()
    if loaded_store is None:
        return
    store, runs = loaded_store
    if len(runs) < 2:
        st.info("Comparing needs at least two runs in the store.")
        return
    chosen = _choose(runs)
    if len(chosen) < 2:
        st.info("Pick two or more runs.")
        return
    names = _column_names(runs, chosen)
    loaded = {i: store.get_run(i) for i in chosen}
    st.subheader("Summary")
    st.dataframe(_summary(loaded, names, runs), width="stretch")
    st.subheader("Rule by rule")
    rules, classes = _rules(loaded, names)
    if rules.empty:
        st.caption("None of these runs was gated against a policy.")
    else:
        st.dataframe(_ui.style_outcomes(rules, classes), width="stretch")
    st.subheader("Metric by metric")
    long = _metrics(store, chosen, names)
    wide = long.pivot_table(index="metric_id", columns="run", values="value", aggfunc="first")
    wide = wide.reindex(columns=[names[i] for i in chosen])
    if len(chosen) == 2 and not wide.empty:
        wide["difference"] = wide.iloc[:, 1] - wide.iloc[:, 0]
    st.dataframe(
        wide, width="stretch", column_config={c: st.column_config.NumberColumn(format="%.4f") for c in wide.columns}
    )
    ok = long[long["status"] == "ok"]
    families = sorted(ok["family"].unique())
    if families:
        family = st.radio("Family", families, horizontal=True)
        part = ok[ok["family"] == family]
        fig = px.bar(
            part,
            x="metric_id",
            y="value",
            color="run",
            barmode="group",
            height=380,
            hover_data=["ci_low", "ci_high", "baseline"],
        )
        st.plotly_chart(fig, width="stretch")


_ui.guard(_body)
