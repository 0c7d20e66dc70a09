"""Cancel requests relayed between workers through Redis pub/sub.

A `POST /cancel` may reach a worker other than the one generating the answer. The route
checks ownership first; then, when the answer is not generated here, the request is published
and the worker that runs it cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from redis.asyncio import Redis


class CancelRelay:
    def __init__(self, redis: Redis, prefix: str, on_cancel: Callable[[str], object]) -> None:
        self._redis = redis
        self._channel = prefix + ":cancel"
        self._on_cancel = on_cancel
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        self._task = asyncio.create_task(self._pump(pubsub))

    async def _pump(self, pubsub) -> None:  # type: ignore[no-untyped-def]
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    data = item["data"]
                    self._on_cancel(data.decode() if isinstance(data, bytes) else data)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def publish(self, conversation_id: str) -> None:
        await self._redis.publish(self._channel, conversation_id)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
