"""Revoked logins and API keys: checked on every authenticated request, announced to live
streams, sockets and caches.

An entry is a login id (`sess_…`), an API key id (`key_…`) or a user id (`user_…`, a
disabled account: it ends the user's API keys); `is_revoked` takes all of a caller's ids and
answers in one lookup (one `EXISTS` on Redis).

In-process by default; in Redis when configured, so a logout on one worker holds on all of
them at once. The database keeps the authoritative record (`logins.revoked_at`); at start the
in-process list is reloaded from it, so a restart does not bring revoked tokens back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from chatkiosk import pubsub

Listener = Callable[[str, str], None]  # (login_id, reason)


class RevocationList(Protocol):
    async def revoke(self, login_id: str, reason: str, ttl: float) -> None:
        """Revoke the login (or key, or user) for `ttl` seconds and announce it."""
        ...

    async def is_revoked(self, *ids: str) -> bool:
        """True when any of `ids` is revoked."""
        ...

    async def lift(self, subject: str) -> None:
        """Take an entry off the list (a re-enabled user)."""
        ...

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` on every revocation (any worker); returns an unsubscribe function."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class MemoryRevocationList:
    def __init__(self) -> None:
        self._revoked: dict[str, float] = {}
        self._listeners: list[Listener] = []

    async def revoke(self, login_id: str, reason: str, ttl: float) -> None:
        self._revoked[login_id] = time.monotonic() + ttl
        for listener in list(self._listeners):
            listener(login_id, reason)

    async def is_revoked(self, *ids: str) -> bool:
        for subject in ids:
            until = self._revoked.get(subject)
            if until is None:
                continue
            if until < time.monotonic():
                del self._revoked[subject]
                continue
            return True
        return False

    async def lift(self, subject: str) -> None:
        self._revoked.pop(subject, None)

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._listeners.clear()


class RedisRevocationList:
    """Revocations as Redis keys with a TTL, announced on a pub/sub channel."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + ":revoked:"
        self._channel = prefix + ":revocations"
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None

    async def revoke(self, login_id: str, reason: str, ttl: float) -> None:
        await self._redis.set(self._prefix + login_id, reason, px=max(1000, int(ttl * 1000)))
        await self._redis.publish(self._channel, f"{login_id} {reason}")

    async def is_revoked(self, *ids: str) -> bool:
        return bool(ids) and bool(await self._redis.exists(*(self._prefix + subject for subject in ids)))

    async def lift(self, subject: str) -> None:
        await self._redis.delete(self._prefix + subject)

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def start(self) -> None:
        self._task = await pubsub.listen(self._redis, self._channel, self._announce)

    def _announce(self, message: str) -> None:
        login_id, _, reason = message.partition(" ")
        for listener in list(self._listeners):
            listener(login_id, reason)

    async def close(self) -> None:
        await pubsub.stop(self._task)
        self._listeners.clear()
