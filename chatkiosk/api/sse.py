"""Chat events on the wire: their JSON payload (shared by SSE and WebSocket frames) and the SSE
encoding (`id:`, `event:`, `data:`), with a pre-rendered path for the answer's deltas.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from chatkiosk.api.schemas import MessagePublic
from chatkiosk.events import DeltaEvent, DoneEvent, ErrorEvent, Event, MessageEvent, PieceEvent, ToolCallEvent, ToolResultEvent
from chatkiosk.store.turn_rows import AnyMessage

HEARTBEAT = b": heartbeat\n\n"


def message_body(message: AnyMessage) -> dict[str, Any]:
    """A message as the API shows it."""
    return MessagePublic.of(message).model_dump(mode="json")


def payload(event: Event) -> dict[str, Any] | None:
    """The event's data as sent on the wire (None: not sent to chat clients)."""
    if isinstance(event, DeltaEvent):
        return {"text": event.text}
    if isinstance(event, ToolCallEvent):
        return {"id": event.id, "name": event.name, "arguments": event.arguments}
    if isinstance(event, ToolResultEvent):
        return {"id": event.id, "name": event.name, "result": event.result}
    if isinstance(event, MessageEvent):
        return {"message": message_body(event.message)}
    if isinstance(event, DoneEvent):
        return {"message": message_body(event.message), "usage": event.usage.as_dict()}
    if isinstance(event, ErrorEvent):
        return {"error": event.error.body()["error"]}
    assert isinstance(event, PieceEvent)
    return None  # an upstream's raw piece: only the OpenAI encoder sends those


def dumps(data: Any) -> bytes:
    """JSON as the API writes it (UTF-8, anything unknown as its string)."""
    return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)


def encode(seq: int, event: Event) -> bytes:
    """One event as an SSE block."""
    if isinstance(event, DeltaEvent):  # the hot path: one template, one string dump
        return b"id: %d\nevent: delta\ndata: {\"text\":%b}\n\n" % (seq, orjson.dumps(event.text))
    data = payload(event)
    if data is None:
        return b""
    return b"id: %d\nevent: %b\ndata: %b\n\n" % (seq, event.type.encode(), dumps(data))


async def replay_stream(events: AsyncIterator[tuple[int, Event]]) -> AsyncIterator[bytes]:
    """Stored events (a finished turn) as SSE."""
    async for seq, event in events:
        yield encode(seq, event)


async def live_stream(batches: AsyncIterator[list[tuple[int, str, bytes]]]) -> AsyncIterator[bytes]:
    """A generation mirrored from another worker (chat/live.py) as SSE, with heartbeats."""
    async for batch in batches:
        if not batch:
            yield HEARTBEAT
            continue
        yield b"".join(b"id: %d\nevent: %b\ndata: %b\n\n" % (seq, kind.encode(), data) for seq, kind, data in batch)
