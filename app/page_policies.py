"""Policies: every packaged policy (and every policy file runs were gated with), each rule with its rationale."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from qaharness.app import _ui
from qaharness.app._data import load_runs, open_store
from qaharness.errors import QAHarnessError
from qaharness.policy import parse_policy
from qaharness.store import RunStore

_RULE_FIRST = ["id", "metric", "field", "op", "threshold", "severity", "rationale"]


def _packaged() -> list[tuple[str, str]]:
    """(name, text) of every YAML policy shipped in qaharness.policies."""
    try:
        folder = resources.files("qaharness.policies")
    except ModuleNotFoundError:
        return []
    return sorted(
        (f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith((".yaml", ".yml"))
    )


def _from_runs(store: RunStore, runs: pd.DataFrame, packaged: set[str]) -> list[tuple[str, str]]:
    """Policy files that gated runs name, when not packaged and still on disk (one run per policy version)."""
    if runs.empty:
        return []
    found = set()
    gated = runs[runs["policy_id"].notna()].drop_duplicates(["policy_id", "policy_version"])
    for run_id in gated["run_id"]:
        policy = store.get_run(run_id).policy
        source = Path(policy.source) if policy and policy.source else None
        if source and source.is_file():
            text = source.read_text(encoding="utf-8")
            if text not in packaged:
                found.add((str(source), text))
    return sorted(found)


def _rules_frame(rules: Any) -> pd.DataFrame:
    if isinstance(rules, dict):
        rules = [{"id": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in rules.items()]
    frame = pd.DataFrame([r if isinstance(r, dict) else {"rule": r} for r in rules or []])
    first = [c for c in _RULE_FIRST if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]].astype(str).replace("None", "")


def _parse(name: str, text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The policy as plain data, validated by ``qaharness.policy``; (data, problem).

    A file the policy loader refuses is not shown: there is no lenient fallback that would expand
    YAML aliases or show rules the gate would not run.
    """
    try:
        return parse_policy(text, source=name).policy.model_dump(mode="json"), None
    except QAHarnessError as exc:
        return None, str(exc)


def _render(name: str, text: str, used: pd.Series) -> None:
    policy, problem = _parse(name, text)
    if problem:
        st.error(_ui.md(problem))
    if policy is None:
        return
    pid, version = policy.get("id", Path(name).stem), policy.get("version", "?")
    runs = int(used.get(str(pid), 0))
    label = f"**{_ui.md(pid)}** v{_ui.md(version)} — {runs} run(s) gated with it"
    with st.expander(label, expanded=True):
        st.caption(f"{_ui.md(Path(name).name)} · sha256 {hashlib.sha256(text.encode()).hexdigest()[:12]}")
        if policy.get("description"):
            st.markdown(_ui.md(policy["description"]))
        rules = policy.get("rules")
        if rules:
            frame = _rules_frame(rules)
            st.dataframe(frame.drop(columns=["rationale"], errors="ignore"), hide_index=True, width="stretch")
            st.markdown(
                "**Why each rule**\n"
                + "".join(
                    f"\n- **{_ui.md(row.get('id', ''))}** — {_ui.md(row['rationale'])}"
                    for row in frame.to_dict("records")
                    if row.get("rationale")
                )
            )
        else:
            st.caption("This policy has no rules.")
        if policy.get("waivers"):
            st.markdown("**Waivers** (accepted risk, by owner, until expiry)")
            st.dataframe(pd.DataFrame(policy["waivers"]).astype(str), hide_index=True, width="stretch")
        extra = {k: v for k, v in policy.items() if k not in {"id", "version", "description", "rules", "waivers"}}
        if extra:
            st.json(extra, expanded=False)


def _body() -> None:
    st.title("Policies")
    st.caption("A gate checks a run's metrics against a policy's rules; each rule says why it exists.")
    store = open_store()
    try:
        runs = load_runs(store)
    except duckdb.Error:  # a busy store only hides the run counts
        runs = pd.DataFrame()
    packaged = _packaged()
    files = packaged + _from_runs(store, runs, {text for _, text in packaged})
    if not files:
        st.info(
            "No policies found: the `qaharness.policies` package holds none yet. "
            "Policies are YAML files; see `qaharness gate --help`."
        )
        return
    used = runs["policy_id"].value_counts() if not runs.empty else pd.Series(dtype=int)
    for name, text in files:
        _render(name, text, used)


_ui.guard(_body)
