"""Run: one run's verdict, rules, metrics, per-column drill-down, privacy attacks, provenance."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from qaharness.app import _ui
from qaharness.metrics import get_metric
from qaharness.results import Family, Goal, MetricResult, RuleResult, Run

_RULE_ORDER = {"fail": 0, "error": 1, "waived": 2, "pass": 3}


def _header(run: Run, row: dict) -> None:
    policy = f"{run.policy.id} v{run.policy.version}" if run.policy else "no policy (evaluate run)"
    st.markdown(f"## {_ui.verdict_badge(run.verdict)} run `{row['run_id']}`")
    facts = {
        "policy": policy,
        "kind": row.get("kind"),
        "created": run.created_at,
        "dataset": row.get("dataset"),
        "synthetic": row.get("synthetic"),
        "generator": row.get("generator") or "—",
        "seed": run.seed,
        "ticket": run.ticket or "—",
    }
    st.markdown("  \n".join(f"**{k}:** `{v}`" for k, v in facts.items()))


def _threshold(rule: RuleResult) -> str:
    """The threshold as written, with the number it resolved to when it was an expression."""
    if rule.threshold_expr and rule.threshold is not None:
        return f"{rule.threshold_expr} = {rule.threshold:.4g}"
    return rule.threshold_expr or _ui.fmt(rule.threshold)


def _waiver(waiver: dict | None) -> str:
    if not waiver:
        return ""
    state = "" if waiver.get("active", True) else " (expired)"
    until = f"until {waiver['expires']}" if waiver.get("expires") else "for this run"  # None: a gate option
    return f"{waiver.get('owner', '?')} {until}{state}: {waiver.get('reason', '')}"


def _rules(run: Run) -> None:
    if not run.rules:
        st.info("This run was not gated: it has no policy rules. `qaharness gate` checks a run against a policy.")
        return
    rows = [
        {
            "status": r.status,
            "rule": r.id,
            "metric": r.metric,
            "field": r.field,
            "op": r.op,
            "threshold": _threshold(r),
            "observed": r.observed,
            "severity": r.severity,
            "rationale": r.rationale,
            "message": r.message,
            "waiver": _waiver(r.waiver),
        }
        for r in run.rules
    ]
    frame = pd.DataFrame(rows).sort_values("status", key=lambda s: s.map(_RULE_ORDER), kind="stable")
    counts = frame["status"].value_counts()
    st.markdown(" · ".join(f"**{counts[s]}** {s}" for s in _RULE_ORDER if s in counts))
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=36 + 35 * len(frame),
        column_config={
            "observed": st.column_config.NumberColumn(format="%.4f"),
            "rationale": st.column_config.TextColumn(width="large"),
        },
    )


def _metric_frame(metrics: list[MetricResult]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "metric": m.id,
                "status": m.status.value,
                "value": m.value,
                "goal": m.goal.value,
                "ci": f"[{m.ci[0]:.3f}, {m.ci[1]:.3f}]" if m.ci else "",
                "baseline": m.baseline,
                "note": m.message,
            }
            for m in metrics
        ]
    )


def _dot_chart(metrics: list[MetricResult], title: str) -> go.Figure:
    """Each metric's value with its confidence interval, and its holdout baseline as a bar marker."""
    ok = [m for m in metrics if m.ok]
    names = [m.id for m in ok]
    values = [m.value for m in ok]
    plus = [(m.ci[1] - m.value) if m.ci else 0.0 for m in ok]
    minus = [(m.value - m.ci[0]) if m.ci else 0.0 for m in ok]
    fig = go.Figure(
        go.Scatter(
            x=values,
            y=names,
            mode="markers",
            name="value (95% CI)",
            marker={"size": 11},
            error_x={"type": "data", "array": plus, "arrayminus": minus},
        )
    )
    with_baseline = [m for m in ok if m.baseline is not None]
    if with_baseline:
        fig.add_trace(
            go.Scatter(
                x=[m.baseline for m in with_baseline],
                y=[m.id for m in with_baseline],
                mode="markers",
                name="baseline (holdout vs real)",
                marker={"symbol": "line-ns-open", "size": 18, "line": {"width": 3}},
            )
        )
    fig.update_layout(
        title=title,
        height=120 + 36 * len(ok),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h"},
    )
    return fig


def _metrics(run: Run) -> None:
    st.dataframe(
        _metric_frame(run.metrics),
        hide_index=True,
        width="stretch",
        column_config={
            "value": st.column_config.NumberColumn(format="%.4f"),
            "baseline": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    if any(m.ok for m in run.metrics):
        st.plotly_chart(_dot_chart(run.metrics, "Metric values"), width="stretch")


def _description(metric_id: str) -> str:
    try:
        return get_metric(metric_id).description or ""
    except Exception:  # a plugin not installed here: the run still shows
        return ""


def _per_column(run: Run) -> None:
    """Drill-down: one metric's value per column, worst first, against its baseline per column."""
    candidates = [m for m in run.metrics if m.ok and m.per_column]
    if not candidates:
        st.info("No metric in this run reports per-column values.")
        return
    chosen = st.selectbox("Metric", [m.id for m in candidates])
    metric = next(m for m in candidates if m.id == chosen)
    st.caption(_description(chosen))
    baseline = metric.details.get("baseline_per_column") or {}
    frame = pd.DataFrame({"column": list(metric.per_column), "value": list(metric.per_column.values())})
    frame["baseline"] = frame["column"].map(lambda c: baseline.get(c))
    frame = frame.sort_values("value", ascending=metric.goal is Goal.MAXIMIZE)
    fig = go.Figure(go.Bar(x=frame["column"], y=frame["value"], name=chosen))
    if frame["baseline"].notna().any():
        fig.add_trace(go.Bar(x=frame["column"], y=frame["baseline"], name="baseline (holdout vs real)"))
    direction = "lower is better" if metric.goal is Goal.MINIMIZE else "higher is better"
    fig.update_layout(title=f"{chosen} per column ({direction}; worst first)", barmode="group", height=380)
    st.plotly_chart(fig, width="stretch")
    st.dataframe(frame, hide_index=True, width="stretch")
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
        st.plotly_chart(_dot_chart(attacks, "Privacy attacks: risk with 95% CI"), width="stretch")
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
    st.markdown(
        f"**qaharness** {run.qaharness_version} · seed {run.seed}"
        + (f" · command `{' '.join(run.command)}`" if run.command else "")
    )
    for note in run.notes:
        st.caption(f"note: {note}")
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
    _ui.downloads(store, run_id, run, runs.set_index("run_id").loc[run_id, "out_dir"])
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
