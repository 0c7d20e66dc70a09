"""Photos filed with support tickets: cleaned image bytes kept in the database.

Stored in the database (a blob on SQLite, bytea on PostgreSQL) so every worker and host
serves them without a shared disk; the size limit keeps rows small.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, deferred, mapped_column

from chatkiosk.store.ids import new_id
from chatkiosk.store.tables import Base, utcnow


class TicketAttachment(Base):
    """One photo on a ticket: its cleaned bytes and what they are."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (Index("ix_ticket_attachments_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("shop_tickets.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: listing a ticket's photos never loads their bytes.
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def build(*, ticket_id: str, user_id: str, content_type: str, data: bytes, width: int, height: int, sha256: str) -> TicketAttachment:
    """A new attachment row (not yet added)."""
    return TicketAttachment(
        id=new_id("att"), ticket_id=ticket_id, user_id=user_id, content_type=content_type, size=len(data),
        width=width, height=height, sha256=sha256, data=data, created_at=utcnow(),
    )


async def for_ticket(session: AsyncSession, ticket_id: str) -> list[TicketAttachment]:
    """The ticket's photos, oldest first, without their bytes."""
    rows = await session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id).order_by(TicketAttachment.id))
    return list(rows)


async def count(session: AsyncSession, ticket_id: str) -> int:
    return len(await for_ticket(session, ticket_id))


async def get_with_data(session: AsyncSession, ticket_id: str, attachment_id: str) -> TicketAttachment | None:
    """One photo of the ticket with its bytes, or None."""
    from sqlalchemy.orm import undefer

    return await session.scalar(
        select(TicketAttachment).options(undefer(TicketAttachment.data))
        .where(TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket_id)
    )
