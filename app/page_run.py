"""Run: one run's verdict, rules, metrics, per-column drill-down, privacy attacks, provenance.

Everything is read from the run's results.json (the ``Run`` model) and the store's rows; metric
descriptions and ideals come from the results, never from the live metric registry.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from qaharness._format import fmt
from qaharness.app import _ui
from qaharness.results import Family, Goal, MetricResult, Run


def _header(run: Run, row: dict) -> None:
    _ui.verdict_banner(run)
    policy = f"{run.policy.id} v{run.policy.version} (sha256 {run.policy.sha256[:12]}…)" if run.policy else "none"
    facts = {
        "run": row["run_id"],
        "policy": policy,
        "kind": row.get("kind"),
        "created": run.created_at,
        "dataset": row.get("dataset_version") or row.get("dataset"),
        "synthetic": row.get("synthetic"),
        "generator": row.get("generator") or "—",
        "seed": run.seed,
        "ticket": run.ticket or "—",
    }
    st.markdown(" · ".join(f"**{k}** {_ui.md(v)}" for k, v in facts.items()))


def _rules(run: Run) -> None:
    if not run.rules:
        st.info("This run was not gated: it has no policy rules. `qaharness gate` checks a run against a policy.")
        return
    frame = _ui.rules_frame(run.rules)
    counts = frame["outcome"].value_counts()
    st.markdown(" · ".join(f"**{n}** {_ui.md(outcome)}" for outcome, n in counts.items()))
    classes = frame.pop("_class")
    st.dataframe(
        _ui.style_outcomes(frame, classes),
        hide_index=True,
        width="stretch",
        height=36 + 35 * len(frame),
        column_config={
            "rationale": st.column_config.TextColumn(width="large"),
            "message": st.column_config.TextColumn(width="medium"),
        },
    )


def _metric_frame(metrics: list[MetricResult]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "metric": m.id,
                "status": m.status.value,
                "value": fmt(m.value, 4),
                "95% CI": f"[{fmt(m.ci[0])}, {fmt(m.ci[1])}]" if m.ci else "—",
                "baseline": fmt(m.baseline, 4),
                "ideal": fmt(m.ideal),
                "goal": m.goal.value,
                "note": m.message,
                "what it measures": m.description,
            }
            for m in metrics
        ]
    )


def _dot_chart(metrics: list[MetricResult], title: str) -> go.Figure:
    """Each metric on its own row and x-axis: value with CI, its ideal (diamond), its holdout baseline (tick)."""
    from plotly.subplots import make_subplots

    ok = [m for m in metrics if m.ok and m.value is not None]
    fig = make_subplots(rows=max(len(ok), 1), cols=1, vertical_spacing=0.5 / max(len(ok), 1))
    seen: set[str] = set()

    def mark(m: MetricResult, row: int, x: float, name: str, **style) -> None:
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[_ui.chart_text(m.id)],
                mode="markers",
                name=name,
                showlegend=name not in seen,
                legendgroup=name,
                **style,
            ),
            row=row,
            col=1,
        )
        seen.add(name)

    for row, m in enumerate(ok, 1):
        value = float(m.value or 0.0)
        error = {"type": "data", "array": [m.ci[1] - value], "arrayminus": [value - m.ci[0]]} if m.ci else None
        if m.ideal is not None:
            mark(m, row, m.ideal, "ideal", marker={"symbol": "diamond", "size": 10, "color": "#2e7d32"})
        if m.baseline is not None:
            tick = {"symbol": "line-ns-open", "size": 18, "line": {"width": 3}, "color": "#7f7f7f"}
            mark(m, row, m.baseline, "baseline (holdout vs real)", marker=tick)
        mark(m, row, value, "value (95% CI)", marker={"size": 11, "color": "#e07b39"}, error_x=error)
    fig.update_layout(
        title=title,
        height=140 + 70 * len(ok),
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "yref": "container"},
    )
    return fig


def _metrics(run: Run) -> None:
    st.dataframe(_metric_frame(run.metrics), hide_index=True, width="stretch")
    if any(m.ok for m in run.metrics):
        st.caption("Each metric on its own scale: the dot is the value with its interval, the diamond its ideal.")
        st.plotly_chart(_dot_chart(run.metrics, "Metric values"), width="stretch")


def _per_column(run: Run) -> None:
    """Drill-down: one metric's value per column, worst first, against its baseline per column."""
    candidates = [m for m in run.metrics if m.ok and m.per_column]
    if not candidates:
        st.info("No metric in this run reports per-column values.")
        return
    chosen = st.selectbox("Metric", [m.id for m in candidates])
    metric = next(m for m in candidates if m.id == chosen)
    st.caption(_ui.md(metric.description))
    baseline = metric.details.get("baseline_per_column") or {}
    per_column = metric.per_column or {}
    frame = pd.DataFrame({"column": list(per_column), "value": list(per_column.values())})
    frame["baseline"] = frame["column"].map(lambda c: baseline.get(c))
    frame = frame.sort_values("value", ascending=metric.goal is Goal.MAXIMIZE)
    labels = frame["column"].map(_ui.chart_text)  # column names are data; Plotly renders a subset of HTML
    fig = go.Figure(go.Bar(x=labels, y=frame["value"], name=_ui.chart_text(chosen)))
    if frame["baseline"].notna().any():
        fig.add_trace(go.Bar(x=labels, y=frame["baseline"], name="baseline (holdout vs real)"))
    direction = {Goal.MINIMIZE: "lower is better", Goal.MAXIMIZE: "higher is better"}.get(
        metric.goal, "closest to ideal"
    )
    fig.update_layout(
        title=f"{_ui.chart_text(chosen)} per column ({direction}; worst first)", barmode="group", height=380
    )
    st.plotly_chart(fig, width="stretch")
    shown = frame.assign(
        value=frame["value"].map(lambda v: fmt(v, 4)), baseline=frame["baseline"].map(lambda v: fmt(v, 4))
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    if metric.details:
        with st.expander("details"):
            st.json(metric.details, expanded=False)


def _privacy(run: Run) -> None:
    attacks = [m for m in run.metrics if m.family is Family.PRIVACY]
    if not attacks:
        st.info("No privacy metrics in this run.")
        return
    st.dataframe(_metric_frame(attacks), hide_index=True, width="stretch")
    if any(m.ok for m in attacks):
        st.caption(
            "Each measure on its own scale with its ideal: 0.5 for the DCR, NNDR and membership-inference shares "
            "(a coin flip), 0 for risks and shares of copies."
        )
        st.plotly_chart(_dot_chart(attacks, "Privacy measures with 95% CI"), width="stretch")
    for m in attacks:
        scalars = {k: v for k, v in m.details.items() if isinstance(v, (int, float, str, bool))}
        if scalars:
            with st.expander(f"{m.id} details"):
                st.json(scalars)


def _provenance(run: Run) -> None:
    st.markdown("**Inputs**")
    st.dataframe(
        pd.DataFrame([{"input": k, **v.model_dump()} for k, v in run.inputs.items()]), hide_index=True, width="stretch"
    )
    if run.policy:
        st.markdown("**Policy**")
        st.json(run.policy.model_dump(), expanded=True)
    st.markdown("**Provenance**")
    if run.provenance:
        st.json(run.provenance, expanded=True)
    else:
        st.caption("No generator provenance recorded for this run.")
    st.markdown(f"**qaharness** {_ui.md(run.qaharness_version)} · seed {run.seed}")
    if run.command:
        st.code(" ".join(run.command), language="bash")
    for note in run.notes:
        st.caption(f"note: {_ui.md(note)}")
    with st.expander("environment and timings"):
        st.json({"environment": run.environment, "timings_s": run.timings}, expanded=True)


def _body() -> None:
    st.title("Run")
    loaded = _ui.page_store()
    if loaded is None:
        return
    store, runs = loaded
    run_id = _ui.pick_run(runs)
    run = store.get_run(run_id)
    _header(run, runs.set_index("run_id").loc[run_id].to_dict() | {"run_id": run_id})
    _ui.downloads(store, run_id, run)
    tabs = st.tabs(["Rules", "Metrics", "Per column", "Privacy", "Provenance", "Reviews"])
    for tab, render in zip(tabs, (_rules, _metrics, _per_column, _privacy, _provenance)):
        with tab:
            render(run)
    with tabs[5]:
        _ui.reviews_table(store, run_id)
        st.page_link(
            _ui.PAGES["review"], label="Review this run", icon=":material/rate_review:", query_params={"run": run_id}
        )


_ui.guard(_body)
