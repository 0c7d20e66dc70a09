"""Scrub secrets and personal data from text that leaves the process (logs, error bodies).

Covers bearer tokens, JWTs, API keys (ours and providers'), passwords in key=value form,
e-mail addresses, Korean resident registration numbers, phone numbers and card numbers
(Luhn-checked, so order numbers and prices are left alone).
"""

from __future__ import annotations

import re

_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}")
_KEYS = re.compile(r"\b(?:ck|sk|sk-ant|sk-proj)-[\w-]{16,}")
_BEARER = re.compile(r"(?i)\bbearer\s+[\w.~+/=-]{8,}")
_SECRET_KV = re.compile(r'(?i)("?(?:password|passwd|secret|api_key|apikey|token|refresh_token|access_token)"?\s*[:=]\s*)("[^"]*"|\S+)')
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_RRN = re.compile(r"\b\d{6}\s?-\s?[1-8]\d{6}\b")
# Values, not identifiers: a digit run glued to ASCII letters or digits (a hex request id, a
# `conv_…` id) is part of an identifier and is left alone; Korean or Chinese text around a
# number does not protect it.
_START = r"(?<![A-Za-z0-9_])"
_END = r"(?![A-Za-z0-9_])"
_PHONE = re.compile(
    _START + r"(?:\+?82[-\s]?)?0?1[016789][-\s]?\d{3,4}[-\s]?\d{4}" + _END
    + "|" + _START + r"\+?1?[-\s(]*\d{3}[-\s)]+\d{3}[-\s]\d{4}" + _END
)
_CARD = re.compile(_START + r"(?:\d[ -]?){13,19}" + _END)


def luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return "[CARD]"
    return match.group(0)


def mask_pii(text: str) -> str:
    """Mask e-mail, resident registration, phone and card numbers."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _RRN.sub("[RRN]", text)
    text = _CARD.sub(_mask_card, text)
    return _PHONE.sub("[PHONE]", text)


# What any of the patterns above needs somewhere in the text: a digit, `@` or `-`, a JWT's
# start, or one of the secret words. Text without any of them is returned untouched, unscanned.
_MAYBE = re.compile(r"[\d@-]|eyJ|(?i:bearer|passw|secret|api_?key|token)")


def redact(text: str) -> str:
    """Mask credentials and PII in `text`."""
    if not _MAYBE.search(text):
        return text
    text = _BEARER.sub("Bearer [REDACTED]", text)
    text = _JWT.sub("[JWT]", text)
    text = _KEYS.sub("[KEY]", text)
    text = _SECRET_KV.sub(lambda m: m.group(1) + "[REDACTED]", text)
    return mask_pii(text)
