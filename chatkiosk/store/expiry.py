"""Conversation expiry: idle conversations are deleted by a background sweep (off by default).

`CHATKIOSK_CONVERSATION_EXPIRY_HOURS` > 0 turns it on: a conversation whose `updated_at` (the
last message, rename or order change) is older than that is deleted with its messages and
tool calls. Placed kiosk orders are kept: they are the shop's record, not the chat's.

Safe with several workers (and hosts) sweeping the same database at once: each batch is one
transaction that first locks the conversations it will delete — on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so two sweepers never wait on or delete the same rows; on SQLite the
write transaction (`BEGIN IMMEDIATE`) already admits one sweeper at a time. The delete
re-checks the cutoff, so a conversation touched in between is never taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from chatkiosk.store import attachments
from chatkiosk.store.db import Database
from chatkiosk.store.tables import Conversation, Message, ToolCallRecord

log = logging.getLogger("chatkiosk.expiry")

BATCH = 200


async def delete_idle(db: Database, cutoff: datetime, batch: int = BATCH) -> int:
    """Delete every conversation idle since before `cutoff`; returns how many this call deleted."""
    deleted = 0
    while True:
        async with db.write() as session:
            query = select(Conversation.id).where(Conversation.updated_at < cutoff).order_by(Conversation.id).limit(batch)
            if db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list((await session.execute(query)).scalars())
            if not ids:
                return deleted
            await session.execute(delete(ToolCallRecord).where(ToolCallRecord.conversation_id.in_(ids)))
            await attachments.forget_conversations(session, ids)
            await session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
            result = await session.execute(
                delete(Conversation).where(Conversation.id.in_(ids), Conversation.updated_at < cutoff)
            )
            deleted += result.rowcount or 0
        if len(ids) < batch:
            return deleted


class ExpirySweeper:
    """The background task: every `every` seconds (with jitter), delete conversations idle `hours`."""

    def __init__(self, db: Database, hours: float, every: float) -> None:
        self.db = db
        self.max_idle = timedelta(hours=hours)
        self.every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin sweeping (the first sweep runs at once)."""
        self._task = asyncio.create_task(self._loop(), name="conversation-expiry")

    async def sweep(self) -> int:
        """One sweep now; returns how many conversations it deleted."""
        count = await delete_idle(self.db, datetime.now(UTC) - self.max_idle)
        if count:
            log.info("deleted idle conversations", extra={"count": count})
        return count

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database outage must not end the sweeper
                log.warning("conversation expiry sweep failed", extra={"error": type(exc).__name__})
            # Jitter keeps the workers of one deployment from sweeping in lockstep.
            await asyncio.sleep(self.every * random.uniform(0.8, 1.2))

    async def stop(self) -> None:
        """Stop sweeping (waits for a sweep in progress to be cancelled)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
