"""Routes of the online shop: the customer's orders and tickets, and the shop system's intake.

Another customer's order or ticket is 404 on every route (SECURITY 11); admin routes answer 403
to everyone else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from chatkiosk.agents.shop.models import (
    AttachmentPublic,
    AdminOrderPublic,
    AdminTicketPublic,
    CancelRequest,
    OrderIn,
    OrderPatch,
    OrderPublic,
    OrderStatus,
    ResolveRequest,
    TicketIn,
    TicketPublic,
    TicketStatus,
)
from chatkiosk.agents.shop.service import ShopService
from chatkiosk.api.deps import AdminUser, CurrentUser, Paging, RuntimeDep
from chatkiosk.api.schemas import ListPage, errors
from chatkiosk.runtime import Runtime

router = APIRouter(tags=["shop"])


def _shop(runtime: Runtime) -> ShopService:
    assert runtime.shop is not None
    return runtime.shop


# --- the customer


@router.get("/api/shop/orders", responses=errors(401, 422))
async def list_orders(
    principal: CurrentUser, runtime: RuntimeDep, paging: Paging,
    status: Annotated[OrderStatus | None, Query(description="only orders in this status")] = None,
) -> ListPage[OrderPublic]:
    """Your orders, newest first."""
    page = await _shop(runtime).list_orders(principal.id, status=status, limit=paging.limit, before=paging.before)
    return ListPage[OrderPublic](data=[OrderPublic.of(o) for o in page.data], has_more=page.has_more)


@router.get("/api/shop/orders/{order_id}", responses=errors(401, 404))
async def get_order(order_id: str, principal: CurrentUser, runtime: RuntimeDep) -> OrderPublic:
    """One of your orders."""
    return OrderPublic.of(await _shop(runtime).get_order(principal.id, order_id))


@router.post("/api/shop/orders/{order_id}/cancel", responses=errors(401, 404, 409, 413, 422))
async def cancel_order(order_id: str, principal: CurrentUser, runtime: RuntimeDep, body: CancelRequest | None = None) -> OrderPublic:
    """Cancel a paid or preparing order; a shipped or delivered one is 409 `not_cancellable` (return it instead)."""
    reason = body.reason if body is not None else ""
    return OrderPublic.of(await _shop(runtime).cancel(principal.id, order_id, reason))


@router.get("/api/shop/tickets", responses=errors(401, 422))
async def list_tickets(
    principal: CurrentUser, runtime: RuntimeDep, paging: Paging,
    status: Annotated[TicketStatus | None, Query(description="only tickets in this status")] = None,
) -> ListPage[TicketPublic]:
    """Your support tickets, newest first."""
    page = await _shop(runtime).list_tickets(principal.id, status=status, limit=paging.limit, before=paging.before)
    return ListPage[TicketPublic](data=[TicketPublic.of(t) for t in page.data], has_more=page.has_more)


@router.post("/api/shop/tickets", status_code=201, responses=errors(401, 404, 413, 422))
async def create_ticket(body: TicketIn, principal: CurrentUser, runtime: RuntimeDep) -> TicketPublic:
    """File a support ticket, optionally about one of your orders."""
    return TicketPublic.of(await _shop(runtime).create_ticket(principal.id, body))


@router.get("/api/shop/tickets/{ticket_id}", responses=errors(401, 404))
async def get_ticket(ticket_id: str, principal: CurrentUser, runtime: RuntimeDep) -> TicketPublic:
    """One of your tickets, with its photos."""
    ticket = TicketPublic.of(await _shop(runtime).get_ticket(principal.id, ticket_id))
    assert runtime.ticket_photos is not None
    ticket.attachments = [AttachmentPublic.of(a) for a in await runtime.ticket_photos.list(principal.id, ticket_id)]
    return ticket


# --- staff and the shop's system


@router.post("/api/shop/tickets/{ticket_id}/resolve", responses=errors(401, 403, 404, 409, 413, 422))
async def resolve_ticket(ticket_id: str, body: ResolveRequest, _admin: AdminUser, runtime: RuntimeDep) -> AdminTicketPublic:
    """Resolve a ticket (staff)."""
    return AdminTicketPublic.of(await _shop(runtime).resolve_ticket(ticket_id, body.resolution))


@router.get("/api/admin/shop/tickets", responses=errors(401, 403, 422))
async def admin_list_tickets(
    _admin: AdminUser, runtime: RuntimeDep, paging: Paging,
    status: Annotated[TicketStatus | None, Query(description="only tickets in this status")] = None,
) -> ListPage[AdminTicketPublic]:
    """Every customer's tickets, newest first (staff)."""
    page = await _shop(runtime).list_tickets(None, status=status, limit=paging.limit, before=paging.before)
    return ListPage[AdminTicketPublic](data=[AdminTicketPublic.of(t) for t in page.data], has_more=page.has_more)


@router.post("/api/admin/shop/orders", status_code=201, responses=errors(401, 403, 404, 409, 413, 422))
async def admin_create_order(body: OrderIn, _admin: AdminUser, runtime: RuntimeDep) -> AdminOrderPublic:
    """An order from the shop's system, for one of its customers."""
    return AdminOrderPublic.of(await _shop(runtime).create_order(body))


@router.patch("/api/admin/shop/orders/{order_id}", responses=errors(401, 403, 404, 409, 413, 422))
async def admin_update_order(order_id: str, body: OrderPatch, _admin: AdminUser, runtime: RuntimeDep) -> AdminOrderPublic:
    """A status or shipping change from the shop's system (forward only: paid → preparing → shipped → delivered)."""
    return AdminOrderPublic.of(await _shop(runtime).update_order(order_id, body))
