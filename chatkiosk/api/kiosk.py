"""Routes of the kiosk: the menu, a conversation's order, touch commands, placed orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from chatkiosk.agents.kiosk.commands import COMMANDS
from chatkiosk.agents.kiosk.service import KioskService
from chatkiosk.api.bodies import json_integers
from chatkiosk.api.deps import CurrentUser, Paging, RuntimeDep
from chatkiosk.api.schemas import ListPage, Strict, errors
from chatkiosk.errors import Conflict, ValidationFailed
from chatkiosk.runtime import Runtime

router = APIRouter(tags=["kiosk"])
Lang = Literal["ko", "en", "zh"]
LangQuery = Annotated[Lang | None, Query(description="language of names and messages; default: the conversation's")]


class OrderItem(BaseModel):
    item_id: str
    name: str
    quantity: int
    options: dict[str, str]
    unit_price: int
    line_total: int


class OrderPublic(BaseModel):
    state: Literal["greet", "order", "option", "pay", "done"]
    items: list[OrderItem]
    dine: Literal["dine_in", "takeout"] | None
    total: int
    order_number: int | str | None


class CommandRequest(Strict):
    command: Literal[tuple(COMMANDS)]  # type: ignore[valid-type]
    args: dict[str, Any] = Field(default_factory=dict)
    lang: Lang | None = None


class CommandOutcome(BaseModel):
    ok: bool
    command: str
    message: str | None = None
    order: OrderPublic


class PlacedOrder(BaseModel):
    id: str
    order_number: int
    items: list[OrderItem]
    dine: str | None
    payment: str
    total: int
    conversation_id: str | None
    created_at: datetime


def _kiosk(runtime: Runtime) -> KioskService:
    return runtime.kiosk


@router.get("/api/kiosk/menu", responses=errors(401, 422))
async def menu(_user: CurrentUser, runtime: RuntimeDep, lang: Lang = "ko") -> dict[str, Any]:
    """The menu: items, prices (KRW) and options, with names in `lang`."""
    return _kiosk(runtime).menu.to_public(lang)


@router.get("/api/conversations/{conversation_id}/order", responses=errors(401, 404, 409, 422))
async def current_order(conversation_id: str, principal: CurrentUser, runtime: RuntimeDep, lang: LangQuery = None) -> OrderPublic:
    """The order of a kiosk conversation, options fully filled in."""
    kiosk = _kiosk(runtime)
    order, conv_lang = await kiosk.current(conversation_id, principal.id)
    return OrderPublic(**order.to_public(kiosk.menu, lang or conv_lang))


@router.post("/api/conversations/{conversation_id}/order/commands", responses=errors(401, 404, 409, 413, 422))
async def order_command(conversation_id: str, body: CommandRequest, principal: CurrentUser, runtime: RuntimeDep) -> CommandOutcome:
    """Run one order command (the touch screen's buttons). A refused command is a 409 with the reason."""
    kiosk = _kiosk(runtime)
    try:
        COMMANDS[body.command].args.model_validate(json_integers(body.args), strict=True)  # 2 or 2.0, never "2"
    except Exception as exc:  # pydantic's message names the bad field
        raise ValidationFailed(f"args: {str(exc).splitlines()[-1].strip()}"[:300], param="args") from None
    counter = await kiosk.run(conversation_id, principal.id, [(body.command, body.args)], body.lang)
    result = counter.results[0]
    if not result.ok:
        raise Conflict(result.message or "this command does not fit the order now", code=result.reason or "command_refused")
    order = OrderPublic(**counter.order.to_public(kiosk.menu, counter.lang))
    return CommandOutcome(ok=True, command=body.command, message=result.message, order=order)


@router.get("/api/kiosk/orders", responses=errors(401, 422))
async def placed_orders(principal: CurrentUser, runtime: RuntimeDep, paging: Paging) -> ListPage[PlacedOrder]:
    """Your placed (paid) kiosk orders, newest first."""
    page = await _kiosk(runtime).placed(principal.id, limit=paging.limit, before=paging.before)
    data = [
        PlacedOrder(
            id=o.id, order_number=o.order_number, items=o.items, dine=o.dine, payment=o.payment, total=o.total,
            conversation_id=o.conversation_id, created_at=o.created_at,
        )
        for o in page.data
    ]
    return ListPage[PlacedOrder](data=data, has_more=page.has_more)
