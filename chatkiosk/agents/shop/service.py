"""The shop's counter: every way an order or ticket changes goes through here.

The HTTP routes, the agent's tools and `chatkiosk shop import` all call these methods, so the
rules live in one place: another customer's order or ticket is `NotFound`, only paid or
preparing orders can be cancelled (a shipped one points to a return), and a cancel the customer
confirmed runs only while the order is still in the status they saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from chatkiosk.errors import Conflict, NotFound, ValidationFailed
from chatkiosk.store import shop, users
from chatkiosk.store.db import Database
from chatkiosk.store.paging import Page
from chatkiosk.store.shop import CANCELLABLE, ShopOrder, ShopTicket

from .models import TRANSITIONS, OrderIn, OrderPatch, TicketIn

# A damaged parcel is urgent; everything else starts as normal.
DEFAULT_PRIORITY = {"damaged": "high"}


class NotCancellable(Conflict):
    """The order is past the point where it can be cancelled."""

    code = "not_cancellable"


def not_cancellable_message(order: ShopOrder) -> str:
    """Why an order cannot be cancelled, and what the customer can do instead."""
    if order.status == "cancelled":
        return f"order {order.number} is already cancelled"
    if order.status == "shipped":
        return (f"order {order.number} has already shipped and can no longer be cancelled; once it is delivered "
                "you can return it: file a refund ticket or see the return policy")
    return (f"order {order.number} was delivered and can no longer be cancelled; you can return it instead: "
            "file a refund ticket or see the return policy")


class ShopService:
    """Orders and tickets of the online shop, on the server's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- orders from the shop's system

    async def create_order(self, order: OrderIn, *, created_at: datetime | None = None) -> ShopOrder:
        """Store an order from the shop's system; 404 for an unknown user, 409 for a taken number."""
        async with self.db.write() as session:
            if await users.get(session, order.user_id) is None:
                raise NotFound(f"no user {order.user_id!r}", code="user_not_found", param="user_id")
            if order.number and await shop.numbers_taken(session, [order.number]):
                raise Conflict(f"order number {order.number} already exists", code="number_taken", param="number")
            row = shop.build_order(
                user_id=order.user_id, status=order.status, number=order.number,
                items=[i.model_dump(exclude_none=True) for i in order.items], total=order.total(),
                carrier=order.carrier, tracking_number=order.tracking_number, created_at=created_at,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict("order number already exists", code="number_taken", param="number") from None
        return row

    async def update_order(self, order_id: str, patch: OrderPatch) -> ShopOrder:
        """A status or shipping change from the shop's system; only forward moves are allowed."""
        async with self.db.write() as session:
            row = await shop.get_order(session, order_id, None)
            if row is None:
                raise NotFound("no such order")
            changes: dict[str, Any] = patch.model_dump(exclude_unset=True, exclude={"status"})
            status = patch.status or row.status
            if status != row.status and status not in TRANSITIONS[row.status]:
                raise Conflict(f"an order that is {row.status} cannot become {status}",
                               code="invalid_transition", param="status")
            if not await shop.set_status(session, order_id, status=status, expected=row.status, **changes):
                raise Conflict("the order changed meanwhile; try again", code="order_changed")
            updated = await shop.get_order(session, order_id, None)
        assert updated is not None
        return updated

    # --- the customer's orders

    async def list_orders(self, user_id: str, *, status: str | None = None, limit: int = 20,
                          before: str | None = None) -> Page[ShopOrder]:
        """The customer's orders, newest first."""
        async with self.db.read() as session:
            return await shop.page_orders(session, user_id, status=status, limit=limit, before=before)

    async def get_order(self, user_id: str, order_id: str) -> ShopOrder:
        """The customer's order by id; `NotFound` for anyone else's."""
        async with self.db.read() as session:
            row = await shop.get_order(session, order_id, user_id)
        if row is None:
            raise NotFound("no such order")
        return row

    async def find_order(self, user_id: str, ref: str) -> ShopOrder:
        """The customer's order by number or id; `NotFound` for anyone else's."""
        async with self.db.read() as session:
            row = await shop.find_order(session, ref, user_id)
        if row is None:
            raise NotFound(f"order {ref} not found", code="order_not_found")
        return row

    async def cancel(self, user_id: str, order_id: str, reason: str = "", *, expected_status: str | None = None) -> ShopOrder:
        """Cancel the customer's paid or preparing order.

        `expected_status`: the status the customer confirmed the cancel at; when the order is
        not in it any more, nothing changes (`Conflict`, `confirmation_stale`). One conditional
        UPDATE decides, so a cancel and a concurrent shipping update cannot both win.
        """
        allowed = CANCELLABLE if expected_status is None else (expected_status,)
        async with self.db.write() as session:
            row = await shop.get_order(session, order_id, user_id)
            if row is None:
                raise NotFound("no such order")
            if expected_status is not None and row.status != expected_status:
                raise Conflict(f"order {row.number} is {row.status} now, not {expected_status} as confirmed; nothing was cancelled",
                               code="confirmation_stale")
            if row.status not in CANCELLABLE:
                raise NotCancellable(not_cancellable_message(row))
            done = await shop.set_status(
                session, order_id, status="cancelled", expected=allowed, user_id=user_id, cancel_reason=reason or None
            )
            if not done:
                raise Conflict("the order changed meanwhile; nothing was cancelled", code="order_changed")
            cancelled = await shop.get_order(session, order_id, user_id)
        assert cancelled is not None
        return cancelled

    # --- tickets

    async def create_ticket(self, user_id: str, ticket: TicketIn) -> ShopTicket:
        """File a ticket; an `order_id` (id or number) must be one of the customer's orders."""
        async with self.db.write() as session:
            order_id = None
            if ticket.order_id:
                order = await shop.find_order(session, ticket.order_id, user_id)
                if order is None:
                    raise NotFound("no such order", code="order_not_found", param="order_id")
                order_id = order.id
            return await shop.add_ticket(
                session, user_id=user_id, order_id=order_id, issue_type=ticket.issue_type,
                description=ticket.description.strip(),
                priority=ticket.priority or DEFAULT_PRIORITY.get(ticket.issue_type, "normal"),
            )

    async def list_tickets(self, user_id: str | None, *, status: str | None = None, limit: int = 20,
                           before: str | None = None) -> Page[ShopTicket]:
        """The customer's tickets (user_id None: everyone's, for staff), newest first."""
        async with self.db.read() as session:
            return await shop.page_tickets(session, user_id, status=status, limit=limit, before=before)

    async def get_ticket(self, user_id: str | None, ticket_id: str) -> ShopTicket:
        """The customer's ticket (user_id None: any, for staff); `NotFound` for anyone else's."""
        async with self.db.read() as session:
            row = await shop.get_ticket(session, ticket_id, user_id)
        if row is None:
            raise NotFound("no such ticket", code="ticket_not_found")
        return row

    async def resolve_ticket(self, ticket_id: str, resolution: str) -> ShopTicket:
        """Staff close a ticket with a resolution; 409 when it is already resolved."""
        if not resolution.strip():
            raise ValidationFailed("resolution must not be empty", param="resolution")
        async with self.db.write() as session:
            if await shop.get_ticket(session, ticket_id, None) is None:
                raise NotFound("no such ticket", code="ticket_not_found")
            if not await shop.resolve_ticket(session, ticket_id, resolution.strip()):
                raise Conflict("the ticket is already resolved", code="already_resolved")
            row = await shop.get_ticket(session, ticket_id, None)
        assert row is not None
        return row
