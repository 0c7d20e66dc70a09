"""`update_order`: the model writes the order as it should be, the kiosk runs the commands.

Small models rewrite a short list far more reliably than they pick operations ("the same
again" is every quantity doubled; "no ice in either" is each drink with `ice: none`; a swap is
the new item in the old one's place). The tool turns the wanted lines into the nine commands
(`remove_item`, `set_quantity`, `add_item`) and runs them through the counter like any other
command, so the order still changes only through the limited command set and each command is
validated, refused or applied as usual.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .menu import Menu, MenuError
from .order import Order

NAME = "update_order"
DESCRIPTION = (
    "Set the items of the order: list EVERY line the order should have after the customer's request "
    "(item, quantity, options). Lines left out are removed."
)


class WantedLine(BaseModel):
    """One line of the order as it should be."""

    model_config = ConfigDict(extra="forbid")
    item_id: str
    quantity: int = Field(1, ge=1)
    options: dict[str, str] = Field(default_factory=dict)


class UpdateOrder(BaseModel):
    """The arguments of `update_order`."""

    model_config = ConfigDict(extra="forbid")
    items: list[WantedLine] = Field(default_factory=list, max_length=20)


def _key(item_id: str, options: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return item_id, tuple(sorted(options.items()))


def commands_for(order: Order, menu: Menu, wanted: list[WantedLine]) -> list[tuple[str, dict[str, Any]]]:
    """The commands that turn `order`'s lines into `wanted`: removals, new quantities, additions."""
    target: dict[tuple, int] = {}
    unknown: list[tuple[str, dict[str, Any]]] = []
    for line in wanted:
        try:
            full = menu.resolve_options(line.item_id, line.options)
        except MenuError:
            # Not on the menu or not an option of it: the add is refused with the usual reason.
            unknown.append(("add_item", {"item_id": line.item_id, "quantity": line.quantity, "options": line.options}))
            continue
        key = _key(line.item_id, full)
        target[key] = target.get(key, 0) + line.quantity
    current: dict[tuple, int] = {}
    for line in order.lines:
        key = _key(line.item_id, line.options)
        current[key] = current.get(key, 0) + line.quantity
    removals, changes, additions = [], [], []
    for (item_id, options), quantity in current.items():
        if (item_id, options) not in target:
            removals.append(("remove_item", {"item_id": item_id, "options": dict(options)}))
        elif target[(item_id, options)] != quantity:
            changes.append(("set_quantity", {"item_id": item_id, "quantity": target[(item_id, options)], "options": dict(options)}))
    for (item_id, options), quantity in target.items():
        if (item_id, options) not in current:
            additions.append(("add_item", {"item_id": item_id, "quantity": quantity, "options": dict(options)}))
    return removals + changes + additions + unknown
