"""Cancel requests relayed between workers through Redis pub/sub.

A `POST /cancel` may reach a worker other than the one generating the answer. The route
checks ownership first; then, when the answer is not generated here, the request is published
and the worker that runs it cancels it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from redis.asyncio import Redis

from chatkiosk import pubsub


class CancelRelay:
    def __init__(self, redis: Redis, prefix: str, on_cancel: Callable[[str], object]) -> None:
        self._redis = redis
        self._channel = prefix + ":cancel"
        self._on_cancel = on_cancel
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = await pubsub.listen(self._redis, self._channel, self._on_cancel)

    async def publish(self, conversation_id: str) -> None:
        await self._redis.publish(self._channel, conversation_id)

    async def close(self) -> None:
        await pubsub.stop(self._task)
