"""Guardrail events: what a check found and what was done, for admins (`GET /api/admin/guardrail-events`).

An event holds the kinds found (`phone`, `ko`, `override`…), never a value: its excerpt has
personal data replaced by its kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Double, Index, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from chatkiosk.guard.pipeline import Hit
from chatkiosk.store.ids import new_id
from chatkiosk.store.paging import Page, newest_first
from chatkiosk.store.tables import Base, utcnow


class GuardrailEvent(Base):
    """One guardrail hit of one turn."""

    __tablename__ = "guardrail_events"
    __table_args__ = (Index("ix_guardrail_events_check_id", "check", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[str] = mapped_column(String(40), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[str | None] = mapped_column(String(40))
    agent: Mapped[str] = mapped_column(String(64))
    check: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(8))
    tool: Mapped[str | None] = mapped_column(String(64))
    kinds: Mapped[list[Any]] = mapped_column(JSON, default=list)
    score: Mapped[float | None] = mapped_column(Double)
    excerpt: Mapped[str] = mapped_column(Text, default="")


def build(hits: Iterable[Hit], *, user_id: str, agent: str, conversation_id: str | None, message_id: str | None) -> list[GuardrailEvent]:
    """The event rows of a turn's hits, not yet added to a session."""
    now = utcnow()
    return [
        GuardrailEvent(
            id=new_id("gre"), created_at=now, user_id=user_id, conversation_id=conversation_id or None, message_id=message_id,
            agent=agent, check=h.check, action=h.action, source=h.source, tool=h.tool, kinds=list(h.kinds),
            score=h.score, excerpt=h.excerpt,
        )
        for h in hits
    ]


async def page(session: AsyncSession, *, limit: int, before: str | None, check: str | None = None, action: str | None = None) -> Page[GuardrailEvent]:
    """Events newest first, optionally of one check and one action."""
    query = select(GuardrailEvent)
    if check is not None:
        query = query.where(GuardrailEvent.check == check)
    if action is not None:
        query = query.where(GuardrailEvent.action == action)
    return await newest_first(session, query, GuardrailEvent.id, limit=limit, before=before)
