"""Who is calling, and the short cache that spares the hot path a database round trip.

A request authenticated by JWT reuses its user row, and one by API key its key and user rows,
for `CACHE_SECONDS`. Safe, because whatever must end access at once also goes through the
revocation list, which is checked on every request after the cache, and whose announcements
(in-process, or Redis pub/sub across workers) drop the cached rows everywhere:
- logout, refresh reuse, replaced logins: the login id (`sess_…`);
- password change and disable: every login id of the user, and on disable the user id
  (`user_…`), which ends the user's API keys;
- key deletion: the key id (`key_…`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatkiosk.store.tables import ApiKey, User

CACHE_SECONDS = 5.0
CACHE_SIZE = 10_000
# A key or user id stays on the revocation list this long: longer than any worker caches its
# rows, after which the database (revoked key, disabled user) says no by itself.
MARKER_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user, and the login or API key that proved it."""

    user: User
    login_id: str | None = None
    api_key_id: str | None = None

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def revocation_ids(self) -> tuple[str, ...]:
        """The revocation-list entries that end this caller's access (and its sockets)."""
        if self.login_id is not None:
            return (self.login_id,)
        if self.api_key_id is not None:
            return (self.api_key_id, self.user.id)
        return (self.user.id,)


class PrincipalCache:
    """Users by id and (key, user) by key digest, each kept for `CACHE_SECONDS`."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = CACHE_SIZE) -> None:
        self.seconds = seconds
        self.size = size
        self._users: dict[str, tuple[float, User]] = {}
        self._keys: dict[str, tuple[float, ApiKey, User]] = {}

    def user(self, user_id: str) -> User | None:
        """The cached user row, or None when absent or stale."""
        hit = self._users.get(user_id)
        if hit is None or time.monotonic() - hit[0] >= self.seconds:
            return None
        return hit[1]

    def put_user(self, user: User) -> None:
        """Remember a user row just read."""
        if len(self._users) >= self.size:
            self._users.clear()
        self._users[user.id] = (time.monotonic(), user)

    def key(self, digest: str) -> tuple[ApiKey, User] | None:
        """The cached live key with this digest and its owner, or None."""
        hit = self._keys.get(digest)
        if hit is None or time.monotonic() - hit[0] >= self.seconds:
            return None
        return hit[1], hit[2]

    def put_key(self, digest: str, key: ApiKey, user: User) -> None:
        """Remember a key and its owner just read."""
        if len(self._keys) >= self.size:
            self._keys.clear()
        self._keys[digest] = (time.monotonic(), key, user)

    def forget(self, subject: str, _reason: str = "") -> None:
        """Drop what is cached about a user id or key id (a revocation listener)."""
        self._users.pop(subject, None)
        stale = [d for d, (_, key, user) in self._keys.items() if subject in (key.id, user.id)]
        for digest in stale:
            del self._keys[digest]
