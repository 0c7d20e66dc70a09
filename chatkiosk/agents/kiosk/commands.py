"""The nine kiosk commands: the only way to change an order.

The LLM (as tools), the rule-based parser and the touch API all call `execute`. Each command
has a pydantic model for its arguments (`COMMANDS[name].args`, whose JSON schema is the tool
schema). A command that does not fit the state or the menu is refused with a reason code and
a message in the customer's language, and the order is left exactly as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .menu import Menu
from .order import Dine, Order, OrderState, PaymentMethod, Refusal

Outcome = Literal["place_order"]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddItem(_Args):
    item_id: str = Field(description="Menu item id, e.g. bulgogi_burger")
    quantity: int = Field(1, ge=1)
    options: dict[str, str] = Field(default_factory=dict, description="e.g. {\"size\": \"large\", \"ice\": \"none\"}")


class RemoveItem(_Args):
    item_id: str
    quantity: int | None = Field(None, ge=1, description="How many to remove; all of them when omitted")
    options: dict[str, str] | None = Field(None, description="Only lines with these options")


class SetQuantity(_Args):
    item_id: str
    quantity: int = Field(ge=0, description="The new quantity; 0 removes the line")
    options: dict[str, str] | None = Field(None, description="Which line, when the item is in several")


class SetItemOption(_Args):
    item_id: str
    options: dict[str, str] = Field(min_length=1, description="The options to set, e.g. {\"size\": \"large\"}")
    quantity: int | None = Field(None, ge=1, description="Change only this many of them (splits the line)")
    match: dict[str, str] | None = Field(None, description="Only lines that have these options now")


class SetDineOption(_Args):
    dine: Dine


class NoArgs(_Args):
    pass


class Pay(_Args):
    method: PaymentMethod


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Order, Menu, Any], None]


def _pay(order: Order, menu: Menu, a: Pay) -> None:
    order.pay(a.method)


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in [
        Command("add_item", "Add an item (with quantity and options) to the order.", AddItem,
                lambda o, m, a: o.add(m, a.item_id, a.quantity, a.options)),
        Command("remove_item", "Remove an item from the order; all of it unless a quantity is given.", RemoveItem,
                lambda o, m, a: o.remove(m, a.item_id, a.quantity, a.options)),
        Command("set_quantity", "Set how many of an item are in the order.", SetQuantity,
                lambda o, m, a: o.set_quantity(m, a.item_id, a.quantity, a.options)),
        Command("set_item_option", "Change options (size, ice, temperature) of an item in the order.", SetItemOption,
                lambda o, m, a: o.set_options(m, a.item_id, a.options, a.quantity, a.match)),
        Command("set_dine_option", "Record whether the customer eats here (dine_in) or takes out (takeout).",
                SetDineOption, lambda o, m, a: o.set_dine(a.dine)),
        Command("show_order", "Show the current order and total.", NoArgs, lambda o, m, a: None),
        Command("checkout", "The customer has finished choosing; go on to the dine choice and payment.", NoArgs,
                lambda o, m, a: o.checkout()),
        Command("pay", "Pay by card, cash or mobile; this places the order.", Pay, _pay),
        Command("cancel_order", "Cancel the whole order and start over.", NoArgs, lambda o, m, a: o.cancel()),
    ]
}


@dataclass(frozen=True)
class Change:
    """One line's quantity went up (`added`) or down (`removed`)."""

    kind: Literal["added", "removed"]
    item_id: str
    quantity: int
    options: dict[str, str]


@dataclass
class CommandResult:
    """What one command did: `ok`, or `reason` + `message` (in the customer's language) when refused."""

    command: str
    ok: bool
    args: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    message: str | None = None
    changes: list[Change] = field(default_factory=list)
    state_before: OrderState | None = None
    state_after: OrderState | None = None
    outcome: Outcome | None = None


def execute(order: Order, menu: Menu, name: str, args: dict[str, Any] | None = None, lang: str = "en") -> CommandResult:
    """Run one command on `order` (changed in place only when the command succeeds)."""
    command = COMMANDS.get(name)
    if command is None:
        return _refused(name, {}, order, Refusal("unknown_command", command=name), menu, lang)
    try:
        parsed = command.args.model_validate(args or {})
    except ValidationError as e:
        detail = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'args'}: {err['msg']}" for err in e.errors())
        return _refused(name, dict(args or {}), order, Refusal("invalid_args", detail=detail), menu, lang)
    work = order.model_copy(deep=True)
    try:
        command.run(work, menu, parsed)
    except Refusal as refusal:
        return _refused(name, parsed.model_dump(exclude_none=True), order, refusal, menu, lang)
    before = order.model_copy(deep=True)
    for attr in Order.model_fields:
        setattr(order, attr, getattr(work, attr))
    return CommandResult(
        command=name,
        ok=True,
        args=parsed.model_dump(exclude_none=True),
        changes=diff_lines(before, order),
        state_before=before.state,
        state_after=order.state,
        outcome="place_order" if name == "pay" else None,
    )


def execute_all(order: Order, menu: Menu, commands: list[tuple[str, dict]], lang: str = "en") -> list[CommandResult]:
    """Run commands in turn; a refused one changes nothing and the rest still run."""
    return [execute(order, menu, name, args, lang) for name, args in commands]


def diff_lines(before: Order, after: Order) -> list[Change]:
    """Quantity changes per line between two versions of an order."""

    def counts(order: Order) -> dict[tuple, int]:
        out: dict[tuple, int] = {}
        for line in order.lines:
            key = (line.item_id, tuple(sorted(line.options.items())))
            out[key] = out.get(key, 0) + line.quantity
        return out

    old, new = counts(before), counts(after)
    changes = []
    for key in list(old) + [k for k in new if k not in old]:
        delta = new.get(key, 0) - old.get(key, 0)
        if delta:
            kind = "added" if delta > 0 else "removed"
            changes.append(Change(kind, key[0], abs(delta), dict(key[1])))
    return changes


def _refused(name: str, args: dict, order: Order, refusal: Refusal, menu: Menu, lang: str) -> CommandResult:
    return CommandResult(
        command=name,
        ok=False,
        args=args,
        reason=refusal.code,
        message=refusal_message(refusal.code, refusal.params, menu, lang),
        state_before=order.state,
        state_after=order.state,
    )


_REFUSALS: dict[str, dict[str, str]] = {
    "unknown_item": {
        "ko": "죄송해요, 메뉴에 없는 상품이에요.",
        "en": "Sorry, that is not on our menu.",
        "zh": "抱歉，菜单上没有这个。",
    },
    "option_not_available": {
        "ko": "{item}은(는) {option}을(를) 고를 수 없어요.",
        "en": "{item} has no {option} choice.",
        "zh": "{item}不能选择{option}。",
    },
    "invalid_option_value": {
        "ko": "{item}의 {option}은(는) {choices} 중에서 골라 주세요.",
        "en": "For {item}, please choose {option}: {choices}.",
        "zh": "{item}的{option}请从{choices}中选择。",
    },
    "not_in_order": {
        "ko": "주문에 {item}이(가) 없어요.",
        "en": "There is no {item} in your order.",
        "zh": "您的订单里没有{item}。",
    },
    "not_enough_in_order": {
        "ko": "주문에 {item}은(는) {quantity}개뿐이에요.",
        "en": "Your order has only {quantity} {item}.",
        "zh": "您的订单里只有{quantity}份{item}。",
    },
    "ambiguous_line": {
        "ko": "{item}이(가) 여러 종류 있어요. 어떤 것인지 옵션을 말씀해 주세요.",
        "en": "You have more than one kind of {item}; which one do you mean?",
        "zh": "您点了不止一种{item}，请问是哪一种？",
    },
    "quantity_too_large": {
        "ko": "한 상품은 최대 {max}개까지 주문할 수 있어요.",
        "en": "You can order at most {max} of one item.",
        "zh": "每种商品最多可点{max}份。",
    },
    "order_placed": {
        "ko": "이미 결제가 끝난 주문이에요. 새로 주문하시려면 메뉴를 말씀해 주세요.",
        "en": "This order is already paid. Tell me an item to start a new order.",
        "zh": "这笔订单已经付款了。要重新点餐，请告诉我要什么。",
    },
    "empty_order": {
        "ko": "아직 주문하신 게 없어요. 무엇을 드릴까요?",
        "en": "Your order is empty. What would you like?",
        "zh": "您还没有点餐。请问要点什么？",
    },
    "dine_required": {
        "ko": "먼저 매장에서 드실지 포장하실지 알려 주세요.",
        "en": "First, is that for here or to go?",
        "zh": "请先告诉我是堂食还是打包。",
    },
    "checkout_first": {
        "ko": "주문을 마치신 다음에 결제할 수 있어요. 더 필요하신 건 없으세요?",
        "en": "Please finish your order before paying. Anything else?",
        "zh": "请先确认点餐再付款。还需要别的吗？",
    },
    "invalid_args": {
        "ko": "요청을 이해하지 못했어요. ({detail})",
        "en": "I could not understand that request. ({detail})",
        "zh": "无法理解这个请求。（{detail}）",
    },
    "unknown_command": {
        "ko": "할 수 없는 요청이에요.",
        "en": "That is not something I can do.",
        "zh": "无法执行这个请求。",
    },
}


def refusal_message(code: str, params: dict, menu: Menu, lang: str) -> str:
    """The customer-facing reason for a refusal, in `lang` (ko/en/zh; English otherwise)."""
    texts = _REFUSALS.get(code, _REFUSALS["unknown_command"])
    text = texts.get(lang) or texts["en"]
    values = {k: str(v) for k, v in params.items()}
    item_id = params.get("item")
    if isinstance(item_id, str) and menu.has(item_id):
        values["item"] = menu.name(item_id, lang)
    option = params.get("option")
    if isinstance(option, str) and option in menu.options:
        values["option"] = menu.options[option].names.get(lang)
        sep = ", " if lang == "en" else "/"
        values["choices"] = sep.join(v.names.get(lang) for v in menu.options[option].values)
    try:
        return josa(text.format(**values))
    except KeyError:
        return text


_JOSA = re.compile(r"(\S)(은\(는\)|이\(가\)|을\(를\)|\(으\)로)")


def josa(text: str) -> str:
    """Pick Korean particles by the word before them: "치즈버거은(는)" → "치즈버거는", "콜라(으)로" → "콜라로"."""

    def pick(m: re.Match) -> str:
        ch, marker = m.group(1), m.group(2)
        if not ("가" <= ch <= "힣"):
            return m.group(0)
        final = (ord(ch) - 0xAC00) % 28  # 0: no final consonant, 8: ㄹ
        if marker == "(으)로":
            return ch + ("로" if final in (0, 8) else "으로")
        with_final, without = {"은(는)": ("은", "는"), "이(가)": ("이", "가"), "을(를)": ("을", "를")}[marker]
        return ch + (with_final if final else without)

    return _JOSA.sub(pick, text)
