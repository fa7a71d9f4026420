"""The reviewer dashboard: ``qaharness app`` runs ``streamlit run`` on this file.

Pages: Runs (filter, trends), Run (verdict, rules, drill-down, privacy, provenance, downloads),
Compare, Policies, Review (sign-off, appended to the store). The store comes from ``$QAHARNESS_STORE``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from qaharness._version import __version__
from qaharness.app._data import store_path
from qaharness.app._ui import PAGES, md

# an emoji icon becomes an inline data: URI; a ":material/...:" page icon would be fetched from fonts.gstatic.com
st.set_page_config(page_title="qaharness review", page_icon="📋", layout="wide")

_HERE = Path(__file__).parent
_TITLES = {
    "runs": ("Runs", ":material/list:"),
    "run": ("Run", ":material/query_stats:"),
    "compare": ("Compare", ":material/compare_arrows:"),
    "policies": ("Policies", ":material/policy:"),
    "review": ("Review", ":material/rate_review:"),
}
pages = [
    st.Page(_HERE / PAGES[key], title=title, icon=icon, url_path=key, default=key == "runs")
    for key, (title, icon) in _TITLES.items()
]
with st.sidebar:
    st.caption(f"qaharness {__version__}  \nstore: {md(store_path())}")
st.navigation(pages).run()
