"""Server-sent events: the chat events encoded for `text/event-stream`, with heartbeats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from chatkiosk.events import Event, event_data

HEARTBEAT_SECONDS = 15.0


def encode(seq: int, event: Event) -> str:
    data = json.dumps(event_data(event), ensure_ascii=False, default=str)
    return f"id: {seq}\nevent: {event.type}\ndata: {data}\n\n"


async def with_heartbeats(events: AsyncIterator[tuple[int, Event]], every: float = HEARTBEAT_SECONDS) -> AsyncIterator[str]:
    """Encode events; when none comes for `every` seconds, send a comment line to keep proxies open."""
    iterator = events.__aiter__()
    pending: asyncio.Task | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield ": heartbeat\n\n"
                continue
            try:
                seq, event = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield encode(seq, event)
    finally:
        if pending is not None:
            pending.cancel()
