"""Queries on placed kiosk orders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatkiosk.store.ids import new_id
from chatkiosk.store.paging import Page, newest_first
from chatkiosk.store.tables import KioskOrder, utcnow


async def place(
    session: AsyncSession, *, user_id: str, conversation_id: str | None, items: list[dict[str, Any]],
    dine: str | None, payment: str, total: int,
) -> KioskOrder:
    """Store a paid order with the next number of the day (inside the caller's write transaction).

    The write transaction serialises numbering on SQLite; on PostgreSQL the unique constraint
    on (day, number) makes a rare race fail, and the caller's retry takes the next number.
    """
    now = utcnow()
    day = now.strftime("%Y-%m-%d")
    last = (await session.execute(select(func.max(KioskOrder.order_number)).where(KioskOrder.business_day == day))).scalar()
    order = KioskOrder(
        id=new_id("ord"), user_id=user_id, conversation_id=conversation_id, business_day=day,
        order_number=(last or 0) + 1, items=items, dine=dine, payment=payment, total=total, created_at=now,
    )
    session.add(order)
    await session.flush()
    return order


async def page(session: AsyncSession, user_id: str, *, limit: int, before: str | None) -> Page[KioskOrder]:
    query = select(KioskOrder).where(KioskOrder.user_id == user_id)
    return await newest_first(session, query, KioskOrder.id, limit=limit, before=before)
