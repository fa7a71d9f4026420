"""Change-ticket keys (``--ticket DATA-123``): validated before any work.

A ticket must match the configured pattern — ``[A-Z][A-Z0-9]+-\\d+`` (a Jira-style key) by
default, or the regular expression in ``$QAHARNESS_TICKET_PATTERN`` (matched against the whole
ticket) — and, whatever the pattern, be safe in a file name (1–64 letters, digits, '.', '_', '-';
it goes into ``report-<TICKET>.pdf``) and free of markup.
"""

from __future__ import annotations

import os
import re

from .errors import BadInputError

__all__ = ["DEFAULT_TICKET_PATTERN", "TICKET_PATTERN_ENV", "ticket_pattern", "check_ticket"]

DEFAULT_TICKET_PATTERN = r"[A-Z][A-Z0-9]+-\d+"
TICKET_PATTERN_ENV = "QAHARNESS_TICKET_PATTERN"
_FILE_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def ticket_pattern() -> str:
    """The pattern in force: ``$QAHARNESS_TICKET_PATTERN`` or the default."""
    return os.environ.get(TICKET_PATTERN_ENV) or DEFAULT_TICKET_PATTERN


def check_ticket(ticket: str | None, *, option: str = "--ticket") -> str | None:
    """``ticket`` unchanged when valid (None passes); else ``BadInputError`` naming the option."""
    if ticket is None:
        return None
    pattern = ticket_pattern()
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise BadInputError(f"not a valid regular expression: {exc}", source=f"${TICKET_PATTERN_ENV}") from None
    if not compiled.fullmatch(ticket):
        raise BadInputError(
            f"ticket {ticket!r} does not match the ticket pattern {pattern} (e.g. DATA-123)", source=option
        )
    if not _FILE_SAFE.fullmatch(ticket):
        raise BadInputError(
            f"ticket {ticket!r} must be 1–64 letters, digits, '.', '_' or '-' (it goes into file names)", source=option
        )
    return ticket
