"""Pending confirmations in the database: the `ConfirmationStore` every worker shares.

A confirmation is used up by one conditional UPDATE (`… WHERE used_at IS NULL`): of any
number of concurrent confirms, on one worker or many, exactly one sees a row count of 1.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Index, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from chatkiosk.agents.confirm import Confirmation
from chatkiosk.store.db import Database
from chatkiosk.store.tables import Base, utcnow

# Rows this long past their expiry are deleted when new ones are created.
FORGET_AFTER = 3600.0


class ConfirmationRow(Base):
    """One side-effecting tool call waiting for its user's yes (see `agents.confirm`)."""

    __tablename__ = "confirmations"
    __table_args__ = (Index("ix_confirmations_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    agent: Mapped[str] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    arguments_hash: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    # Epoch seconds as doubles: the signature covers the exact float, so it must round-trip.
    created_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double)
    signature: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
    # The fingerprinted state the user is asked about (migration 0005); None for tools without one.
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state_hash: Mapped[str | None] = mapped_column(String(64))


def _confirmation(row: ConfirmationRow) -> Confirmation:
    return Confirmation(
        id=row.id, user_id=row.user_id, conversation_id=row.conversation_id, agent=row.agent, tool=row.tool,
        arguments=dict(row.arguments or {}), arguments_hash=row.arguments_hash, summary=row.summary,
        created_at=row.created_at, expires_at=row.expires_at, signature=row.signature, used=row.used_at is not None,
        state=dict(row.state) if row.state is not None else None, state_hash=row.state_hash,
    )


class DatabaseConfirmationStore:
    """`ConfirmationStore` on the server's database; consume is one atomic UPDATE."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, confirmation: Confirmation) -> None:
        """Store a new confirmation (and forget ones long expired)."""
        c = confirmation
        async with self.db.write() as session:
            await session.execute(delete(ConfirmationRow).where(ConfirmationRow.expires_at < time.time() - FORGET_AFTER))
            session.add(ConfirmationRow(
                id=c.id, user_id=c.user_id, conversation_id=c.conversation_id, agent=c.agent, tool=c.tool,
                arguments=c.arguments, arguments_hash=c.arguments_hash, summary=c.summary,
                created_at=c.created_at, expires_at=c.expires_at, signature=c.signature,
                used_at=utcnow() if c.used else None, state=c.state, state_hash=c.state_hash,
            ))

    async def get(self, confirmation_id: str, user_id: str) -> Confirmation | None:
        """The user's confirmation (used or not); another user's is None."""
        async with self.db.read() as session:
            row = (await session.execute(
                select(ConfirmationRow).where(ConfirmationRow.id == confirmation_id, ConfirmationRow.user_id == str(user_id))
            )).scalar_one_or_none()
        return _confirmation(row) if row is not None else None

    async def latest_pending(self, user_id: str, conversation_id: str) -> Confirmation | None:
        """The newest unused, unexpired confirmation of the user in that conversation."""
        async with self.db.read() as session:
            row = (await session.execute(
                select(ConfirmationRow)
                .where(ConfirmationRow.user_id == str(user_id), ConfirmationRow.conversation_id == str(conversation_id),
                       ConfirmationRow.used_at.is_(None), ConfirmationRow.expires_at > time.time())
                .order_by(ConfirmationRow.created_at.desc()).limit(1)
            )).scalar_one_or_none()
        return _confirmation(row) if row is not None else None

    async def consume(self, confirmation_id: str, user_id: str) -> Confirmation | None:
        """Mark the user's unused confirmation used and return it; None for every other caller."""
        async with self.db.write() as session:
            claimed = await session.execute(
                update(ConfirmationRow)
                .where(
                    ConfirmationRow.id == confirmation_id,
                    ConfirmationRow.user_id == str(user_id),
                    ConfirmationRow.used_at.is_(None),
                )
                .values(used_at=utcnow())
            )
            if claimed.rowcount != 1:
                return None
            row = (await session.execute(
                select(ConfirmationRow).where(ConfirmationRow.id == confirmation_id)
            )).scalar_one()
            found = _confirmation(row)
        # Returned as it was before the claim (unused), like the memory store returns it.
        return replace(found, used=False)
