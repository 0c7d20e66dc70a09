"""Queries on conversations. Every function takes the owner's id: there is no unscoped read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatkiosk.store import attachments
from chatkiosk.store.ids import new_id
from chatkiosk.store.paging import Page, newest_first
from chatkiosk.store.tables import Conversation, Message, ToolCallRecord, utcnow


async def create(
    session: AsyncSession, *, user_id: str, agent: str, title: str, metadata: dict[str, Any]
) -> Conversation:
    now = utcnow()
    conv = Conversation(
        id=new_id("conv"), user_id=user_id, agent=agent, title=title, metadata_=metadata, state={},
        created_at=now, updated_at=now,
    )
    session.add(conv)
    await session.flush()
    return conv


async def get(session: AsyncSession, conversation_id: str, user_id: str) -> Conversation | None:
    """The conversation if it exists and belongs to `user_id`; otherwise None (a 404)."""
    result = await session.execute(
        select(Conversation).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
    )
    return result.scalar_one_or_none()


async def get_for_update(session: AsyncSession, conversation_id: str, user_id: str) -> Conversation | None:
    """`get`, locking the row until the transaction ends (PostgreSQL; SQLite's write lock already does)."""
    result = await session.execute(
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.user_id == user_id)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def page(session: AsyncSession, user_id: str, *, limit: int, before: str | None) -> Page[Conversation]:
    query = select(Conversation).where(Conversation.user_id == user_id)
    return await newest_first(session, query, Conversation.id, limit=limit, before=before)


async def update_fields(session: AsyncSession, conv: Conversation, *, title: str | None, metadata: dict[str, Any] | None) -> None:
    if title is not None:
        conv.title = title
    if metadata is not None:
        conv.metadata_ = metadata
    conv.updated_at = utcnow()
    await session.flush()


async def touch(session: AsyncSession, conversation_id: str) -> None:
    await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(updated_at=utcnow()))


async def set_summary(session: AsyncSession, conversation_id: str, summary: str, through: str) -> None:
    """Store the running summary and the id of the newest message it covers."""
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(summary=summary, summary_through=through)
    )


async def set_state(session: AsyncSession, conversation_id: str, user_id: str, state: dict[str, Any]) -> None:
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.user_id == user_id)
        .values(state=state, updated_at=utcnow())
    )


async def remove(session: AsyncSession, conversation_id: str, user_id: str) -> bool:
    """Delete the conversation with its messages and tool calls; False when not the user's."""
    conv = await get(session, conversation_id, user_id)
    if conv is None:
        return False
    # Explicit deletes: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON, and
    # nothing must survive a delete whatever the backend's settings.
    await session.execute(delete(ToolCallRecord).where(ToolCallRecord.conversation_id == conversation_id))
    await attachments.forget_conversations(session, [conversation_id])
    await session.execute(delete(Message).where(Message.conversation_id == conversation_id))
    await session.execute(delete(Conversation).where(Conversation.id == conversation_id))
    return True
