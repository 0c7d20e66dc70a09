"""The online shop's orders and support tickets, and the queries on them.

Orders come from the shop's own system (admin routes, `chatkiosk shop import`); customers read
them and cancel within policy. Every customer-facing query takes the owner's id: another
customer's order or ticket is simply not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from chatkiosk.store.ids import new_id
from chatkiosk.store.paging import Page, newest_first
from chatkiosk.store.tables import Base, utcnow

ORDER_STATUSES = ("paid", "preparing", "shipped", "delivered", "cancelled")
CANCELLABLE = ("paid", "preparing")
ISSUE_TYPES = ("delivery", "damaged", "refund", "exchange", "other")
PRIORITIES = ("low", "normal", "high")
TICKET_STATUSES = ("open", "resolved")


class ShopOrder(Base):
    """One order of the online shop; `number` is the shop's own number that customers quote."""

    __tablename__ = "shop_orders"
    __table_args__ = (Index("ix_shop_orders_user_id_id", "user_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    items: Mapped[list[Any]] = mapped_column()
    total: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShopTicket(Base):
    """A customer's support ticket, optionally about one of their orders."""

    __tablename__ = "shop_tickets"
    __table_args__ = (Index("ix_shop_tickets_user_id_id", "user_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("shop_orders.id", ondelete="SET NULL"))
    issue_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


# --- orders ------------------------------------------------------------------------------


def build_order(
    *, user_id: str, status: str, number: str | None, items: list[dict[str, Any]], total: int,
    carrier: str | None = None, tracking_number: str | None = None, created_at: datetime | None = None,
) -> ShopOrder:
    """A new order row (not yet added); the number defaults to a fresh `S…` one."""
    now = created_at or utcnow()
    order_id = new_id("so")
    return ShopOrder(
        id=order_id, number=number or default_number(order_id, now), user_id=user_id, status=status, items=items,
        total=total, carrier=carrier, tracking_number=tracking_number, created_at=now, updated_at=now,
    )


def default_number(order_id: str, when: datetime) -> str:
    """`S` + the date + six characters of the id: unique, and easy to read out on the phone."""
    return f"S{when:%Y%m%d}{order_id[-6:].upper()}"


async def numbers_taken(session: AsyncSession, numbers: list[str]) -> set[str]:
    """Which of these order numbers already exist."""
    if not numbers:
        return set()
    rows = await session.execute(select(ShopOrder.number).where(ShopOrder.number.in_(numbers)))
    return set(rows.scalars())


async def get_order(session: AsyncSession, order_id: str, user_id: str | None) -> ShopOrder | None:
    """The order by id, if it is `user_id`'s (None: any owner, for admin routes)."""
    query = select(ShopOrder).where(ShopOrder.id == order_id)
    if user_id is not None:
        query = query.where(ShopOrder.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def find_order(session: AsyncSession, ref: str, user_id: str) -> ShopOrder | None:
    """The user's order by id or by number (numbers compared case-insensitively)."""
    ref = ref.strip()
    query = select(ShopOrder).where(
        ShopOrder.user_id == user_id,
        (ShopOrder.id == ref) | (func.upper(ShopOrder.number) == ref.upper()),
    )
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def page_orders(
    session: AsyncSession, user_id: str, *, status: str | None, limit: int, before: str | None
) -> Page[ShopOrder]:
    """The user's orders, newest first, optionally of one status."""
    query = select(ShopOrder).where(ShopOrder.user_id == user_id)
    if status is not None:
        query = query.where(ShopOrder.status == status)
    return await newest_first(session, query, ShopOrder.id, limit=limit, before=before)


async def set_status(
    session: AsyncSession, order_id: str, *, status: str, expected: str | tuple[str, ...] | None = None,
    user_id: str | None = None, **changes: Any,
) -> bool:
    """Change an order's status in one conditional UPDATE; False when it was not in `expected`.

    The condition makes a cancel and a concurrent shipping update exclusive: only one wins.
    """
    query = update(ShopOrder).where(ShopOrder.id == order_id)
    if user_id is not None:
        query = query.where(ShopOrder.user_id == user_id)
    if expected is not None:
        allowed = (expected,) if isinstance(expected, str) else expected
        query = query.where(ShopOrder.status.in_(allowed))
    result = await session.execute(query.values(status=status, updated_at=utcnow(), **changes))
    return result.rowcount == 1


# --- tickets -----------------------------------------------------------------------------


async def add_ticket(
    session: AsyncSession, *, user_id: str, order_id: str | None, issue_type: str, description: str, priority: str,
) -> ShopTicket:
    """Store a new open ticket."""
    ticket = ShopTicket(
        id=new_id("tkt"), user_id=user_id, order_id=order_id, issue_type=issue_type, description=description,
        priority=priority, status="open", created_at=utcnow(),
    )
    session.add(ticket)
    await session.flush()
    return ticket


async def get_ticket(session: AsyncSession, ticket_id: str, user_id: str | None) -> ShopTicket | None:
    """The ticket, if it is `user_id`'s (None: any owner, for staff)."""
    query = select(ShopTicket).where(ShopTicket.id == ticket_id)
    if user_id is not None:
        query = query.where(ShopTicket.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def page_tickets(
    session: AsyncSession, user_id: str | None, *, status: str | None, limit: int, before: str | None
) -> Page[ShopTicket]:
    """Tickets newest first: the user's, or (user_id None) everyone's for staff."""
    query = select(ShopTicket)
    if user_id is not None:
        query = query.where(ShopTicket.user_id == user_id)
    if status is not None:
        query = query.where(ShopTicket.status == status)
    return await newest_first(session, query, ShopTicket.id, limit=limit, before=before)


async def resolve_ticket(session: AsyncSession, ticket_id: str, resolution: str) -> bool:
    """Mark an open ticket resolved; False when it is not open (or does not exist)."""
    result = await session.execute(
        update(ShopTicket)
        .where(ShopTicket.id == ticket_id, ShopTicket.status == "open")
        .values(status="resolved", resolution=resolution, resolved_at=utcnow())
    )
    return result.rowcount == 1
