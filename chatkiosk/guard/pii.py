"""Personal data in text: Korean resident registration numbers, phone numbers, card numbers, e-mail.

`find_pii` returns the spans; `PiiVault` masks them with typed placeholders (`<PHONE_1>`) and
puts the values back where an answer repeats a placeholder, within one turn.

- Resident registration numbers: YYMMDD-NNNNNNN whose first six digits are a real date for the
  century the seventh digit names (1–8). The old checksum is not required: numbers issued since
  October 2020 end in random digits.
- Phone numbers: runs of digits (with the usual separators) that `phonenumbers` calls valid for
  Korea, China or the US, or internationally when they start with `+`.
- Cards: 13–19 digits, contiguous or in the groupings cards are printed in (4-4-4-4, 4-6-5…),
  that pass the Luhn check, and only those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import phonenumbers

KINDS = ("rrn", "card", "phone", "email")

_EMAIL = re.compile(r"(?<![A-Za-z0-9_.+-])[A-Za-z0-9][A-Za-z0-9_.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])")
_RRN = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})[ \t]*-?[ \t]*([1-8])\d{6}(?![\d-])")
_CARD = re.compile(
    r"(?<![\d-])(?:"
    r"\d{13,19}"
    r"|\d{4}([ -])\d{4}\1\d{4}(?:\1\d{1,4}){0,2}"  # 4-4-4-4(-3)
    r"|\d{4}([ -])\d{6}\2\d{4,5}"  # 4-6-5 (Amex), 4-6-4 (Diners)
    r")(?![\d-])"
)
# Candidates for phonenumbers: a digit run with separators, optionally behind `+` or `(`.
_PHONE = re.compile(r"(?<![A-Za-z0-9+])(?:\+|\(0?\d)?\d[\d \t().-]{5,18}\d(?![A-Za-z0-9])")
_PHONE_REGIONS = ("KR", "CN", "US")
_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}
_DIGIT = re.compile(r"\d")
PLACEHOLDER = re.compile(r"<(RRN|CARD|PHONE|EMAIL)_(\d{1,4})>")


@dataclass(frozen=True, slots=True)
class PiiMatch:
    kind: str
    start: int
    end: int
    value: str


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check."""
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = ord(ch) - 48
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _plausible_rrn(m: re.Match[str]) -> bool:
    yy, mm, dd, sex = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
    year = _CENTURY[sex] + yy
    try:
        born = date(year, mm, dd)
    except ValueError:
        return False
    return born <= date.today()


def _valid_phone(candidate: str) -> bool:
    digits = sum(1 for ch in candidate if ch.isdigit())
    if digits < 8 or digits > 15:
        return False
    regions = (None,) if candidate.startswith("+") else _PHONE_REGIONS
    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


def find_pii(text: str) -> list[PiiMatch]:
    """Every piece of personal data in `text`, in order, never overlapping."""
    if not _DIGIT.search(text) and "@" not in text:
        return []
    found: list[PiiMatch] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def keep(kind: str, m: re.Match[str]) -> None:
        found.append(PiiMatch(kind, m.start(), m.end(), m.group(0)))
        taken.append((m.start(), m.end()))

    if "@" in text:
        for m in _EMAIL.finditer(text):
            keep("email", m)
    for m in _RRN.finditer(text):
        if free(m.start(), m.end()) and _plausible_rrn(m):
            keep("rrn", m)
    for m in _CARD.finditer(text):
        if free(m.start(), m.end()):
            digits = re.sub(r"\D", "", m.group(0))
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                keep("card", m)
    for m in _PHONE.finditer(text):
        candidate = m.group(0).rstrip(" \t.-(")
        end = m.start() + len(candidate)
        if free(m.start(), end) and _valid_phone(candidate):
            found.append(PiiMatch("phone", m.start(), end, candidate))
            taken.append((m.start(), end))
    found.sort(key=lambda p: p.start)
    return found


def _key(kind: str, value: str) -> str:
    return value.lower() if kind == "email" else re.sub(r"\D", "", value)


@dataclass(slots=True)
class PiiVault:
    """The values masked in one turn, by placeholder; the same value gets the same placeholder."""

    _values: dict[str, str] = field(default_factory=dict)
    _by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def reserve(self, text: str) -> None:
        """Number new placeholders after those already in `text` (earlier, stored messages)."""
        for m in PLACEHOLDER.finditer(text):
            kind = m.group(1).lower()
            self._counts[kind] = max(self._counts.get(kind, 0), int(m.group(2)))

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of `value` (a new one the first time it is seen)."""
        key = (kind, _key(kind, value))
        found = self._by_key.get(key)
        if found is None:
            n = self._counts.get(kind, 0) + 1
            self._counts[kind] = n
            found = f"<{kind.upper()}_{n}>"
            self._by_key[key] = found
            self._values[found] = value
        return found

    def mask(self, text: str, matches: list[PiiMatch] | None = None) -> str:
        """`text` with each piece of personal data replaced by its placeholder."""
        matches = find_pii(text) if matches is None else matches
        if not matches:
            return text
        parts, last = [], 0
        for m in matches:
            parts.append(text[last:m.start])
            parts.append(self.placeholder(m.kind, m.value))
            last = m.end
        parts.append(text[last:])
        return "".join(parts)

    def unmask(self, text: str) -> str:
        """`text` with this turn's placeholders replaced by the values they stand for."""
        if not self._values or "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self._values.get(m.group(0), m.group(0)), text)

    def __len__(self) -> int:
        return len(self._values)


def redact_pii(text: str) -> str:
    """`text` with personal data replaced by its kind (`[PHONE]`): for logs and admin excerpts."""
    matches = find_pii(text)
    if not matches:
        return text
    parts, last = [], 0
    for m in matches:
        parts.append(text[last:m.start])
        parts.append(f"[{m.kind.upper()}]")
        last = m.end
    parts.append(text[last:])
    return "".join(parts)
