"""The shop agent's tools: typed commands on the caller's own orders, tickets and the policies.

The customer is always `ctx.user_id` — no tool takes a user, so a model asking for another
customer's order number gets "not found" (SECURITY 14). `cancel_order` needs the customer's
confirmation, bound to the order and its status: a yes to "cancel A-1001 (paid)" does nothing
once A-1001 has shipped. Photos the customer sent in chat are filed with the ticket
`create_ticket` files, or with an existing one by `attach_photos`.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from pydantic import Field

from chatkiosk.agents.tools import ToolContext, ToolRegistry, tool
from chatkiosk.errors import ToolError

from chatkiosk.store.shop import CANCELLABLE

from .attachments import Filed
from .models import IssueType, OrderPublic, OrderStatus, TicketIn, TicketPublic
from .service import NotCancellable, ShopService, not_cancellable_message

OrderRef = Annotated[str, Field(min_length=1, max_length=64, description="the order number the customer quotes, or the order id")]
PolicyTopic = Literal["refund", "delivery", "exchange"]


def _shop(ctx: ToolContext) -> ShopService:
    shop = ctx.deps.shop
    if shop is None:
        raise ToolError("the shop is not available on this server", code="shop_unavailable")
    return shop


def order_view(row: Any) -> dict[str, Any]:
    """An order as the model and the page see it."""
    return OrderPublic.of(row).model_dump(mode="json")


@tool
async def list_orders(
    ctx: ToolContext,
    status: OrderStatus | None = None,
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """List the customer's orders, newest first.

    Args:
        status: Only orders in this status (paid, preparing, shipped, delivered, cancelled).
        limit: How many orders, at most 50.
    """
    page = await _shop(ctx).list_orders(ctx.user_id, status=status, limit=limit)
    return {"orders": [order_view(o) for o in page.data], "has_more": page.has_more}


@tool
async def get_order(ctx: ToolContext, order: OrderRef) -> dict[str, Any]:
    """Look up one of the customer's orders by its number (or id): status, items, total, tracking.

    Args:
        order: The order number as the customer wrote it, or the order id.
    """
    return {"order": order_view(await _shop(ctx).find_order(ctx.user_id, order))}


async def _order_state(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    """What a cancel acts on: which order, and the status the customer saw it in.

    An order past cancelling is refused here already, so nobody is asked to confirm in vain.
    """
    row = await _shop(ctx).find_order(ctx.user_id, arguments["order"])
    if row.status not in CANCELLABLE:
        raise NotCancellable(not_cancellable_message(row))
    return {"order_id": row.id, "number": row.number, "status": row.status, "total": row.total}


def _cancel_summary(arguments: dict[str, Any], state: dict[str, Any] | None = None) -> str:
    if state is None:
        return f"cancel order {arguments.get('order')}"
    return f"cancel order {state['number']} ({state['status']}, ₩{state['total']:,})"


@tool(requires_confirmation=True, fingerprint=_order_state, summary=_cancel_summary)
async def cancel_order(
    ctx: ToolContext,
    order: OrderRef,
    reason: Annotated[str, Field(max_length=500)] = "",
) -> dict[str, Any]:
    """Cancel one of the customer's orders (only paid or preparing ones); the customer must confirm.

    Args:
        order: The order number as the customer wrote it, or the order id.
        reason: Why the customer cancels, in their words.
    """
    shop = _shop(ctx)
    confirmed = ctx.confirmed_state or {}
    order_id = confirmed.get("order_id") or (await shop.find_order(ctx.user_id, order)).id
    cancelled = await shop.cancel(ctx.user_id, order_id, reason, expected_status=confirmed.get("status"))
    return {"order": order_view(cancelled), "cancelled": True}


@tool
async def create_ticket(
    ctx: ToolContext,
    issue_type: IssueType,
    description: Annotated[str, Field(min_length=1, max_length=4000)],
    order: OrderRef | None = None,
    priority: Literal["low", "normal", "high"] | None = None,
) -> dict[str, Any]:
    """File a support ticket for the customer (a damaged parcel, a late delivery, a refund or exchange request).

    Args:
        issue_type: delivery, damaged, refund, exchange or other.
        description: What happened, in the customer's words.
        order: The order it is about (number or id), if any.
        priority: low, normal or high; by default high for damaged parcels.
    """
    ticket = await _shop(ctx).create_ticket(
        ctx.user_id, TicketIn(order_id=order, issue_type=issue_type, description=description, priority=priority)
    )
    result: dict[str, Any] = {"ticket": TicketPublic.of(ticket).model_dump(mode="json")}
    filed = await _file_photos(ctx, ticket.id)
    if filed is not None and (filed.ids or filed.over_limit):
        result["photos"] = filed.as_result()
    return result


async def _file_photos(ctx: ToolContext, ticket_id: str) -> Filed | None:
    """The photos the customer sent (in this conversation, or with this turn) filed with the ticket."""
    photos = ctx.deps.ticket_photos
    if photos is None or (ctx.conversation_id is None and not ctx.photos):
        return None
    return await photos.file_sent(ctx.user_id, ticket_id, ctx.conversation_id, ctx.photos)


@tool
async def attach_photos(ctx: ToolContext, ticket_id: Annotated[str, Field(min_length=1, max_length=64)]) -> dict[str, Any]:
    """File the photos the customer sent in this chat with one of their existing support tickets.

    Args:
        ticket_id: The ticket's id (tkt_…).
    """
    filed = await _file_photos(ctx, ticket_id)
    if filed is None or not (filed.ids or filed.over_limit):
        await _shop(ctx).get_ticket(ctx.user_id, ticket_id)  # another customer's ticket: not found, as always
        raise ToolError("the customer has sent no photo that is not filed yet", code="no_photos")
    return {"ticket_id": filed.ticket_id, "photos": filed.as_result()}


@tool
async def list_tickets(ctx: ToolContext, status: Literal["open", "resolved"] | None = None) -> dict[str, Any]:
    """List the customer's support tickets, newest first.

    Args:
        status: Only open or only resolved tickets.
    """
    page = await _shop(ctx).list_tickets(ctx.user_id, status=status, limit=20)
    return {"tickets": [TicketPublic.of(t).model_dump(mode="json") for t in page.data], "has_more": page.has_more}


@tool
async def get_ticket(ctx: ToolContext, ticket_id: Annotated[str, Field(min_length=1, max_length=64)]) -> dict[str, Any]:
    """Read one of the customer's support tickets.

    Args:
        ticket_id: The ticket's id (tkt_…).
    """
    return {"ticket": TicketPublic.of(await _shop(ctx).get_ticket(ctx.user_id, ticket_id)).model_dump(mode="json")}


def _hit(hit: Any) -> dict[str, Any]:
    def field(name: str, *alternatives: str) -> Any:
        for key in (name, *alternatives):
            value = hit.get(key) if isinstance(hit, dict) else getattr(hit, key, None)
            if value is not None:
                return value
        return None

    return {
        "document": field("document_title", "document"), "document_id": field("document_id"),
        "chunk": field("chunk_index", "chunk"), "chunk_id": field("chunk_id"), "heading": field("heading") or "",
        "text": field("text") or "", "score": field("score"),
    }


@tool
async def search_policies(
    ctx: ToolContext,
    query: Annotated[str, Field(min_length=1, max_length=500)],
    topic: PolicyTopic | None = None,
    top_k: Annotated[int, Field(ge=1, le=10)] = 3,
) -> dict[str, Any]:
    """Search the shop's policies (refund and returns, delivery, exchange); cite the document and section.

    Args:
        query: The customer's question, in their words.
        topic: refund, delivery or exchange, when it is clear.
        top_k: How many passages to return.
    """
    knowledge = ctx.deps.knowledge
    if knowledge is None:
        return {"results": [], "message": "no policy documents are available on this server"}
    # The customer's own words: the policies exist in ko/en/zh, and the question's language finds its own.
    found = knowledge.search(ctx.user_id, query, top_k=top_k)
    if inspect.isawaitable(found):
        found = await found
    results = [_hit(h) for h in (found or [])]
    return {"topic": topic, "results": results, "citations": [f"{r['document']} §{r['chunk']}" for r in results]}


def shop_tools() -> ToolRegistry:
    """The tools the shop agent grants, in the order the model sees them."""
    return ToolRegistry([list_orders, get_order, cancel_order, create_ticket, attach_photos, list_tickets, get_ticket, search_policies])
