"""The kiosk's counter: loads a conversation's order, runs commands on it, places it.

The chat turn (parser or LLM tools) and the touch API both come through here, so an order
changes in exactly one way: inside one write transaction that reads the conversation's order,
runs the commands, stores the order and, on payment, records the placed order with its number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from chatkiosk.errors import Conflict, NotFound
from chatkiosk.store import conversations, kiosk_orders
from chatkiosk.store.db import Database
from chatkiosk.store.paging import Page
from chatkiosk.store.tables import KioskOrder

from .commands import CommandResult, execute_all
from .menu import Menu
from .order import Order

AGENT = "kiosk"
DEFAULT_LANG = "ko"
LANGS = ("ko", "en", "zh")
_NUMBERING_RETRIES = 5


@dataclass(slots=True)
class CounterResult:
    """What a batch of commands did, the order after them and the conversation's language."""

    results: list[CommandResult]
    order: Order
    lang: str


def _state_order(state: dict[str, Any] | None) -> Order:
    return Order.from_state((state or {}).get("order"))


def payment_state(order: Order, menu: Menu) -> dict[str, Any]:
    """What paying acts on: the lines, the dine choice and the total (language-neutral)."""
    lines = [
        {"item_id": line.item_id, "name": menu.name(line.item_id, "en"), "options": dict(sorted(line.options.items())),
         "quantity": line.quantity, "unit_price": menu.unit_price(line.item_id, line.options)}
        for line in order.lines
    ]
    return {"items": lines, "dine": order.dine, "total": order.total(menu)}


class KioskService:
    def __init__(self, db: Database, menu: Menu) -> None:
        self.db = db
        self.menu = menu

    async def current(self, conversation_id: str, user_id: str) -> tuple[Order, str]:
        """The conversation's order and language; NotFound when it is not the user's kiosk."""
        async with self.db.read() as session:
            conv = await conversations.get(session, conversation_id, user_id)
        self._check(conv)
        state = conv.state or {}
        return _state_order(state), state.get("lang", DEFAULT_LANG)

    @staticmethod
    def _check(conv: Any) -> None:
        if conv is None:
            raise NotFound("no such conversation")
        if conv.agent != AGENT:
            raise Conflict("this conversation is not with the kiosk", code="not_a_kiosk_conversation")

    async def payment_state(self, conversation_id: str, user_id: str) -> dict[str, Any]:
        """The conversation's cart as a payment confirmation binds it (see `payment_state`)."""
        order, _lang = await self.current(conversation_id, user_id)
        return payment_state(order, self.menu)

    async def run(
        self, conversation_id: str, user_id: str, commands: list[tuple[str, dict]], lang: str | None = None,
        *, confirmed: dict[str, Any] | None = None,
    ) -> CounterResult:
        """Run commands in order on the conversation's order (a refused one changes nothing).

        `confirmed`: the cart the customer confirmed paying for; when the order in the
        transaction is not that cart any more, nothing runs (`Conflict`, `confirmation_stale`).
        """
        for attempt in range(_NUMBERING_RETRIES):
            try:
                return await self._run_once(conversation_id, user_id, commands, lang, confirmed)
            except IntegrityError:
                if attempt == _NUMBERING_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def _run_once(
        self, conversation_id: str, user_id: str, commands: list[tuple[str, dict]], lang: str | None,
        confirmed: dict[str, Any] | None,
    ) -> CounterResult:
        async with self.db.write() as session:
            conv = await conversations.get_for_update(session, conversation_id, user_id)
            self._check(conv)
            state = dict(conv.state or {})
            lang = lang if lang in LANGS else state.get("lang", DEFAULT_LANG)
            order = _state_order(state)
            if confirmed is not None and payment_state(order, self.menu) != confirmed:
                raise Conflict("the order changed after the payment was confirmed; nothing was paid",
                               code="confirmation_stale")
            results = execute_all(order, self.menu, commands, lang)
            if any(r.outcome == "place_order" for r in results):
                placed = await kiosk_orders.place(
                    session, user_id=user_id, conversation_id=conversation_id,
                    items=order.to_public(self.menu, lang)["items"], dine=order.dine,
                    payment=order.payment or "card", total=order.total(self.menu),
                )
                order.order_number = placed.order_number
            state["order"] = order.to_state()
            state["lang"] = lang
            await conversations.set_state(session, conversation_id, user_id, state)
        return CounterResult(results, order, lang)

    async def placed(self, user_id: str, *, limit: int, before: str | None) -> Page[KioskOrder]:
        async with self.db.read() as session:
            return await kiosk_orders.page(session, user_id, limit=limit, before=before)
