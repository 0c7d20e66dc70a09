"""Generations in flight: their numbered event logs, the streams they relay to, cancellation.

A generation belongs to one user and (when stored) one conversation. Its events are kept in an
append-only log, numbered from 1, so anyone (another tab, a re-joining client) can join from
`after=<seq>`. A stream attaches a sink, which the generating task itself awaits as it
publishes each event, so a frame reaches the client's socket with no wake-up of another task
and no per-frame `asyncio.Event`. Whoever waits for a stage (started, answering, ended) waits on
that stage's one future, shielded: no task per waiter. The log is dropped a little while after
the generation ends, when the stored message is the record.

One answer at a time per conversation: checked here for this process, and with `claims`
(chat/claims.py, Redis) across every worker and host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from chatkiosk.errors import ChatkioskError, Conflict
from chatkiosk.events import DoneEvent, ErrorEvent, Event, MessageEvent

if TYPE_CHECKING:
    from chatkiosk.chat.claims import Claims

KEEP_FINISHED = 60.0  # seconds a finished generation stays joinable in memory
SETTLE_SECONDS = 5.0  # how long a new turn waits for the previous answer's final write

log = logging.getLogger("chatkiosk.chat")

Sink = Callable[[int, Event], Awaitable[None]]
"""Where the requester's frames go: awaited with `(seq, event)` in the generating task."""


class Generation:
    """One answer being generated: its event log, its requester's sink, its task."""

    def __init__(self, conversation_id: str, user_id: str) -> None:
        self.conversation_id = conversation_id
        self.user_id = user_id
        self.message_id: str | None = None
        self.claim: str | None = None  # the owner token of the conversation's claim across workers
        self.waited = False  # it waited for the previous answer's final write (history read before is stale)
        self.events: list[Event] = []
        self.finished = False
        self.task: asyncio.Task[None] | None = None
        self._sinks: list[Sink] = []
        loop = asyncio.get_running_loop()
        self._started: asyncio.Future[None] = loop.create_future()  # admitted and stored, or why not
        self._answering: asyncio.Future[None] = loop.create_future()  # the first event past the user message
        self._ended: asyncio.Future[None] = loop.create_future()

    def mark_waited(self) -> None:
        self.waited = True

    # --- the generating side

    async def publish(self, event: Event) -> int:
        """Append an event and relay it to the sinks (awaited here).

        Returns its sequence number (1-based). A sink that fails is dropped (its stream's
        disconnect watcher ends that stream, and cancels the turn when it was the requester's).
        """
        events = self.events
        events.append(event)
        seq = len(events)
        if not self._answering.done() and not isinstance(event, MessageEvent):
            self._answering.set_result(None)
        sinks = self._sinks
        if sinks:
            for sink in tuple(sinks):  # a sink may detach itself meanwhile
                try:
                    await sink(seq, event)
                except Exception:  # that requester left mid-write: its watcher ends its stream
                    self.detach(sink)
        return seq

    def started(self, error: BaseException | None = None) -> None:
        """The turn was admitted and its user message stored (or, with `error`, refused)."""
        if self._started.done():
            return
        if error is None:
            self._started.set_result(None)
        else:
            self._started.set_exception(error)
            self._started.exception()  # retrieved: the caller of `start` re-raises it

    def finish(self) -> None:
        """The generation ended (its done event is published, or it never started)."""
        self.finished = True
        self._sinks.clear()
        for future in (self._answering, self._ended):
            if not future.done():
                future.set_result(None)

    # --- what was said

    @property
    def error(self) -> ChatkioskError | None:
        """Why it failed, for callers that answer in one piece."""
        return next((e.error for e in reversed(self.events) if isinstance(e, ErrorEvent)), None)

    @property
    def done(self) -> DoneEvent | None:
        """Its done event, once published."""
        last = self.events[-1] if self.events else None
        return last if isinstance(last, DoneEvent) else None

    # --- the requester's side

    def wait_started(self) -> asyncio.Future[None]:
        """Done when the turn is admitted and stored; raises the reason when it was refused."""
        return asyncio.shield(self._started)

    def wait_answering(self) -> asyncio.Future[None]:
        """Done at the first event that is part of the answer (or the end)."""
        return asyncio.shield(self._answering)

    def wait(self) -> asyncio.Future[None]:
        """Done when the generation has ended (cancelling what is returned leaves the generation be)."""
        return asyncio.shield(self._ended)

    async def attach(self, sink: Sink, after: int = 0) -> None:
        """Send the events after `after` to `sink` now, then each new one as it is published.

        The catch-up and the hand-over are one step (no await between the last caught-up event
        and installing the sink), so nothing is missed or sent twice. `wait()` for the end.
        """
        seq = after
        while seq < len(self.events):
            seq += 1
            await sink(seq, self.events[seq - 1])
        if not self.finished:
            self._sinks.append(sink)

    def observe(self, sink: Sink) -> None:
        """Relay every event published from now on to `sink` too (e.g. a mirror for other workers);
        like a requester's sink it is awaited in the generating task, so it must not block."""
        if not self.finished:
            self._sinks.append(sink)

    def detach(self, sink: Sink) -> None:
        """Stop relaying to `sink`."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    def cancel(self) -> bool:
        """Stop generating (True when it was running). Once the done event is out the turn is
        over — what is left is storing it and settling its accounts — so nothing is cancelled."""
        if self.task is not None and not self.task.done() and self.done is None:
            self.task.cancel()
            return True
        return False


class Generations:
    """The generations this process runs, one at a time per conversation (with `claims`, across workers)."""

    def __init__(self, claims: Claims | None = None) -> None:
        self._live: dict[str, Generation] = {}
        self._reapers: set[asyncio.TimerHandle] = set()
        self.claims = claims
        self._releases: dict[str, asyncio.Task[None]] = {}  # claims being released, per conversation
        # Called with every new stored generation (the Redis mirror for re-joins on other workers).
        self.on_start: Callable[[Generation], None] | None = None

    async def settle(self, conversation_id: str, timeout: float = SETTLE_SECONDS) -> bool:
        """Wait (at most `timeout`) for an answer that is already done but still being stored, so a
        client that sends its next message the moment it got `done` is not refused with 409.
        True when there was such an answer to wait for."""
        waited = False
        current = self._live.get(conversation_id)
        if current is not None and not current.finished and current.done is not None:
            waited = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(current.wait(), timeout)
        release = self._releases.get(conversation_id)
        if release is not None:  # the last answer here is stored; its claim is on its way out
            with contextlib.suppress(Exception):
                await asyncio.shield(release)
        return waited

    async def start(self, conversation_id: str, user_id: str) -> Generation:
        """A new generation in the conversation; 409 while another one runs there (on any worker
        with claims). An answer done but still being stored is waited for, here or elsewhere."""
        waited = await self.settle(conversation_id)
        current = self._live.get(conversation_id)
        if current is not None and not current.finished:
            raise _in_progress()
        generation = Generation(conversation_id, user_id)
        generation.waited = waited
        self._live[conversation_id] = generation  # before the await below: a second turn here is refused
        if self.claims is not None:
            try:
                generation.claim = await self.claims.take(conversation_id, SETTLE_SECONDS, on_wait=generation.mark_waited)
            finally:
                if generation.claim is None:  # answering on another worker (or cancelled): as if never started
                    generation.finish()
                    if self._live.get(conversation_id) is generation:
                        if current is not None:
                            self._live[conversation_id] = current
                        else:
                            del self._live[conversation_id]
            if generation.claim is None:
                raise _in_progress()
            generation.observe(self._storing_sink(conversation_id, generation.claim))
        if self.on_start is not None:
            self.on_start(generation)
        return generation

    def _storing_sink(self, conversation_id: str, token: str) -> Sink:
        claims = self.claims
        assert claims is not None

        async def storing(seq: int, event: Event) -> None:  # awaited before the requester's sink sees done
            if isinstance(event, DoneEvent):
                await claims.storing(conversation_id, token)

        return storing

    async def wait_turn(self, conversation_id: str, timeout: float) -> None:
        """Wait (at most `timeout`) for the answer running in the conversation, here or on another
        worker, to end (for callers that wait their turn instead of taking a 409)."""
        current = self._live.get(conversation_id)
        if current is not None and not current.finished:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(current.wait(), timeout)
        elif self.claims is not None:
            await self.claims.wait_released(conversation_id, timeout)

    async def stored_elsewhere(self, conversation_id: str, timeout: float = SETTLE_SECONDS) -> None:
        """With claims: wait (at most `timeout`) while another worker stores the conversation's
        finished answer, so a history read right after `done` shows it stored."""
        if self.claims is not None and await self.claims.state(conversation_id) == "storing":
            await self.claims.wait_released(conversation_id, timeout)

    def get(self, conversation_id: str, user_id: str) -> Generation | None:
        """The conversation's current or recent generation, if it is the user's."""
        generation = self._live.get(conversation_id)
        if generation is None or generation.user_id != user_id:
            return None
        return generation

    def cancel(self, conversation_id: str, user_id: str) -> bool:
        """Cancel the user's generation in that conversation (True when one was running)."""
        generation = self.get(conversation_id, user_id)
        return generation.cancel() if generation is not None else False

    def cancel_local(self, conversation_id: str) -> bool:
        """Cancel without an owner check: for requests relayed from another worker, already checked there."""
        generation = self._live.get(conversation_id)
        return generation.cancel() if generation is not None else False

    def ended(self, generation: Generation) -> None:
        """Forget the generation after a grace period, unless a newer one replaced it."""
        generation.finish()
        if not generation.conversation_id:
            return  # ephemeral: never registered, nothing to re-join
        if self.claims is not None and generation.claim is not None:
            self._release(generation.conversation_id, generation.claim)

        def reap() -> None:  # a timer, not a task: a turn ends without scheduling one more coroutine
            self._reapers.discard(timer)
            if self._live.get(generation.conversation_id) is generation:
                del self._live[generation.conversation_id]

        timer = asyncio.get_running_loop().call_later(KEEP_FINISHED, reap)
        self._reapers.add(timer)

    def _release(self, conversation_id: str, token: str) -> None:
        assert self.claims is not None
        task = asyncio.create_task(self.claims.release(conversation_id, token))
        self._releases[conversation_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._releases.get(conversation_id) is done:
                del self._releases[conversation_id]

        task.add_done_callback(forget)

    def active(self) -> int:
        """How many generations are running now."""
        return sum(1 for g in self._live.values() if not g.finished)

    async def close(self) -> None:
        """Cancel every generation and wait for them to store their end."""
        for generation in list(self._live.values()):
            generation.cancel()
        for timer in self._reapers:
            timer.cancel()
        self._reapers.clear()
        tasks = [g.task for g in self._live.values() if g.task is not None]
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for task in list(self._releases.values()):  # the other workers may answer there now
            with contextlib.suppress(BaseException):
                await task


def _in_progress() -> Conflict:
    return Conflict("an answer is already being generated in this conversation", code="generation_in_progress")
