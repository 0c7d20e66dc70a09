"""Listening to a Redis pub/sub channel in the background: the one loop every listener shares."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from redis.asyncio import Redis


async def listen(redis: Redis, channel: str, on_message: Callable[[str], object]) -> asyncio.Task[None]:
    """Subscribe to `channel` and call `on_message(text)` for each message until the task is stopped."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)

    async def pump() -> None:
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    data = item["data"]
                    on_message(data.decode() if isinstance(data, bytes) else data)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    return asyncio.create_task(pump())


async def stop(task: asyncio.Task[None] | None) -> None:
    """Stop a listener started with `listen`."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
