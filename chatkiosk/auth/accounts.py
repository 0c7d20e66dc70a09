"""Accounts and logins: the rules of SPEC section 3, independent of HTTP.

Unknown user and wrong password take the same path (a real argon2 verification) and raise
the same error, so neither the answer nor its timing tells which one it was.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chatkiosk.auth import api_keys as keygen
from chatkiosk.auth.passwords import PasswordHasher, check_strength
from chatkiosk.auth.revocation import RevocationList
from chatkiosk.auth.tokens import TokenService, looks_like_jwt
from chatkiosk.config import Settings
from chatkiosk.errors import Conflict, NotAuthenticated, NotFound, RateLimited
from chatkiosk.guard.counters import Counters
from chatkiosk.store import api_keys, logins, users
from chatkiosk.store.db import Database
from chatkiosk.store.tables import ApiKey, Login, User

_BAD_LOGIN = "invalid username or password"
_TOUCH_EVERY = 60.0  # seconds between `last_used_at` writes for one login
# A JWT request reuses its user row for this long. Safe: everything that must end a login at
# once (logout, password change, disable, refresh reuse) also puts it on the revocation list,
# which is checked on every request before this cache.
_USER_CACHE_SECONDS = 5.0
_USER_CACHE_SIZE = 10_000


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


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    login_id: str


class Accounts:
    """Registration, sign-in, token refresh and revocation, API keys."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        tokens: TokenService,
        hasher: PasswordHasher,
        counters: Counters,
        revocations: RevocationList,
        key_secret: str,
    ) -> None:
        self.settings = settings
        self.db = db
        self.tokens = tokens
        self.hasher = hasher
        self.counters = counters
        self.revocations = revocations
        self._key_secret = key_secret
        self._touched: dict[str, float] = {}
        self._users: dict[str, tuple[float, User]] = {}

    # --- accounts

    async def register(self, username: str, password: str, email: str | None, role: str = "user") -> User:
        check_strength(password)
        # Hash before looking the name up, so a taken name answers in the same time.
        password_hash = await self.hasher.hash(password)
        async with self.db.write() as session:
            if await users.by_username(session, username) is not None:
                raise Conflict("this username is taken", code="username_taken", param="username")
            return await users.create(session, username=username, password_hash=password_hash, email=email, role=role)

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        """Set a new password; every login of the user stops working at once."""
        if not await self.hasher.verify(principal.user.password_hash, current):
            raise NotAuthenticated("current password is wrong", code="invalid_credentials")
        check_strength(new)
        new_hash = await self.hasher.hash(new)
        async with self.db.write() as session:
            user = await users.get(session, principal.id)
            assert user is not None
            await users.set_password(session, user, new_hash)
            revoked = await logins.revoke_all_for_user(session, user.id, "password_changed")
        self.forget_user(principal.id)
        await self._announce(revoked, "password_changed")

    async def reset_password(self, user_id: str, new: str) -> None:
        """An operator sets a new password (no current one needed); every login ends at once."""
        check_strength(new)
        new_hash = await self.hasher.hash(new)
        async with self.db.write() as session:
            user = await users.get(session, user_id)
            if user is None:
                raise NotFound("no such user")
            await users.set_password(session, user, new_hash)
            revoked = await logins.revoke_all_for_user(session, user.id, "password_changed")
        self.forget_user(user_id)
        await self._announce(revoked, "password_changed")

    async def set_disabled(self, user_id: str, disabled: bool) -> User:
        """Disable (or re-enable) an account; disabling ends its logins and API keys at once."""
        async with self.db.write() as session:
            user = await users.get(session, user_id)
            if user is None:
                raise NotFound("no such user")
            await users.set_disabled(session, user, disabled)
            revoked = await logins.revoke_all_for_user(session, user.id, "disabled") if disabled else []
        self.forget_user(user_id)
        await self._announce(revoked, "disabled")
        return user

    # --- logins

    async def login(self, username: str, password: str, device: str) -> TokenPair:
        throttle_key = "login:" + username.lower()
        blocked = await self.counters.blocked_for(throttle_key)
        if blocked > 0:
            raise RateLimited("too many failed sign-ins; try again later", retry_after=blocked, code="login_throttled")
        async with self.db.read() as session:
            user = await users.by_username(session, username)
        usable = user is not None and not user.disabled
        ok = await self.hasher.verify(user.password_hash if usable else None, password)
        if not ok or user is None:
            failures = await self.counters.record(throttle_key, self.settings.login_failure_window)
            if failures >= self.settings.login_max_failures:
                await self.counters.block(throttle_key, self.settings.login_lockout)
            raise NotAuthenticated(_BAD_LOGIN)
        await self.counters.reset(throttle_key)
        return await self._start_login(user, device)

    async def _start_login(self, user: User, device: str) -> TokenPair:
        jti = secrets.token_urlsafe(16)
        expires = datetime.now(UTC) + timedelta(seconds=self.settings.refresh_token_ttl)
        async with self.db.write() as session:
            active = await logins.active_for_user(session, user.id)
            if self.settings.single_login:
                replaced = [login.id for login in active]
            else:
                excess = len(active) + 1 - self.settings.max_sessions_per_user
                replaced = [login.id for login in active[: max(0, excess)]]
            await logins.revoke(session, replaced, "replaced")
            login = await logins.create(session, user_id=user.id, device=device, refresh_jti=jti, expires_at=expires)
        await self._announce(replaced, "replaced")
        return self._pair(user.id, login.id, jti)

    def _pair(self, user_id: str, login_id: str, refresh_jti: str) -> TokenPair:
        access, _ = self.tokens.issue(user_id, login_id, "access")
        refresh, _ = self.tokens.issue(user_id, login_id, "refresh", jti=refresh_jti)
        return TokenPair(access, refresh, self.tokens.access_ttl, login_id)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Trade a refresh token for a new pair; a spent token revokes its whole login."""
        claims = self.tokens.verify(refresh_token, "refresh")
        new_jti = secrets.token_urlsafe(16)
        expires = datetime.now(UTC) + timedelta(seconds=self.settings.refresh_token_ttl)
        async with self.db.write() as session:
            login = await logins.get(session, claims.login_id)
            user = await users.get(session, claims.user_id)
            if login is None or user is None or login.user_id != user.id or user.disabled:
                raise NotAuthenticated("invalid token", code="invalid_token")
            if login.revoked_at is not None:
                raise NotAuthenticated("this login has ended", code="token_revoked")
            rotated = await logins.rotate(session, login.id, old_jti=claims.jti, new_jti=new_jti, expires_at=expires)
            if not rotated:
                await logins.revoke(session, [login.id], "refresh_reuse")
        if not rotated:
            await self._announce([login.id], "refresh_reuse")
            raise NotAuthenticated("refresh token already used; sign in again", code="token_reused")
        return self._pair(user.id, login.id, new_jti)

    async def logout(self, principal: Principal) -> None:
        if principal.login_id is None:
            return  # an API key has no login to end; revoke the key instead
        await self.revoke_login(principal, principal.login_id)

    async def revoke_login(self, principal: Principal, login_id: str) -> None:
        async with self.db.write() as session:
            login = await logins.get_for_user(session, login_id, principal.id)
            if login is None or login.revoked_at is not None:
                raise NotFound("no such session")
            await logins.revoke(session, [login.id], "logout")
        await self._announce([login_id], "logout")

    async def sessions(self, principal: Principal) -> list[Login]:
        async with self.db.read() as session:
            return await logins.active_for_user(session, principal.id)

    async def _announce(self, login_ids: list[str], reason: str) -> None:
        # Revoked for as long as any token of the login could still be presented.
        ttl = max(self.settings.access_token_ttl, self.settings.refresh_token_ttl)
        for login_id in login_ids:
            await self.revocations.revoke(login_id, reason, ttl)

    async def reload_revocations(self) -> None:
        """At start: put recent revocations back into an in-process list."""
        since = datetime.now(UTC) - timedelta(seconds=self.settings.refresh_token_ttl)
        async with self.db.read() as session:
            ids = await logins.recently_revoked(session, since)
        ttl = self.settings.refresh_token_ttl
        for login_id in ids:
            await self.revocations.revoke(login_id, "restored", ttl)

    # --- API keys

    async def create_key(self, user_id: str, name: str) -> tuple[ApiKey, str]:
        """A new key; the secret is returned here once and never again."""
        secret = keygen.generate()
        async with self.db.write() as session:
            key = await api_keys.create(
                session, user_id=user_id, name=name, prefix=keygen.display_prefix(secret),
                key_hash=keygen.digest(secret, self._key_secret),
            )
        return key, secret

    async def list_keys(self, principal: Principal) -> list[ApiKey]:
        async with self.db.read() as session:
            return await api_keys.list_for_user(session, principal.id)

    async def revoke_key(self, principal: Principal, key_id: str) -> None:
        async with self.db.write() as session:
            if not await api_keys.revoke_for_user(session, key_id, principal.id):
                raise NotFound("no such API key")

    # --- authenticating requests

    async def authenticate(self, token: str) -> Principal:
        """The caller behind a bearer token (access JWT or `ck-` key), or NotAuthenticated."""
        if keygen.looks_like_key(token):
            async with self.db.read() as session:
                found = await api_keys.user_by_hash(session, keygen.digest(token, self._key_secret))
            if found is None:
                raise NotAuthenticated("invalid API key", code="invalid_api_key")
            key, user = found
            return Principal(user=user, api_key_id=key.id)
        if not looks_like_jwt(token):
            raise NotAuthenticated("invalid token", code="invalid_token")
        claims = self.tokens.verify(token, "access")
        if await self.revocations.is_revoked(claims.login_id):
            raise NotAuthenticated("this login has ended", code="token_revoked")
        user = await self._user(claims.user_id)
        if user is None or user.disabled:
            raise NotAuthenticated("invalid token", code="invalid_token")
        if claims.issued_at < int(user.password_changed_at.timestamp()):
            raise NotAuthenticated("this login has ended", code="token_revoked")
        await self._touch(claims.login_id)
        return Principal(user=user, login_id=claims.login_id)

    async def _user(self, user_id: str) -> User | None:
        now = time.monotonic()
        cached = self._users.get(user_id)
        if cached is not None and now - cached[0] < _USER_CACHE_SECONDS:
            return cached[1]
        async with self.db.read() as session:
            user = await users.get(session, user_id)
        if user is not None:
            if len(self._users) >= _USER_CACHE_SIZE:
                self._users.clear()
            self._users[user_id] = (now, user)
        return user

    def forget_user(self, user_id: str) -> None:
        """Drop the cached row after a change to the user."""
        self._users.pop(user_id, None)

    async def _touch(self, login_id: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(login_id, 0.0) < _TOUCH_EVERY:
            return
        self._touched[login_id] = now
        async with self.db.write() as session:
            await logins.touch(session, login_id)
