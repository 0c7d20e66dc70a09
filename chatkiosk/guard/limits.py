"""The limits of a chat turn: message rate, concurrent streams, daily token quota.

All three sit on `Counters`, so they are per process by default and shared across workers
when Redis is configured. The quota reserves `max_tokens` before the call and settles with the
real usage after it, so many parallel requests can overshoot it by at most one request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatkiosk.errors import RateLimited
from chatkiosk.guard.counters import MESSAGES, STREAMS, TOKENS, Admission, Counters
from chatkiosk.metrics import Metrics

_DAY = 86_400


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    messages_per_window: int = 20
    message_window: float = 60.0
    max_streams_per_user: int = 3
    daily_token_quota: int = 200_000
    # A stream slot outlives a crashed worker by at most this long.
    stream_slot_ttl: float = 600.0


class ChatLimits:
    def __init__(self, counters: Counters, policy: LimitPolicy, metrics: Metrics) -> None:
        self.counters = counters
        self.policy = policy
        self.metrics = metrics

    async def admit(self, user_id: str, max_tokens: int) -> None:
        """Let one generation in: count the message, take a stream slot, reserve `max_tokens`.

        All or nothing (a refused slot or reservation takes no slot and no tokens; the message
        still counts), in one step: one Lua call on Redis.
        """
        policy = self.policy
        refused, wait = await self.counters.admit(Admission(
            f"msg:{user_id}", policy.messages_per_window, policy.message_window,
            f"streams:{user_id}", policy.max_streams_per_user, policy.stream_slot_ttl,
            self._quota_key(user_id), max_tokens, policy.daily_token_quota, _DAY,
        ))
        if refused == MESSAGES:
            self.metrics.rate_limited.labels("messages").inc()
            raise RateLimited("you are sending messages too fast; wait a moment", retry_after=wait, code="message_rate")
        if refused == STREAMS:
            self.metrics.rate_limited.labels("streams").inc()
            raise RateLimited(
                f"at most {policy.max_streams_per_user} answers can be generated at once", retry_after=2, code="too_many_streams"
            )
        if refused == TOKENS:
            self.metrics.rate_limited.labels("tokens").inc()
            raise RateLimited("today's token quota is used up", retry_after=_DAY - time.time() % _DAY, code="token_quota")

    async def release(self, user_id: str, reserved: int, used: int) -> None:
        """The generation ended: free its stream slot and settle the quota with real usage (one step)."""
        await self.counters.release(f"streams:{user_id}", self._quota_key(user_id), used - reserved, _DAY)

    def _quota_key(self, user_id: str) -> str:
        return f"tokens:{user_id}:{int(time.time() // _DAY)}"
