"""What the dashboard reads: which store, who may sign off, and frames built from the store.

The store path comes from ``$QAHARNESS_STORE`` (set by ``qaharness app --store``), else the
default store under ``$QAHARNESS_HOME``. Every read goes through ``RunStore``: short read-only
connections retried while a gate holds the write lock.

Sign-off allow-list ("the app's config"): ``reviewers = [...]`` in the ``[qaharness]`` section of
Streamlit's ``.streamlit/secrets.toml`` (where ``[auth]`` configures login), or the comma-separated
``$QAHARNESS_REVIEWERS`` (set by ``qaharness app --reviewers``). With login, only signed-in users on
the list may sign off. Without login a list cannot be enforced: sign-off is then disabled, unless
``$QAHARNESS_INSECURE_OPEN_REVIEW=1`` (``qaharness app --insecure-open-review``) accepts typed names
from the list, unverified, as the page says.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from qaharness.paths import default_store
from qaharness.store import RunStore

__all__ = [
    "STORE_ENV",
    "REVIEWERS_ENV",
    "INSECURE_ENV",
    "insecure_open_review",
    "store_path",
    "open_store",
    "load_runs",
    "dataset_version",
    "run_label",
    "Identity",
    "identity",
    "allowed_reviewers",
    "may_review",
    "DECISIONS",
]

STORE_ENV = "QAHARNESS_STORE"
REVIEWERS_ENV = "QAHARNESS_REVIEWERS"
INSECURE_ENV = "QAHARNESS_INSECURE_OPEN_REVIEW"
DECISIONS = {"approve": "Approve", "reject": "Reject", "request_changes": "Request changes"}
_READ_TIMEOUT = 20.0  # seconds a page waits for a gate's write lock before it says the store is busy


def store_path() -> Path:
    value = os.environ.get(STORE_ENV, "").strip()
    return Path(value).expanduser() if value else default_store()


def open_store() -> RunStore:
    return RunStore(store_path(), timeout=_READ_TIMEOUT)


def dataset_version(dataset: Any, sha256: Any) -> str:
    """A run's real data as 'name@sha8': the same file name with new content is a new version."""
    name = Path(str(dataset)).name if isinstance(dataset, str) and dataset else "(unnamed)"
    return f"{name}@{sha256[:8]}" if isinstance(sha256, str) and sha256 else name


def load_runs(store: RunStore) -> pd.DataFrame:
    """Every run, newest first, with a dataset version, a short label and its latest review."""
    runs = store.list_runs()
    if runs.empty:
        return runs
    runs = runs.astype(object).where(runs.notna(), None)
    runs["created_at"] = pd.to_datetime(runs["created_at"])
    runs["verdict"] = runs["verdict"].fillna("—")
    runs["dataset_version"] = [dataset_version(d, s) for d, s in zip(runs["dataset"], runs["real_sha256"])]
    reviews = store.reviews()
    latest = (
        reviews.sort_values("created_at").groupby("run_id").tail(1).set_index("run_id")["decision"]
        if not reviews.empty
        else pd.Series(dtype=object)
    )
    runs["review"] = runs["run_id"].map(latest).fillna("")
    runs["label"] = [run_label(row) for row in runs.to_dict("records")]
    return runs.reset_index(drop=True)


def run_label(row: dict[str, Any]) -> str:
    when = pd.Timestamp(row["created_at"]).strftime("%Y-%m-%d %H:%M") if row.get("created_at") is not None else ""
    parts = [
        row["run_id"],
        str(row.get("verdict") or "—").upper(),
        row.get("dataset_version") or "",
        row.get("generator") or "",
        when,
    ]
    return " · ".join(p for p in parts if p)


# -- who is reviewing -------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """``login``: OIDC login is configured; ``name``: the signed-in reviewer, if any."""

    login: bool
    logged_in: bool
    name: str | None = None
    email: str | None = None

    @property
    def who(self) -> str | None:
        return self.email or self.name


def identity(user: Any) -> Identity:
    """Read ``st.user`` defensively: Streamlit adds ``is_logged_in`` only when ``[auth]`` is configured."""
    try:
        info = dict(user.to_dict()) if hasattr(user, "to_dict") else dict(user)
    except Exception:  # no script context, or a Streamlit without st.user
        return Identity(login=False, logged_in=False)
    if "is_logged_in" not in info:
        return Identity(login=False, logged_in=False)
    logged_in = bool(info.get("is_logged_in"))
    name, email = info.get("name"), info.get("email")
    return Identity(
        login=True,
        logged_in=logged_in,
        name=str(name) if logged_in and name else None,
        email=str(email) if logged_in and email else None,
    )


def allowed_reviewers(secrets: Any) -> set[str]:
    """Lower-cased allow-list from secrets ``[qaharness] reviewers`` and ``$QAHARNESS_REVIEWERS``."""
    names: list[str] = []
    try:
        section = secrets.get("qaharness") or {}
        listed = section.get("reviewers") or []
        names.extend([listed] if isinstance(listed, str) else list(listed))
    except Exception:  # no secrets.toml at all
        pass
    names.extend(os.environ.get(REVIEWERS_ENV, "").split(","))
    return {n.strip().lower() for n in names if n and n.strip()}


def insecure_open_review() -> bool:
    """``qaharness app --insecure-open-review``: without login, accept typed names from the allow-list."""
    return os.environ.get(INSECURE_ENV, "").strip().lower() in ("1", "true", "yes")


def may_review(who: Identity, allowed: set[str], typed: str | None = None) -> bool:
    """Who may sign off.

    With login: signed-in users on the allow-list. Without login and without a list: anyone (the page
    says so). Without login but with a list: nobody, unless open review was asked for, and then only a
    typed name on the list (``typed``; unverified).
    """
    if who.login:
        return who.logged_in and any(x and x.lower() in allowed for x in (who.email, who.name))
    if not allowed:
        return True
    if not insecure_open_review():
        return False
    return typed is None or typed.strip().lower() in allowed
