"""Provider secrets out of upstream error text, before it becomes an error the client sees.

An upstream that refuses a key often quotes it ("Incorrect API key provided: sk-…"), and that
text ends up in the 502 body and in the stored message's `error`. Everything that names a
secret is replaced by `[REDACTED]`: the credentials this very request carried (read from its
headers, whatever their shape), anything shaped like a key, token or password
(`chatkiosk.redact`), and whatever follows "API key …:" — the rest of the message is kept, it
tells the operator what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from chatkiosk.redact import redact

_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key", "proxy-authorization")
_QUOTED_KEY = re.compile(r"(?i)(\b(?:api[\s_-]?key|key|token|secret)\b[^:\n]{0,40}?(?:provided|given|used)?\s*[:=]\s*)(?!\[REDACTED\])([^\s,;'\"]{3,}[^\s,;'\".])")
_MIN_SECRET = 6  # shorter "secrets" would scrub ordinary words


def request_secrets(request: Any) -> list[str]:
    """The credential values `request` sends (the Bearer token, `x-api-key`, …): an
    `httpx.Request`, or anything whose `headers` map lower-case names to values."""
    if request is None:
        return []
    found: list[str] = []
    for name in _CREDENTIAL_HEADERS:
        value = request.headers.get(name)
        if not value:
            continue
        value = value.strip()
        scheme, _, rest = value.partition(" ")
        if rest and scheme.lower() in ("bearer", "basic", "token"):
            value = rest.strip()
        if len(value) >= _MIN_SECRET:
            found.append(value)
    return found


def scrub_upstream_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret, key-shaped token and quoted key replaced."""
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, "[REDACTED]")
    text = _QUOTED_KEY.sub(lambda m: m.group(1) + "[REDACTED]", text)
    return redact(text)
