"""Live answers across workers: each generation's numbered events mirrored to a Redis stream.

The worker that generates an answer keeps its log in memory (chat/generations.py); with Redis
configured it also mirrors every event to a short-lived Redis stream, one per conversation, so
a client can re-join the answer (`/events?after=`) on any worker or host. Mirroring never
waits on Redis in the generating task: events are queued and one background task writes them
in pipelined batches. The stream's entry ids are the events' sequence numbers (`<seq>-0`), so
`after=<seq>` maps straight onto Redis' `XREAD` position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatkiosk.chat.generations import Generation
from chatkiosk.events import DoneEvent, Event

log = logging.getLogger("chatkiosk.chat")

Payload = Callable[[Event], dict[str, Any] | None]
"""The event's wire payload (the SSE/WebSocket `data`), or None for events chat clients never see."""

LIVE_SECONDS = 900  # a stream outlives its generation's longest turn
KEEP_FINISHED = 60  # seconds a finished answer stays re-joinable, as in memory
HEARTBEAT_MS = 15_000


class LiveLog:
    """Mirror generations to Redis (`track`) and follow one from any worker (`follow`)."""

    def __init__(self, redis: Redis, prefix: str, payload: Payload) -> None:
        self.redis = redis
        self.prefix = prefix
        self.payload = payload
        self._queue: list[tuple[str, str, int, Event]] = []  # (op, conversation, seq, event)
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def key(self, conversation_id: str) -> str:
        return f"{self.prefix}:live:{conversation_id}"

    # --- the generating worker

    def track(self, generation: Generation) -> None:
        """Mirror this (stored) generation's events from now on."""
        conversation = generation.conversation_id
        self._queue.append(("reset", conversation, 0, None))  # type: ignore[arg-type]

        async def mirror(seq: int, event: Event) -> None:
            self._queue.append(("add", conversation, seq, event))
            self._wake.set()

        generation.observe(mirror)
        self._wake.set()

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_forever(), name="live-log-writer")

    async def close(self) -> None:
        if self._writer is not None:
            await self._flush()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush()
            except RedisError as exc:  # a live answer still reaches its requester; only re-joins elsewhere miss out
                log.warning("could not mirror live answers to Redis", extra={"error": type(exc).__name__})

    async def _flush(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            return
        pipe = self.redis.pipeline(transaction=False)
        for op, conversation, seq, event in batch:
            key = self.key(conversation)
            if op == "reset":
                pipe.delete(key)
                continue
            data = self.payload(event)
            if data is None:
                continue
            pipe.xadd(key, {"t": event.type, "d": orjson.dumps(data, default=str)}, id=f"{seq}-0")
            pipe.expire(key, KEEP_FINISHED if isinstance(event, DoneEvent) else LIVE_SECONDS)
        await pipe.execute(raise_on_error=False)

    # --- any worker

    async def exists(self, conversation_id: str) -> bool:
        """Whether the conversation has a live (or just finished) answer mirrored."""
        try:
            return bool(await self.redis.exists(self.key(conversation_id)))
        except RedisError:
            return False

    async def follow(self, conversation_id: str, after: int = 0) -> AsyncIterator[list[tuple[int, str, bytes]]]:
        """`(seq, type, data-json)` of every event after `after`, in batches, until the done event;
        an empty batch after 15 idle seconds (a heartbeat)."""
        key, position = self.key(conversation_id), f"{after}-0"
        while True:
            found = await self.redis.xread({key: position}, count=512, block=HEARTBEAT_MS)
            if not found:
                if not await self.redis.exists(key):
                    return  # expired or replaced: nothing more will come
                yield []
                continue
            batch = []
            ended = False
            for entry_id, fields in found[0][1]:
                entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                position = entry
                kind = fields[b"t"].decode()
                batch.append((int(entry.split("-", 1)[0]), kind, fields[b"d"]))
                ended = ended or kind == "done"
            yield batch
            if ended:
                return
