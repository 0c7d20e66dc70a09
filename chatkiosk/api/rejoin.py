"""Where a re-joining client finds an answer: generated here, mirrored from another worker, or stored.

`GET /events?after=` (SSE) and the WebSocket's `join` frame re-join the same way, after the
conversation's owner is checked (SECURITY 12): the generation this worker runs (its in-memory
log), else the Redis mirror of one another worker runs (chat/live.py), else the last finished
turn rebuilt from storage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from chatkiosk.chat.generations import Generation
from chatkiosk.chat.live import LiveLog
from chatkiosk.errors import NotFound
from chatkiosk.events import DeltaEvent, DoneEvent, Event, MessageEvent, TurnUsage
from chatkiosk.runtime import Runtime
from chatkiosk.store import conversations, messages
from chatkiosk.store.tables import Conversation

Mirrored = AsyncIterator[list[tuple[int, str, bytes]]]
"""Batches of `(seq, type, data-json)` from another worker's generation; an empty batch is a heartbeat."""


@dataclass(slots=True)
class Answer:
    """Exactly one of: the generation here, its mirror from elsewhere, or the stored last turn."""

    generation: Generation | None = None
    mirrored: Mirrored | None = None
    stored: AsyncIterator[tuple[int, Event]] | None = None


async def owned(runtime: Runtime, conversation_id: str, user_id: str) -> Conversation:
    """The user's conversation (404 for a missing one and another user's alike)."""
    async with runtime.db.read() as session:
        conv = await conversations.get(session, conversation_id, user_id)
    if conv is None:
        raise NotFound("no such conversation")
    return conv


async def find(runtime: Runtime, live: LiveLog | None, conversation_id: str, user_id: str, after: int) -> Answer:
    """The answer to re-join from `after` in the user's conversation (404 when it is not theirs)."""
    await owned(runtime, conversation_id, user_id)
    generation = runtime.chat.generations.get(conversation_id, user_id)
    if generation is not None and not generation.finished:
        return Answer(generation=generation)
    # A newer answer may run on another worker than the one that ended here (the mirror of an
    # answer that ended here carries the same events).
    if live is not None and await live.exists(conversation_id):
        return Answer(mirrored=live.follow(conversation_id, after))
    if generation is not None:
        return Answer(generation=generation)
    return Answer(stored=replay(runtime, conversation_id, after))


async def replay(runtime: Runtime, conversation_id: str, after: int) -> AsyncIterator[tuple[int, Event]]:
    """The last finished turn rebuilt from storage: message, delta, done."""
    async with runtime.db.read() as session:
        rows = await messages.recent(session, conversation_id, limit=2)
    if not rows or rows[-1].role != "assistant":
        return
    events: list[Event] = []
    if len(rows) == 2 and rows[0].role == "user":
        events.append(MessageEvent(rows[0]))
    if rows[-1].content:
        events.append(DeltaEvent(rows[-1].content))
    events.append(DoneEvent(rows[-1], TurnUsage.of_stored(rows[-1].usage)))
    for seq, event in enumerate(events, start=1):
        if seq > after:
            yield seq, event
