"""Photos customers send: cleaned image bytes kept in the database, filed with support tickets.

Stored in the database (a blob on SQLite, bytea on PostgreSQL) so every worker and host
serves them without a shared disk; the size limit keeps rows small. A photo sent in chat
belongs to its conversation and message and has no ticket until it is filed with one; a photo
uploaded to a ticket has a ticket and no conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, deferred, mapped_column, undefer

from chatkiosk.store.ids import new_id
from chatkiosk.store.tables import Base, utcnow


class TicketAttachment(Base):
    """One photo: its cleaned bytes and what they are; its ticket once filed."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (
        Index("ix_ticket_attachments_ticket_id_id", "ticket_id", "id"),
        Index("ix_ticket_attachments_conversation_id_id", "conversation_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ticket_id: Mapped[str | None] = mapped_column(ForeignKey("shop_tickets.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Sent in chat: the conversation and the user message it came with (None: uploaded to a ticket).
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL", name="fk_ticket_attachments_conversation_id")
    )
    message_id: Mapped[str | None] = mapped_column(String(40))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: listing a ticket's photos never loads their bytes.
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def build(
    *, ticket_id: str | None, user_id: str, content_type: str, data: bytes, width: int, height: int, sha256: str,
    id: str | None = None, conversation_id: str | None = None, message_id: str | None = None,
) -> TicketAttachment:
    """A new attachment row (not yet added)."""
    return TicketAttachment(
        id=id or new_id("att"), ticket_id=ticket_id, user_id=user_id, conversation_id=conversation_id, message_id=message_id,
        content_type=content_type, size=len(data), width=width, height=height, sha256=sha256, data=data, created_at=utcnow(),
    )


async def for_ticket(session: AsyncSession, ticket_id: str) -> list[TicketAttachment]:
    """The ticket's photos, oldest first, without their bytes."""
    rows = await session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id).order_by(TicketAttachment.id))
    return list(rows)


async def count(session: AsyncSession, ticket_id: str) -> int:
    return len(await for_ticket(session, ticket_id))


async def get_with_data(session: AsyncSession, ticket_id: str, attachment_id: str) -> TicketAttachment | None:
    """One photo of the ticket with its bytes, or None."""
    return await session.scalar(
        select(TicketAttachment).options(undefer(TicketAttachment.data))
        .where(TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket_id)
    )


async def sent_with_data(session: AsyncSession, conversation_id: str, user_id: str, attachment_id: str) -> TicketAttachment | None:
    """One photo the user sent in the conversation, with its bytes, or None."""
    return await session.scalar(
        select(TicketAttachment).options(undefer(TicketAttachment.data)).where(
            TicketAttachment.id == attachment_id, TicketAttachment.conversation_id == conversation_id,
            TicketAttachment.user_id == user_id,
        )
    )


async def unfiled(session: AsyncSession, conversation_id: str, user_id: str) -> list[TicketAttachment]:
    """The photos the user sent in the conversation that no ticket has yet, oldest first."""
    rows = await session.scalars(
        select(TicketAttachment).where(
            TicketAttachment.conversation_id == conversation_id, TicketAttachment.user_id == user_id,
            TicketAttachment.ticket_id.is_(None),
        ).order_by(TicketAttachment.id)
    )
    return list(rows)


async def file(session: AsyncSession, attachment_ids: Sequence[str], ticket_id: str) -> None:
    """File photos that have no ticket yet with `ticket_id`."""
    if attachment_ids:
        await session.execute(
            update(TicketAttachment).where(TicketAttachment.id.in_(list(attachment_ids)), TicketAttachment.ticket_id.is_(None))
            .values(ticket_id=ticket_id)
        )


async def forget_conversations(session: AsyncSession, conversation_ids: Sequence[str]) -> None:
    """Before conversations are deleted: their unfiled photos go too; photos filed with a
    ticket stay with the ticket (explicit, whatever the backend's foreign-key settings)."""
    ids = list(conversation_ids)
    await session.execute(delete(TicketAttachment).where(TicketAttachment.conversation_id.in_(ids), TicketAttachment.ticket_id.is_(None)))
    await session.execute(update(TicketAttachment).where(TicketAttachment.conversation_id.in_(ids)).values(conversation_id=None))
