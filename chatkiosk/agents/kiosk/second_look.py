"""A second look at what the rule parser understood, before the kiosk acts on it.

The parser is exact on plain orders, but a few shapes of request it reads with confidence and
gets wrong: "sprites not colas" (an addition and a removal, not a swap of the same number),
"치즈버거 두 개 중 하나는 불고기로" (both burgers swapped, not one of them), "薯条换成大份的，再加一个
芝士条" (the fries' change dropped), "美式不要冰的，要热的" (an ice option the americano does not
have), "make that americano iced, not hot" (the option after "not" taken), "one less cheeseburger"
and "sub the fries for cheese sticks" (a word it does not know, read past: one more of what is
already there), "감자튀김이랑 콜라 둘 다 라지로요" ("both" read past: one more fries). `doubtful()` tells those apart from the parser's usual output by what the reading would
do to the order — it is tried on a copy, never on the real one — and by the words it did not
account for; then the model takes the turn, with the kiosk's reading as a hint, and whatever
it sends is validated and run like any other command.
"""

from __future__ import annotations

from . import _lexicon as lx
from ._scan import Lexicon, Token, normalise
from .commands import execute_all
from .menu import Menu
from .order import Order
from .parser import ParseResult
from .reading import not_before


def doubtful(text: str, parsed: ParseResult, order: Order, menu: Menu, lexicon: Lexicon) -> str | None:
    """Why the parser's reading of `text` should not be run as it is (None: run it)."""
    tokens = lexicon.scan(normalise(text))
    if _contrast(tokens, lx.ITEM):
        return "contrast"  # "sprites not colas": the second is replaced by the first
    if _contrast(tokens, lx.OPT):
        return "option_contrast"  # "iced, not hot": the first is wanted
    commands = parsed.commands
    if any(t.kind in (_UNKNOWN, lx.ALL) for t in tokens) and any(
        c.name == "add_item" and order.find(c.args["item_id"]) for c in commands
    ):
        return "readd"  # "one less cheeseburger", "둘 다 라지로": not one more of what is there
    heard = {t.value[0] for t in tokens if t.kind == lx.ITEM}
    if heard - {c.args.get("item_id") for c in commands}:
        return "unplaced_item"  # an item was named and nothing was done with it
    if any(t.kind == lx.PART for t in tokens):
        names = {c.name for c in commands}
        if {"remove_item", "add_item"} <= names:
            return "part_swap"  # "one of the two ... into ...": the parser swaps them all
        if any(c.name == "add_item" and order.find(c.args["item_id"]) for c in commands):
            return "part_add"  # "one of the two coffees iced" is not two more coffees
    trial = order.model_copy(deep=True)
    for result in execute_all(trial, menu, parsed.as_calls(), parsed.lang):
        if result.reason == "option_not_available" and _some_option_fits(result.args, menu):
            return "misread_option"  # an option the item has beside one it has not: a word misread
        if not result.ok and result.command == "remove_item" and (result.args.get("options") or {}):
            return "misread_option"  # "雪碧不要大杯了，中杯就行": not a removal of a regular one
    return None


_UNKNOWN = "unknown"  # what the scanner matched to nothing


def _contrast(tokens: list[Token], kind: str) -> bool:
    """"X not Y" with X and Y of `kind`: "sprites not colas", "a regular coke, not a large one"
    (X anywhere before "not"; only a number or a filler between "not" and Y)."""
    for i, t in enumerate(tokens):
        j = not_before(tokens, i) if t.kind == kind else None
        if j is not None and any(u.kind == kind for u in tokens[:j]):
            return True
    return False


def _some_option_fits(args: dict, menu: Menu) -> bool:
    item_id = args.get("item_id")
    if not isinstance(item_id, str) or not menu.has(item_id):
        return False
    return any(key in menu.item(item_id).options for key in (args.get("options") or {}))
