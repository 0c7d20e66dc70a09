"""Server-sent events: the chat events encoded for `text/event-stream`, with heartbeats."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from chatkiosk.chat.generations import Generation
from chatkiosk.events import DeltaEvent, Event, event_data

HEARTBEAT_SECONDS = 15.0
HEARTBEAT = ": heartbeat\n\n"


def encode(seq: int, event: Event) -> str:
    if isinstance(event, DeltaEvent):  # the hot path: skip the generic dataclass walk
        data = json.dumps({"text": event.text}, ensure_ascii=False)
    else:
        data = json.dumps(event_data(event), ensure_ascii=False, default=str)
    return f"id: {seq}\nevent: {event.type}\ndata: {data}\n\n"


async def generation_stream(generation: Generation, after: int = 0, every: float = HEARTBEAT_SECONDS) -> AsyncIterator[str]:
    """A live generation as SSE text: events that piled up go out in one chunk."""
    async for batch in generation.batches(after, heartbeat=every):
        yield "".join(encode(seq, event) for seq, event in batch) if batch else HEARTBEAT


async def replay_stream(events: AsyncIterator[tuple[int, Event]]) -> AsyncIterator[str]:
    """Stored events (a finished turn) as SSE text."""
    async for seq, event in events:
        yield encode(seq, event)
