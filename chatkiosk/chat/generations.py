"""Generations in flight: their numbered event logs, subscribers, and cancellation.

A generation belongs to one conversation and one user. Its events are kept in order with a
sequence number so any subscriber (the request that started it, another tab, a WebSocket) can
join at `after=<seq>`; the log is dropped a little while after the generation ends, when the
stored message is the record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from chatkiosk.errors import Conflict
from chatkiosk.events import DoneEvent, ErrorEvent, Event

KEEP_FINISHED = 60.0  # seconds a finished generation stays joinable in memory


@dataclass
class Generation:
    conversation_id: str
    user_id: str
    message_id: str | None = None
    events: list[Event] = field(default_factory=list)
    finished: bool = False
    task: asyncio.Task | None = None
    error: Exception | None = None  # why it failed, for callers that answer in one piece
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, event: Event) -> int:
        """Append an event; returns its sequence number (1-based)."""
        self.events.append(event)
        if isinstance(event, (DoneEvent, ErrorEvent)):
            self.finished = True
        self._changed.set()
        self._changed = asyncio.Event()
        return len(self.events)

    def finish(self) -> None:
        self.finished = True
        self._changed.set()

    async def follow(self, after: int = 0) -> AsyncIterator[tuple[int, Event]]:
        """Yield `(seq, event)` from `after` on, until the generation ends."""
        async for batch in self.batches(after):
            for item in batch:
                yield item

    async def batches(self, after: int = 0, heartbeat: float | None = None) -> AsyncIterator[list[tuple[int, Event]]]:
        """Yield every event not yet seen as one list, until the generation ends.

        A slow reader gets what piled up in one go (one write, not one per event). With
        `heartbeat`, an empty list comes after that many idle seconds.
        """
        seq = after
        while True:
            if seq < len(self.events):
                batch = list(enumerate(self.events[seq:], start=seq + 1))
                seq = len(self.events)
                yield batch
                continue
            if self.finished:
                return
            changed = self._changed
            if heartbeat is None:
                await changed.wait()
                continue
            try:
                async with asyncio.timeout(heartbeat):
                    await changed.wait()
            except TimeoutError:
                yield []

    def cancel(self) -> bool:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            return True
        return False


class Generations:
    """The generations this process runs, one at a time per conversation."""

    def __init__(self) -> None:
        self._live: dict[str, Generation] = {}
        self._reapers: set[asyncio.Task] = set()
        self.on_cancel_request: Callable[[str], None] | None = None

    def start(self, conversation_id: str, user_id: str) -> Generation:
        current = self._live.get(conversation_id)
        if current is not None and not current.finished:
            raise Conflict("an answer is already being generated in this conversation", code="generation_in_progress")
        generation = Generation(conversation_id, user_id)
        self._live[conversation_id] = generation
        return generation

    def get(self, conversation_id: str, user_id: str) -> Generation | None:
        """The conversation's current or recent generation, if it is the user's."""
        generation = self._live.get(conversation_id)
        if generation is None or generation.user_id != user_id:
            return None
        return generation

    def cancel(self, conversation_id: str, user_id: str) -> bool:
        generation = self.get(conversation_id, user_id)
        return generation.cancel() if generation is not None else False

    def cancel_local(self, conversation_id: str) -> bool:
        """Cancel without an owner check: for requests relayed from another worker, already checked there."""
        generation = self._live.get(conversation_id)
        return generation.cancel() if generation is not None else False

    def ended(self, generation: Generation) -> None:
        """Forget the generation after a grace period, unless a newer one replaced it."""
        generation.finish()

        async def reap() -> None:
            await asyncio.sleep(KEEP_FINISHED)
            if self._live.get(generation.conversation_id) is generation:
                del self._live[generation.conversation_id]

        task = asyncio.create_task(reap())
        self._reapers.add(task)
        task.add_done_callback(self._reapers.discard)

    def active(self) -> int:
        return sum(1 for g in self._live.values() if not g.finished)

    async def close(self) -> None:
        for generation in list(self._live.values()):
            generation.cancel()
        for task in list(self._reapers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tasks = [g.task for g in self._live.values() if g.task is not None]
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
