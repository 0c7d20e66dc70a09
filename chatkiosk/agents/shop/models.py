"""The shop's data as it crosses the boundary: orders coming in, tickets filed, what is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chatkiosk.jsontypes import TextOrJsonInt

OrderStatus = Literal["paid", "preparing", "shipped", "delivered", "cancelled"]
IssueType = Literal["delivery", "damaged", "refund", "exchange", "other"]
Priority = Literal["low", "normal", "high"]
TicketStatus = Literal["open", "resolved"]

NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$"

# Where an order may go next (the shop's system drives it; customers only cancel).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "paid": ("preparing", "shipped", "cancelled"),
    "preparing": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderItemIn(_Strict):
    sku: str | None = Field(None, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    quantity: TextOrJsonInt = Field(ge=1, le=999)
    unit_price: TextOrJsonInt = Field(ge=0, le=100_000_000, description="KRW")


class OrderIn(_Strict):
    """An order from the shop's system (`POST /api/admin/shop/orders`, `chatkiosk shop import`)."""

    user_id: str = Field(min_length=1, max_length=40)
    status: OrderStatus = "paid"
    number: str | None = Field(None, pattern=NUMBER_PATTERN, description="the shop's order number; generated when omitted")
    items: list[OrderItemIn] = Field(min_length=1, max_length=100)
    carrier: str | None = Field(None, max_length=64)
    tracking_number: str | None = Field(None, max_length=64)

    def total(self) -> int:
        return sum(i.quantity * i.unit_price for i in self.items)


class OrderPatch(_Strict):
    """A status (or shipping) change from the shop's system."""

    status: OrderStatus | None = None
    carrier: str | None = Field(None, max_length=64)
    tracking_number: str | None = Field(None, max_length=64)


class CancelRequest(_Strict):
    reason: str = Field("", max_length=500)


class TicketIn(_Strict):
    order_id: str | None = Field(None, max_length=40, description="one of your orders (id or number)")
    issue_type: IssueType
    description: str = Field(min_length=1, max_length=4000)
    priority: Priority | None = Field(None, description="default: high for damaged parcels, normal otherwise")


class ResolveRequest(_Strict):
    resolution: str = Field(min_length=1, max_length=4000)


class OrderItemPublic(BaseModel):
    sku: str | None = None
    name: str
    quantity: int
    unit_price: int


class OrderPublic(BaseModel):
    id: str
    number: str
    status: OrderStatus
    items: list[OrderItemPublic]
    total: int
    carrier: str | None
    tracking_number: str | None
    cancellable: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> OrderPublic:
        return cls(
            id=row.id, number=row.number, status=row.status, items=row.items, total=row.total, carrier=row.carrier,
            tracking_number=row.tracking_number, cancellable=row.status in ("paid", "preparing"),
            created_at=row.created_at, updated_at=row.updated_at,
        )


class AdminOrderPublic(OrderPublic):
    user_id: str

    @classmethod
    def of(cls, row: Any) -> AdminOrderPublic:
        return cls(**OrderPublic.of(row).model_dump(), user_id=row.user_id)


class AttachmentPublic(BaseModel):
    id: str
    ticket_id: str
    content_type: str
    size: int
    width: int
    height: int
    created_at: datetime
    url: str

    @classmethod
    def of(cls, row: Any) -> AttachmentPublic:
        return cls(
            id=row.id, ticket_id=row.ticket_id, content_type=row.content_type, size=row.size, width=row.width,
            height=row.height, created_at=row.created_at, url=f"/api/shop/tickets/{row.ticket_id}/attachments/{row.id}",
        )


class TicketPublic(BaseModel):
    id: str
    order_id: str | None
    issue_type: IssueType
    description: str
    priority: Priority
    status: TicketStatus
    resolution: str | None
    created_at: datetime
    resolved_at: datetime | None
    attachments: list[AttachmentPublic] | None = Field(None, description="its photos (on GET /api/shop/tickets/{id})")

    @classmethod
    def of(cls, row: Any) -> TicketPublic:
        return cls(
            id=row.id, order_id=row.order_id, issue_type=row.issue_type, description=row.description,
            priority=row.priority, status=row.status, resolution=row.resolution, created_at=row.created_at,
            resolved_at=row.resolved_at,
        )


class AdminTicketPublic(TicketPublic):
    user_id: str

    @classmethod
    def of(cls, row: Any) -> AdminTicketPublic:
        return cls(**TicketPublic.of(row).model_dump(), user_id=row.user_id)
