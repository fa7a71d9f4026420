"""Patterns of personal data in free text, with checksums where the format has one."""

from __future__ import annotations

import re

__all__ = ["PATTERNS", "find_pii", "luhn_ok", "iban_ok", "shape"]

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\d-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\d-])")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) checksum of a digit string, as card numbers carry."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """ISO 13616 IBAN check: length 15–34 and mod-97 of the rearranged number equals 1."""
    iban = text.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    number = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(number) % 97 == 1


def _cards(text: str) -> list[str]:
    out = []
    for match in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            out.append(match.group())
    return out


PATTERNS = {
    "email": lambda t: _EMAIL.findall(t),
    "phone": lambda t: _PHONE.findall(t),
    "ssn": lambda t: _SSN.findall(t),
    "card_luhn": _cards,
    "iban": lambda t: [m.group() for m in _IBAN.finditer(t) if iban_ok(m.group())],
}


def find_pii(text: str) -> dict[str, list[str]]:
    """Pattern name → matches in ``text`` (only names with a match)."""
    found = {}
    for name, finder in PATTERNS.items():
        hits = finder(text)
        if hits:
            found[name] = hits
    return found


def shape(value: str) -> str:
    """A masked example: letters → x, digits → 9, other characters kept ("ab1@c.de" → "xx9@x.xx")."""
    return re.sub(r"\d", "9", re.sub(r"[^\W\d_]", "x", value))
