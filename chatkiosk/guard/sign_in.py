"""Throttling password guesses without handing attackers a lockout weapon (OWASP's guidance).

Failures are counted per account *and* client address (the pair), and per account:
- a pair that fails `max_failures` times in the window is refused for `lockout` seconds, and
  each further lockout of the same pair within a day doubles, up to `MAX_LOCKOUT`: one
  attacker slows down progressively, while the owner at another address is not touched;
- an account that fails `ACCOUNT_FACTOR × max_failures` times in the window, from any number of
  addresses, is under attack: for `lockout` seconds every address that has failed on it is
  refused at once (a botnet gets one guess per address), and an address that has not failed —
  the owner's — still gets in.

The same throttle guards sign-in (`scope="login"`, keyed by username) and the current password
of a password change (`scope="password"`, keyed by user id).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatkiosk.errors import RateLimited
from chatkiosk.guard.counters import Counters

ACCOUNT_FACTOR = 4
MAX_LOCKOUT = 3600.0
_STRIKE_MEMORY = 86_400.0


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: float = 900.0
    lockout: float = 60.0


class SignInThrottle:
    """Check before verifying a password; report each failure and success after."""

    def __init__(self, counters: Counters, policy: ThrottlePolicy) -> None:
        self.counters = counters
        self.policy = policy

    def _keys(self, scope: str, account: str, client: str) -> tuple[str, str, str]:
        account = account.lower()
        return f"{scope}:pair:{account}:{client}", f"{scope}:acct:{account}", f"{scope}:tainted:{account}:{client}"

    async def check(self, scope: str, account: str, client: str) -> None:
        """Raise RateLimited when this client may not try this account's password now."""
        pair, acct, tainted = self._keys(scope, account, client)
        wait = await self.counters.blocked_for(pair + ":lock")
        if wait <= 0 and await self.counters.blocked_for(tainted) > 0:
            wait = await self.counters.blocked_for(acct + ":lock")  # under attack: failing addresses wait
        if wait > 0:
            what = "sign-ins" if scope == "login" else "password attempts"
            raise RateLimited(f"too many failed {what}; try again later", retry_after=wait, code=f"{scope}_throttled")

    async def failed(self, scope: str, account: str, client: str) -> None:
        """Count one wrong password from `client` for `account`."""
        pair, acct, tainted = self._keys(scope, account, client)
        policy = self.policy
        await self.counters.block(tainted, policy.window)
        if await self.counters.record(pair, policy.window) >= policy.max_failures:
            strikes = await self.counters.record(pair + ":strikes", _STRIKE_MEMORY)
            await self.counters.block(pair + ":lock", min(MAX_LOCKOUT, policy.lockout * 2 ** (strikes - 1)))
            await self.counters.reset(pair)
        if await self.counters.record(acct, policy.window) >= policy.max_failures * ACCOUNT_FACTOR:
            await self.counters.block(acct + ":lock", policy.lockout)
            await self.counters.reset(acct)

    async def succeeded(self, scope: str, account: str, client: str) -> None:
        """The right password: forget this pair's failures (its strikes and the account's count stay)."""
        pair, _, tainted = self._keys(scope, account, client)
        await self.counters.reset(pair)
        await self.counters.reset(tainted)
