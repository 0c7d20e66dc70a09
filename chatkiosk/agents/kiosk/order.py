"""The order and its state machine: `greet → order → option → pay → done`.

How lines are keyed: a line is one menu item with one *full* set of options (every option
of the item filled in, the first value where the customer chose none). A large cola and a
regular cola are two lines; adding a regular cola to a regular cola line raises its quantity.

How lines are addressed: by `item_id` plus an optional *partial* `match` of options
(`{"size": "large"}` matches every large one of that item; no match matches every line of
the item).

- `remove`: without a quantity removes every matching line; with one, takes that many from
  the matching lines, the most recently touched first.
- `set_quantity`: needs exactly one matching line (else `ambiguous_line`); 0 removes it.
- `set_options`: without a quantity changes every matching line; with one, splits that many
  off (most recently touched lines first) into a line with the new options. Lines that end
  up identical are merged.

Every transition either succeeds or raises `Refusal` having changed nothing it was asked to
guard; `commands.execute` runs transitions on a copy, so a refusal never leaves half an
order behind.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field

from .menu import Menu, MenuError

Dine = Literal["dine_in", "takeout"]
PaymentMethod = Literal["card", "cash", "mobile"]

MAX_LINE_QUANTITY = 30


class OrderState(str, Enum):
    GREET = "greet"
    ORDER = "order"
    OPTION = "option"
    PAY = "pay"
    DONE = "done"


class Refusal(Exception):
    """A command that does not fit the state or the menu; `code` names why, `params` fill the message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class OrderLine(BaseModel):
    item_id: str
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)
    options: dict[str, str] = Field(default_factory=dict, description="Full options of the item")

    def matches(self, item_id: str, match: dict[str, str] | None) -> bool:
        return self.item_id == item_id and all(self.options.get(k) == v for k, v in (match or {}).items())


class LineRef(BaseModel):
    """Which line the customer touched last ("one more", "make that three")."""

    item_id: str
    options: dict[str, str] = Field(default_factory=dict)


class Order(BaseModel):
    """One customer's order; change it only through `commands.execute`."""

    state: OrderState = OrderState.GREET
    lines: list[OrderLine] = Field(default_factory=list)
    dine: Dine | None = None
    payment: PaymentMethod | None = None
    order_number: int | str | None = Field(None, description="Set by the caller once the order is placed")
    last: LineRef | None = None

    # --- reading -------------------------------------------------------------------------

    def find(self, item_id: str, match: dict[str, str] | None = None) -> list[OrderLine]:
        """The lines of this item whose options include `match`, most recently touched first."""
        return [line for line in reversed(self.lines) if line.matches(item_id, match)]

    def last_line(self) -> OrderLine | None:
        """The line the customer touched last, or the newest line."""
        if self.last is not None:
            for line in self.find(self.last.item_id, self.last.options):
                return line
        return self.lines[-1] if self.lines else None

    def total(self, menu: Menu) -> int:
        return sum(menu.unit_price(line.item_id, line.options) * line.quantity for line in self.lines)

    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def to_public(self, menu: Menu, lang: str = "en") -> dict:
        """The order as the API answers it, names in `lang` and options fully filled in."""
        items = []
        for line in self.lines:
            unit = menu.unit_price(line.item_id, line.options)
            items.append(
                {
                    "item_id": line.item_id,
                    "name": menu.name(line.item_id, lang),
                    "quantity": line.quantity,
                    "options": dict(line.options),
                    "unit_price": unit,
                    "line_total": unit * line.quantity,
                }
            )
        return {
            "state": self.state.value,
            "items": items,
            "dine": self.dine,
            "total": sum(i["line_total"] for i in items),
            "order_number": self.order_number,
        }

    def to_state(self) -> dict:
        """A JSON-ready dict for storage; `Order.from_state` reads it back."""
        return self.model_dump(mode="json")

    @classmethod
    def from_state(cls, state: dict | None) -> Order:
        """The stored order, or a fresh one for None."""
        return cls() if not state else cls.model_validate(state)

    # --- transitions ---------------------------------------------------------------------

    def add(self, menu: Menu, item_id: str, quantity: int, options: dict[str, str]) -> OrderLine:
        """Add items; the first item moves greet → order, option/pay go back to order, done starts anew."""
        full = _full_options(menu, item_id, options)
        if self.state is OrderState.DONE:
            self._reset()
        line = self._merge(OrderLine.model_construct(item_id=item_id, quantity=0, options=full), quantity)
        self.state = OrderState.ORDER
        return line

    def remove(self, menu: Menu, item_id: str, quantity: int | None, match: dict[str, str] | None) -> int:
        """Remove items (see the module docstring); returns how many were removed."""
        lines = self._editable_lines(menu, item_id, match)
        available = sum(line.quantity for line in lines)
        if quantity is not None and quantity > available:
            raise Refusal("not_enough_in_order", item=item_id, quantity=available)
        left = available if quantity is None else quantity
        for line in lines:
            take = min(left, line.quantity)
            line.quantity -= take
            left -= take
        self.lines = [line for line in self.lines if line.quantity > 0]
        self._touched(lines[0] if lines[0].quantity else None)
        self.state = OrderState.ORDER
        return available if quantity is None else quantity

    def set_quantity(self, menu: Menu, item_id: str, quantity: int, match: dict[str, str] | None) -> None:
        """Set the quantity of exactly one matching line; 0 removes it."""
        lines = self._editable_lines(menu, item_id, match)
        if len(lines) > 1:
            raise Refusal("ambiguous_line", item=item_id)
        if quantity > MAX_LINE_QUANTITY:
            raise Refusal("quantity_too_large", max=MAX_LINE_QUANTITY)
        lines[0].quantity = quantity
        self.lines = [line for line in self.lines if line.quantity > 0]
        self._touched(lines[0] if quantity else None)
        self.state = OrderState.ORDER

    def set_options(
        self, menu: Menu, item_id: str, options: dict[str, str], quantity: int | None, match: dict[str, str] | None
    ) -> None:
        """Change options of matching lines, or split `quantity` of them off with the new options."""
        try:
            menu.check_options(item_id, options)
        except MenuError as e:
            raise Refusal(e.code, **e.params) from None
        lines = self._editable_lines(menu, item_id, match)
        available = sum(line.quantity for line in lines)
        if quantity is not None and quantity > available:
            raise Refusal("not_enough_in_order", item=item_id, quantity=available)
        left = available if quantity is None else quantity
        moved: list[OrderLine] = []
        for line in lines:
            take = min(left, line.quantity)
            if take:
                line.quantity -= take
                moved.append(OrderLine.model_construct(item_id=item_id, quantity=take, options={**line.options, **options}))
            left -= take
        self.lines = [line for line in self.lines if line.quantity > 0]
        target = None
        for piece in reversed(moved):
            target = self._merge(piece.model_copy(update={"quantity": 0}), piece.quantity)
        self._touched(target)
        self.state = OrderState.ORDER

    def set_dine(self, dine: Dine) -> None:
        """Record dine-in or takeout; any time before payment. In `option` it moves on to `pay`."""
        if self.state is OrderState.DONE:
            raise Refusal("order_placed")
        self.dine = dine
        if self.state is OrderState.OPTION:
            self.state = OrderState.PAY

    def checkout(self) -> None:
        """order → option (no dine choice yet) or pay; a no-op in pay."""
        if self.state is OrderState.DONE:
            raise Refusal("order_placed")
        if not self.lines:
            raise Refusal("empty_order")
        if self.state is OrderState.OPTION:
            raise Refusal("dine_required")
        self.state = OrderState.PAY if self.dine else OrderState.OPTION

    def pay(self, method: PaymentMethod) -> None:
        """pay → done with the payment method; the caller then places the order and sets `order_number`."""
        if self.state is OrderState.DONE:
            raise Refusal("order_placed")
        if not self.lines:
            raise Refusal("empty_order")
        if self.state is OrderState.OPTION:
            raise Refusal("dine_required")
        if self.state is not OrderState.PAY:
            raise Refusal("checkout_first")
        self.payment = method
        self.state = OrderState.DONE

    def cancel(self) -> None:
        """Empty the order and go back to greet."""
        if self.state is OrderState.DONE:
            raise Refusal("order_placed")
        if not self.lines and self.dine is None and self.state is OrderState.GREET:
            raise Refusal("empty_order")
        self._reset()

    # --- internals -----------------------------------------------------------------------

    def _reset(self) -> None:
        self.state = OrderState.GREET
        self.lines = []
        self.dine = None
        self.payment = None
        self.order_number = None
        self.last = None

    def _merge(self, line: OrderLine, quantity: int) -> OrderLine:
        for existing in self.lines:
            if existing.item_id == line.item_id and existing.options == line.options:
                line = existing
                break
        else:
            self.lines.append(line)
        if line.quantity + quantity > MAX_LINE_QUANTITY:
            raise Refusal("quantity_too_large", max=MAX_LINE_QUANTITY)
        line.quantity += quantity
        self._touched(line)
        return line

    def _touched(self, line: OrderLine | None) -> None:
        self.last = LineRef(item_id=line.item_id, options=dict(line.options)) if line else None

    def _editable_lines(self, menu: Menu, item_id: str, match: dict[str, str] | None) -> list[OrderLine]:
        if self.state is OrderState.DONE:
            raise Refusal("order_placed")
        if not menu.has(item_id):
            raise Refusal("unknown_item", item=item_id)
        try:
            menu.check_options(item_id, match or {})
        except MenuError as e:
            raise Refusal(e.code, **e.params) from None
        lines = self.find(item_id, match)
        if not lines:
            raise Refusal("not_in_order", item=item_id)
        return lines


def _full_options(menu: Menu, item_id: str, options: dict[str, str]) -> dict[str, str]:
    try:
        return menu.resolve_options(item_id, options)
    except MenuError as e:
        raise Refusal(e.code, **e.params) from None
