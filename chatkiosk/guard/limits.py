"""The limits of a chat turn: message rate, concurrent streams, daily token quota.

All three sit on `Counters`, so they are per process by default and shared across workers
when Redis is configured. The quota reserves `max_tokens` before the call and settles with the
real usage after it, so many parallel requests can overshoot it by at most one request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatkiosk.errors import RateLimited
from chatkiosk.guard.counters import Counters
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

        All or nothing: a refusal (429) gives back what the earlier steps took.
        """
        await self.check_message(user_id)
        await self.acquire_stream(user_id)
        try:
            await self.reserve_tokens(user_id, max_tokens)
        except BaseException:
            await self.release_stream(user_id)
            raise

    async def release(self, user_id: str, reserved: int, used: int) -> None:
        """The generation ended: free its stream slot and settle the quota with real usage."""
        await self.release_stream(user_id)
        await self.settle_tokens(user_id, reserved, used)

    async def check_message(self, user_id: str) -> None:
        """Count one message of the user, or raise RateLimited."""
        wait = await self.counters.hit(f"msg:{user_id}", self.policy.messages_per_window, self.policy.message_window)
        if wait > 0:
            self.metrics.rate_limited.labels("messages").inc()
            raise RateLimited("you are sending messages too fast; wait a moment", retry_after=wait, code="message_rate")

    async def acquire_stream(self, user_id: str) -> None:
        if not await self.counters.acquire_slot(f"streams:{user_id}", self.policy.max_streams_per_user, self.policy.stream_slot_ttl):
            self.metrics.rate_limited.labels("streams").inc()
            raise RateLimited(
                f"at most {self.policy.max_streams_per_user} answers can be generated at once", retry_after=2, code="too_many_streams"
            )

    async def release_stream(self, user_id: str) -> None:
        await self.counters.release_slot(f"streams:{user_id}")

    def _quota_key(self, user_id: str) -> str:
        return f"tokens:{user_id}:{int(time.time() // _DAY)}"

    async def reserve_tokens(self, user_id: str, amount: int) -> None:
        """Reserve `amount` tokens of today's quota before calling the model."""
        if not await self.counters.reserve(self._quota_key(user_id), amount, self.policy.daily_token_quota, _DAY):
            self.metrics.rate_limited.labels("tokens").inc()
            seconds_left = _DAY - time.time() % _DAY
            raise RateLimited("today's token quota is used up", retry_after=seconds_left, code="token_quota")

    async def settle_tokens(self, user_id: str, reserved: int, used: int) -> None:
        """Return what the call did not use (or charge what it used beyond the reservation)."""
        if used != reserved:
            await self.counters.adjust(self._quota_key(user_id), used - reserved, _DAY)
