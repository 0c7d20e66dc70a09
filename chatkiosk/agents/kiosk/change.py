"""`change_order`: the model names a change and what it applies to; the kiosk works out the commands.

A small model picks an operation and its target far more reliably than it rewrites an order or
chooses among low-level commands: "sprites not colas" is `replace` cola with cider; "the same
again" is `repeat` all; "no ice in either" is `set_option` on the drinks; "the cheapest burger"
is `add` `cheapest_burger`. The kiosk turns each change into the nine commands against the order
as it is at that point (`remove_item`, `set_quantity`, `set_item_option`, `add_item`) and runs
them through the counter like any other command, so every command is still validated, refused or
applied as usual and the order changes only through the limited command set.

Targets are an item id (every line of that item), a category in the plural (`burgers`,
`drinks`: every line of that category), `all`, or `last` (the line touched last). Items to add
are an item id, `cheapest_<category>`, `priciest_<category>` or `each_<category>`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .commands import execute
from .hint import PICKS, ref_names
from .menu import Menu
from .order import MAX_LINE_QUANTITY, Order, OrderLine

NAME = "change_order"
DESCRIPTION = "Change the order: a list of changes, each an operation on a target (see the examples)."

Operation = Literal["add", "remove", "set_quantity", "repeat", "halve", "set_option", "replace", "keep_only"]
OPERATIONS: tuple[str, ...] = Operation.__args__  # type: ignore[attr-defined]


class Change(BaseModel):
    """One change: `do` an operation on `target` (or add `item`)."""

    model_config = ConfigDict(extra="forbid")
    do: Operation
    target: str | None = Field(None, description="item id, burgers/sides/drinks, all or last")
    item: str | None = Field(None, description="the item to add, or to put in the target's place")
    quantity: int | None = Field(None, ge=0, le=MAX_LINE_QUANTITY)
    options: dict[str, str] = Field(default_factory=dict)


class ChangeOrder(BaseModel):
    """The arguments of `change_order`."""

    model_config = ConfigDict(extra="forbid")
    changes: list[Change] = Field(min_length=1, max_length=6)


def categories(menu: Menu) -> list[str]:
    """The menu's categories in menu order."""
    return list(dict.fromkeys(item.category for item in menu.items))


def targets(menu: Menu, refs: int | None = None) -> list[str]:
    """Every target the model may name (with `refs`, only that many `#n`)."""
    return [item.id for item in menu.items] + [f"{c}s" for c in categories(menu)] + ["all", "last", *_refs(refs)]


def items_to_add(menu: Menu, refs: int | None = None) -> list[str]:
    """Every item the model may add: ids, then the cheapest/priciest/each of a category."""
    picks = [f"{p}_{c}" for p in PICKS for c in [*categories(menu), *_refs(refs)]]
    return [item.id for item in menu.items] + picks + _refs(refs)


def _refs(count: int | None) -> list[str]:
    return ref_names() if count is None else ref_names(min(count, len(ref_names())))


def pick(menu: Menu, name: str) -> list[str]:
    """The item ids an item to add stands for (unknown names stay as they are: refused later)."""
    kind, _, category = name.partition("_")
    in_category = [item for item in menu.items if item.category == category]
    if kind not in PICKS or not in_category or menu.has(name):
        return [name]
    if kind == "each":
        return [item.id for item in in_category]
    chosen = (min if kind == "cheapest" else max)(in_category, key=lambda item: item.price)
    return [chosen.id]


def selected(order: Order, menu: Menu, target: str | None) -> list[OrderLine] | None:
    """The order's lines a target names (None: not a target at all)."""
    if target in (None, "all"):
        return list(order.lines)
    if target == "last":
        line = order.last_line()
        return [line] if line is not None else []
    if menu.has(target):
        return [line for line in order.lines if line.item_id == target]
    category = target[:-1] if target.endswith("s") else target
    if category in categories(menu):
        return [line for line in order.lines if menu.item(line.item_id).category == category]
    return None


def _own(menu: Menu, item_id: str, options: dict[str, str]) -> dict[str, str]:
    """The options an item has, from a set said for several items ("everything large")."""
    if not menu.has(item_id):
        return dict(options)
    keys = set(menu.item(item_id).options)
    return {k: v for k, v in options.items() if k in keys}


def _ref(line: OrderLine) -> dict[str, Any]:
    return {"item_id": line.item_id, "options": dict(line.options)}


def _missing(target: str | None) -> list[tuple[str, dict[str, Any]]]:
    """A target the order does not have: a removal the counter refuses with its own reason."""
    return [("remove_item", {"item_id": target or "", "quantity": 1})]


def commands_for_change(order: Order, menu: Menu, change: Change) -> list[tuple[str, dict[str, Any]]]:
    """The commands that make one change to `order` as it is now."""
    if change.do == "add":
        return [("add_item", {"item_id": item_id, "quantity": change.quantity or 1,
                              "options": _own(menu, item_id, change.options)})
                for item_id in pick(menu, change.item or change.target or "")]
    lines = selected(order, menu, change.target)
    if change.do == "replace" and not lines and _inverted(order, menu, change):
        # "turn that coke into a coffee" sent as replace coffee with coke: the order has only
        # the coke, so the only change that can be meant is the other way round
        change = change.model_copy(update={"target": change.item, "item": change.target})
        lines = selected(order, menu, change.target)
    if change.do == "keep_only":
        keep = lines or []
        return [("remove_item", _ref(line)) for line in order.lines if line not in keep]
    if not lines:
        return _missing(change.target)
    if change.do == "remove":
        if change.quantity:  # that many, from the line touched last
            return [("remove_item", {**_ref(lines[-1]), "quantity": change.quantity})]
        return [("remove_item", _ref(line)) for line in lines]
    if change.do == "set_quantity":
        if change.quantity is None:
            return []
        return [("set_quantity", {**_ref(line), "quantity": change.quantity}) for line in lines]
    if change.do == "repeat":  # "薯条再来两份一样的": that many more, else as many again
        return [("add_item", {**_ref(line), "quantity": change.quantity or line.quantity}) for line in lines]
    if change.do == "halve":
        return [("set_quantity", {**_ref(line), "quantity": max(1, line.quantity // 2)}) for line in lines]
    if change.do == "set_option":
        return _set_option(menu, lines, change)
    return _replace(menu, lines, change)


def _inverted(order: Order, menu: Menu, change: Change) -> bool:
    """A replace whose target (a menu item) is not in the order while its item (an item or a
    category: "make the drink a coffee") is."""
    return (change.target is not None and menu.has(change.target) and change.item is not None
            and bool(selected(order, menu, change.item)) and change.item not in ("all", "last"))


def _set_option(menu: Menu, lines: list[OrderLine], change: Change) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for line in lines:
        options = _own(menu, line.item_id, change.options) if len(lines) > 1 else dict(change.options)
        if not options or all(line.options.get(k) == v for k, v in options.items()):
            continue
        args: dict[str, Any] = {"item_id": line.item_id, "options": options, "match": dict(line.options)}
        if change.quantity:
            args["quantity"] = min(change.quantity, line.quantity)
        out.append(("set_item_option", args))
    if not out and change.options and lines:  # no line has that option: the counter says why
        out.append(("set_item_option", {"item_id": lines[0].item_id, "options": dict(change.options)}))
    return out


def _replace(menu: Menu, lines: list[OrderLine], change: Change) -> list[tuple[str, dict[str, Any]]]:
    new = pick(menu, change.item or "")
    if len(new) != 1 or not menu.has(new[0]):  # refused as not on the menu, before anything is removed
        return [("add_item", {"item_id": change.item or "", "quantity": 1})]
    out = []
    for line in lines:
        if line.item_id == new[0] and not change.options:
            continue
        quantity = min(change.quantity, line.quantity) if change.quantity else line.quantity
        carried = _own(menu, new[0], {**line.options, **change.options})
        out.append(("remove_item", {**_ref(line), "quantity": quantity}))
        out.append(("add_item", {"item_id": new[0], "quantity": quantity, "options": carried}))
    return out


def completed(change: Change, reading: list[dict[str, Any]]) -> Change:
    """`change` with the quantity or options the kiosk's reading has and the model left out, when
    the reading makes the same change to the same target ("make one of the two coffees iced":
    `set_option` on the coffees, and the reading heard "one"). A field the model gave is kept."""
    for read in reading:
        same = read.get("do") == change.do and read.get("target") == change.target
        if not same or read.get("item") not in (None, change.item):
            continue
        update: dict[str, Any] = {}
        if change.quantity is None and isinstance(read.get("quantity"), int):
            update["quantity"] = read["quantity"]
        extra = {k: v for k, v in (read.get("options") or {}).items() if k not in change.options}
        if extra:
            update["options"] = {**change.options, **extra}
        return change.model_copy(update=update) if update else change
    return change


def commands_for(order: Order, menu: Menu, changes: list[Change]) -> list[tuple[str, dict[str, Any]]]:
    """The commands for every change in turn, each worked out on the order the ones before left."""
    work = order.model_copy(deep=True)
    out: list[tuple[str, dict[str, Any]]] = []
    for change in changes:
        for name, args in commands_for_change(work, menu, change):
            execute(work, menu, name, args)  # a refused one leaves `work` as it was
            out.append((name, args))
    return out


def decoding_schema(menu: Menu, refs: int | None = None) -> dict[str, Any]:
    """The arguments' shape for constrained decoding: each operation with only its own fields,
    targets and items from the menu, option values from the menu, small quantities; with `refs`,
    only the `#n` the turn has (none when the kiosk recognised no word: a model cannot point
    at a word that is not there)."""
    option_values = {k: {"type": "string", "enum": [v.value for v in o.values]} for k, o in menu.options.items()}
    options = {"type": "object", "properties": option_values, "additionalProperties": False}
    target = {"type": "string", "enum": targets(menu, refs)}
    counts = {"type": "integer", "enum": list(range(1, 11))}

    def op(name: str, required: list[str], **fields: Any) -> dict[str, Any]:
        return {"type": "object", "properties": {"do": {"const": name}, **fields},
                "required": ["do", *required], "additionalProperties": False}

    change = {"anyOf": [
        op("add", ["item"], item={"type": "string", "enum": items_to_add(menu, refs)}, quantity=counts, options=options),
        op("remove", ["target"], target=target, quantity=counts),
        op("set_quantity", ["target", "quantity"], target=target, quantity=counts),
        op("repeat", ["target"], target=target, quantity=counts),
        op("halve", ["target"], target=target),
        op("set_option", ["target", "options"], target=target, options=options, quantity=counts),
        op("replace", ["target", "item"], target=target,
           item={"type": "string", "enum": [i.id for i in menu.items] + _refs(refs)},
           quantity=counts, options=options),
        op("keep_only", ["target"], target=target),
    ]}
    return {"type": "object", "properties": {"changes": {"type": "array", "items": change, "minItems": 1, "maxItems": 4}},
            "required": ["changes"], "additionalProperties": False}
