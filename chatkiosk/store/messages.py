"""Queries on messages. Reads are bounded by an index walk, never by the history's length."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatkiosk.store import titles  # noqa: F401  (titles untitled conversations from their first message)
from chatkiosk.store.ids import new_id
from chatkiosk.store.paging import Page, newest_first
from chatkiosk.store.tables import Message, ToolCallRecord, utcnow

FINAL_STATUSES = {"complete", "incomplete", "cancelled", "error", "blocked"}


def build(
    *,
    conversation_id: str,
    user_id: str,
    role: str,
    content: str,
    status: str = "complete",
    usage: dict[str, Any] | None = None,
    tool_calls: list[Any] | None = None,
    tool_call_id: str | None = None,
    error: dict[str, Any] | None = None,
    guardrail: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> Message:
    """A new message row, not yet added to a session (for adding several in one flush)."""
    now = utcnow()
    return Message(
        id=new_id("msg"), conversation_id=conversation_id, user_id=user_id, role=role, content=content,
        status=status, usage=usage, tool_calls=tool_calls, tool_call_id=tool_call_id, error=error,
        guardrail=guardrail, attachments=attachments, created_at=now, updated_at=now,
    )


async def add(session: AsyncSession, **fields: Any) -> Message:
    """Insert one message (the fields of `build`)."""
    msg = build(**fields)
    session.add(msg)
    await session.flush()
    return msg


async def get(session: AsyncSession, message_id: str, user_id: str) -> Message | None:
    result = await session.execute(select(Message).where(Message.id == message_id, Message.user_id == user_id))
    return result.scalar_one_or_none()


async def page(
    session: AsyncSession, conversation_id: str, user_id: str, *, limit: int, before: str | None
) -> Page[Message]:
    query = select(Message).where(Message.conversation_id == conversation_id, Message.user_id == user_id)
    return await newest_first(session, query, Message.id, limit=limit, before=before)


async def recent(session: AsyncSession, conversation_id: str, *, limit: int, before: str | None = None) -> list[Message]:
    """The last `limit` messages, oldest first: the context window's one query."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if before is not None:
        query = query.where(Message.id < before)
    rows = (await session.execute(query.order_by(Message.id.desc()).limit(limit))).scalars()
    return list(reversed(list(rows)))


async def finish(
    session: AsyncSession,
    message_id: str,
    *,
    status: str,
    content: str,
    usage: dict[str, Any] | None,
    tool_calls: list[Any] | None = None,
    error: dict[str, Any] | None = None,
    guardrail: dict[str, Any] | None = None,
) -> None:
    """Close a streaming message in its final status, in the caller's one transaction."""
    assert status in FINAL_STATUSES, status
    await session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(status=status, content=content, usage=usage, tool_calls=tool_calls, error=error, guardrail=guardrail, updated_at=utcnow())
    )


async def save_partial(session: AsyncSession, message_id: str, content: str) -> None:
    """Save the text a message streamed so far (only while it is still `streaming`)."""
    await session.execute(
        update(Message).where(Message.id == message_id, Message.status == "streaming").values(content=content, updated_at=utcnow())
    )


async def mark_streaming_incomplete(session: AsyncSession, older_than: datetime | None = None) -> int:
    """At start: assistant messages left `streaming` by a dead process become `incomplete`."""
    query = update(Message).where(Message.status == "streaming")
    if older_than is not None:
        query = query.where(Message.updated_at < older_than)
    result = await session.execute(query.values(status="incomplete", updated_at=utcnow()))
    return result.rowcount or 0


async def add_tool_call(
    session: AsyncSession,
    *,
    call_id: str,
    message_id: str | None,
    conversation_id: str,
    user_id: str,
    name: str,
    arguments: dict[str, Any] | None,
    result: Any,
    status: str,
    duration_ms: int,
) -> None:
    session.add(
        ToolCallRecord(
            id=new_id("tc"), call_id=call_id, message_id=message_id, conversation_id=conversation_id, user_id=user_id, name=name,
            arguments=arguments, result=result, status=status, duration_ms=duration_ms,
        )
    )
    await session.flush()
