"""API keys: `ck-` + 43 random characters, shown once; stored as an HMAC-SHA256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "ck-"


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str, secret: str) -> str:
    """Keyed hash of the key: a leaked table is useless without the server secret."""
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def display_prefix(key: str) -> str:
    """The part of a key that may be shown again (`ck-AbCd1234`)."""
    return key[: len(PREFIX) + 8]


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX) and 20 <= len(token) <= 100
