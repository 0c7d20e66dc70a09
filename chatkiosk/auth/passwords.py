"""Password hashing with argon2id, at or above OWASP's minimum cost (m=19456 KiB, t=2, p=1)."""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from chatkiosk.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 256
# The most common passwords of breach lists that pass the length rule.
_COMMON = {
    "password", "password1", "password123", "12345678", "123456789", "1234567890", "qwertyuiop",
    "qwerty123", "iloveyou", "11111111", "00000000", "abc12345", "abcd1234", "baseball",
    "football", "sunshine", "princess", "superman", "welcome1", "passw0rd", "letmein1",
    "trustno1", "1q2w3e4r", "qwer1234", "asdfghjk", "zxcvbnm1", "admin123", "changeme",
    "dragon12", "monkey12", "master12", "p@ssw0rd", "q1w2e3r4", "87654321", "11223344",
}
COMMON_PASSWORDS: frozenset[str] = frozenset(_COMMON)  # for the API schema
REPEATED = r"^(.)\1+$"  # one character over and over


def check_strength(password: str) -> None:
    """Raise ValidationFailed for a password that is too short, too long or too common."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_LENGTH} characters", code="weak_password", param="password")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"password must be at most {MAX_LENGTH} characters", code="weak_password", param="password")
    lowered = password.lower()
    if lowered in _COMMON or re.fullmatch(REPEATED, password):
        raise ValidationFailed("this password is too common; choose another", code="weak_password", param="password")


class PasswordHasher:
    """argon2id hashing run off the event loop (each hash takes tens of milliseconds)."""

    def __init__(self, *, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self._hasher = _Argon2(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism, type=Type.ID)
        # Verified against when the user does not exist, so both cases cost the same time.
        self._dummy = self._hasher.hash("chatkiosk-timing-equaliser")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no stored hash, spend the same time and say no."""
        target = stored_hash or self._dummy

        def _verify() -> bool:
            try:
                return self._hasher.verify(target, password)
            except (VerificationError, InvalidHashError):
                return False

        ok = await asyncio.to_thread(_verify)
        return ok and stored_hash is not None
