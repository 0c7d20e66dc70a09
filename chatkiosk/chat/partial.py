"""The text of a streaming answer, saved every few seconds while it streams.

So a process that dies mid-answer (SIGKILL, power) leaves the text the client had already seen
in the message, which the next start marks `incomplete`. The save runs beside the stream (never
awaited by it), one at a time; the final write waits for the one in flight, so it always lands
last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from chatkiosk.store.turn_rows import TurnRows

SAVE_EVERY = 2.0  # seconds between saves of a streaming answer's text

log = logging.getLogger("chatkiosk.chat")


class PartialSaver:
    """Saves one streaming message's text at most every `every` seconds."""

    def __init__(self, rows: TurnRows, message_id: str, every: float = SAVE_EVERY) -> None:
        self.rows = rows
        self.message_id = message_id
        self.every = every
        self._due = time.monotonic() + every
        self._task: asyncio.Task[None] | None = None

    def note(self, parts: list[str]) -> None:
        """The answer grew to `parts`: start a save when one is due and none is in flight."""
        now = time.monotonic()
        if now < self._due or (self._task is not None and not self._task.done()):
            return
        self._due = now + self.every
        self._task = asyncio.create_task(self._save("".join(parts)))

    async def _save(self, text: str) -> None:
        try:
            await self.rows.save_partial(self.message_id, text)
        except Exception:  # a missed partial save costs a few seconds of text after a crash, no more
            log.warning("could not save a streaming answer's text", exc_info=True)

    async def close(self) -> None:
        """Wait for the save in flight (before the final write)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
