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
from chatkiosk.auth.principals import MARKER_SECONDS, Principal, PrincipalCache
from chatkiosk.auth.revocation import RevocationList
from chatkiosk.auth.tokens import TokenService, looks_like_jwt
from chatkiosk.auth.usernames import check_username
from chatkiosk.config import Settings
from chatkiosk.errors import Conflict, NotAuthenticated, NotFound
from chatkiosk.guard.counters import Counters
from chatkiosk.guard.sign_in import SignInThrottle, ThrottlePolicy
from chatkiosk.store import api_keys, logins, users
from chatkiosk.store.db import Database
from chatkiosk.store.tables import ApiKey, Login, User

_BAD_LOGIN = "invalid username or password"
_TOUCH_EVERY = 60.0  # seconds between `last_used_at` writes for one login

__all__ = ["Accounts", "Principal", "TokenPair"]


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
        self.cache = PrincipalCache()
        # Any revocation, on any worker, drops the rows cached for it here.
        revocations.listen(self.cache.forget)
        self.throttle = SignInThrottle(
            counters,
            ThrottlePolicy(settings.login_max_failures, settings.login_failure_window, settings.login_lockout),
        )

    # --- accounts

    async def register(self, username: str, password: str, email: str | None, role: str = "user") -> User:
        """Create an account (the API's register and the CLI's `user add`)."""
        check_username(username)
        check_strength(password)
        # Hash before looking the name up, so a taken name answers in the same time.
        password_hash = await self.hasher.hash(password)
        async with self.db.write() as session:
            if await users.by_username(session, username) is not None:
                raise Conflict("this username is taken", code="username_taken", param="username")
            return await users.create(session, username=username, password_hash=password_hash, email=email, role=role)

    async def change_password(self, principal: Principal, current: str, new: str, client: str = "") -> None:
        """Set a new password; every login of the user stops working at once.

        Wrong current passwords are throttled like sign-ins, so a stolen access token is not
        enough to guess the password.
        """
        await self.throttle.check("password", principal.id, client)
        async with self.db.read() as session:
            stored = await users.get(session, principal.id)
        if stored is None or not await self.hasher.verify(stored.password_hash, current):
            await self.throttle.failed("password", principal.id, client)
            raise NotAuthenticated("current password is wrong", code="invalid_credentials")
        await self.throttle.succeeded("password", principal.id, client)
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
        if disabled:  # ends the user's API keys, and their sockets, on every worker
            await self.revocations.revoke(user_id, "disabled", MARKER_SECONDS)
        else:
            await self.revocations.lift(user_id)
        return user

    # --- logins

    async def login(self, username: str, password: str, device: str, client: str = "") -> TokenPair:
        """Sign in from `client` (its address): throttled per account and address (guard/sign_in.py)."""
        await self.throttle.check("login", username, client)
        async with self.db.read() as session:
            user = await users.by_username(session, username)
        usable = user is not None and not user.disabled
        ok = await self.hasher.verify(user.password_hash if usable else None, password)
        if not ok or user is None:
            await self.throttle.failed("login", username, client)
            raise NotAuthenticated(_BAD_LOGIN)
        await self.throttle.succeeded("login", username, client)
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
        """Revoke one of the caller's keys: it stops working, and its sockets close, everywhere."""
        async with self.db.write() as session:
            if not await api_keys.revoke_for_user(session, key_id, principal.id):
                raise NotFound("no such API key")
        self.cache.forget(key_id)
        await self.revocations.revoke(key_id, "key_revoked", MARKER_SECONDS)

    # --- authenticating requests

    async def authenticate(self, token: str) -> Principal:
        """The caller behind a bearer token (access JWT or `ck-` key), or NotAuthenticated."""
        if keygen.looks_like_key(token):
            digest = keygen.digest(token, self._key_secret)
            found = self.cache.key(digest)
            if found is None:
                async with self.db.read() as session:
                    found = await api_keys.user_by_hash(session, digest)
                if found is None:
                    raise NotAuthenticated("invalid API key", code="invalid_api_key")
                self.cache.put_key(digest, *found)
            key, user = found
            principal = Principal(user=user, api_key_id=key.id)
            if await self.revocations.is_revoked(*principal.revocation_ids):
                raise NotAuthenticated("invalid API key", code="invalid_api_key")
            return principal
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
        user = self.cache.user(user_id)
        if user is not None:
            return user
        async with self.db.read() as session:
            user = await users.get(session, user_id)
        if user is not None:
            self.cache.put_user(user)
        return user

    def forget_user(self, user_id: str) -> None:
        """Drop the cached rows (user, and keys) after a change to the user."""
        self.cache.forget(user_id)

    async def _touch(self, login_id: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(login_id, 0.0) < _TOUCH_EVERY:
            return
        self._touched[login_id] = now
        async with self.db.write() as session:
            await logins.touch(session, login_id)
