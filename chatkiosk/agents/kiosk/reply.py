"""The kiosk's answer, written from what the commands did and the order that resulted.

No LLM: what changed, any refusal reasons, the total, and what comes next for the order's
state, in the customer's language (ko/en/zh; English for anything else).
"""

from __future__ import annotations

from .commands import Change, CommandResult, josa
from .menu import Menu
from .order import Order, OrderState

_TEXT: dict[str, dict[str, str]] = {
    "added": {"ko": "{items} 담았어요.", "en": "Added {items}.", "zh": "已加入{items}。"},
    "removed": {"ko": "{items} 뺐어요.", "en": "Removed {items}.", "zh": "已去掉{items}。"},
    "changed": {"ko": "{items}(으)로 바꿨어요.", "en": "Changed to {items}.", "zh": "已改为{items}。"},
    "dine_in": {"ko": "매장에서 드시는 걸로 할게요.", "en": "For here.", "zh": "好的，堂食。"},
    "takeout": {"ko": "포장으로 할게요.", "en": "To go.", "zh": "好的，打包。"},
    "cancelled": {"ko": "주문을 취소했어요.", "en": "Your order is cancelled.", "zh": "订单已取消。"},
    "empty": {"ko": "주문하신 게 아직 없어요.", "en": "Your order is empty.", "zh": "您还没有点餐。"},
    "summary": {"ko": "주문 내역: {items}.", "en": "Your order: {items}.", "zh": "您的订单：{items}。"},
    "greet": {"ko": "무엇을 드릴까요?", "en": "What would you like?", "zh": "请问要点什么？"},
    "order": {
        "ko": "합계 {total}이에요. 더 필요하신 게 있으세요? 다 고르셨으면 '계산할게요'라고 말씀해 주세요.",
        "en": "Your total is {total}. Anything else? Say \"that's all\" when you're ready.",
        "zh": "一共{total}。还需要别的吗？点好了请说“就这些”。",
    },
    "option": {
        "ko": "합계 {total}이에요. 매장에서 드시나요, 포장하시나요?",
        "en": "Your total is {total}. For here or to go?",
        "zh": "一共{total}。堂食还是打包？",
    },
    "pay": {
        "ko": "{dine} 합계 {total}입니다. 카드, 현금, 모바일 결제 중 어떻게 결제하시겠어요?",
        "en": "{dine} Your total is {total}. Will you pay by card, cash or mobile?",
        "zh": "{dine}一共{total}。请问刷卡、现金还是手机支付？",
    },
    "done": {
        "ko": "{method} 결제가 완료되었어요.{number} 감사합니다!",
        "en": "Paid by {method}.{number} Thank you!",
        "zh": "已用{method}付款。{number}谢谢！",
    },
    "number": {"ko": " 주문번호는 {n}번이에요.", "en": " Your order number is {n}.", "zh": "您的取餐号是{n}。"},
    "dine_label_dine_in": {"ko": "매장 식사,", "en": "For here.", "zh": "堂食，"},
    "dine_label_takeout": {"ko": "포장,", "en": "To go.", "zh": "打包，"},
    "card": {"ko": "카드", "en": "card", "zh": "银行卡"},
    "cash": {"ko": "현금", "en": "cash", "zh": "现金"},
    "mobile": {"ko": "모바일", "en": "mobile", "zh": "手机"},
}


def _t(key: str, lang: str, **values: object) -> str:
    texts = _TEXT[key]
    return (texts.get(lang) or texts["en"]).format(**values)


def money(amount: int, lang: str) -> str:
    """An amount in won, written the way the customer reads it."""
    if lang == "ko":
        return f"{amount:,}원"
    if lang == "zh":
        return f"{amount:,}韩元"
    return f"₩{amount:,}"


def describe(menu: Menu, item_id: str, quantity: int, options: dict[str, str], lang: str) -> str:
    """"콜라(라지) 2개", "2 × Cola (Coke) (large)", "2份可乐(大杯)": options shown only when not the default."""
    name = menu.name(item_id, lang)
    shown = [menu.option_label(k, v, lang) for k, v in options.items() if v != menu.options[k].default]
    if lang == "ko":
        return f"{name}{'(' + ', '.join(shown) + ')' if shown else ''} {quantity}개"
    if lang == "zh":
        return f"{quantity}份{name}{'(' + '，'.join(shown) + ')' if shown else ''}"
    return f"{quantity} × {name}{' (' + ', '.join(shown) + ')' if shown else ''}"


def _join(parts: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(parts)


def _changes(menu: Menu, changes: list[Change], kind: str, lang: str) -> str:
    return _join([describe(menu, c.item_id, c.quantity, c.options, lang) for c in changes if c.kind == kind], lang)


def _one(result: CommandResult, order: Order, menu: Menu, lang: str) -> str | None:
    if not result.ok:
        return result.message
    name = result.command
    if name == "add_item" and result.changes:
        return _t("added", lang, items=_changes(menu, result.changes, "added", lang))
    if name == "remove_item" and result.changes:
        return _t("removed", lang, items=_changes(menu, result.changes, "removed", lang))
    if name in ("set_quantity", "set_item_option") and result.changes:
        added = [c for c in result.changes if c.kind == "added"]
        if not added:
            return _t("removed", lang, items=_changes(menu, result.changes, "removed", lang))
        lines = [line for line in order.lines if any(line.item_id == c.item_id and line.options == c.options for c in added)]
        return _t("changed", lang, items=_join([describe(menu, l.item_id, l.quantity, l.options, lang) for l in lines], lang))
    if name == "set_dine_option":
        return _t(result.args["dine"], lang)
    if name == "cancel_order":
        return _t("cancelled", lang)
    if name == "show_order":
        if not order.lines:
            return _t("empty", lang)
        return _t("summary", lang, items=_join([describe(menu, l.item_id, l.quantity, l.options, lang) for l in order.lines], lang))
    return None


def next_step(order: Order, menu: Menu, lang: str, *, dine_said: bool = False) -> str:
    """What the customer should do now, with the total (`dine_said`: this turn already named the dine choice)."""
    total = money(order.total(menu), lang)
    state = order.state
    if state is OrderState.GREET:
        return _t("greet", lang)
    if state is OrderState.ORDER:
        return _t("order", lang, total=total)
    if state is OrderState.OPTION:
        return _t("option", lang, total=total)
    if state is OrderState.PAY:
        dine = _t(f"dine_label_{order.dine}", lang) if order.dine and not dine_said else ""
        return _t("pay", lang, total=total, dine=dine).strip()
    number = _t("number", lang, n=order.order_number) if order.order_number is not None else ""
    return _t("done", lang, method=_t(order.payment or "card", lang), number=number)


def compose_reply(results: list[CommandResult], order: Order, menu: Menu, lang: str) -> str:
    """The kiosk's answer to one turn: each command's effect or refusal, then the next step."""
    parts: list[str] = []
    added: list[Change] = []  # consecutive additions are said in one sentence
    for r in results:
        if r.ok and r.command == "add_item":
            added.extend(c for c in r.changes if c.kind == "added")
            continue
        if added:
            parts.append(_t("added", lang, items=_changes(menu, added, "added", lang)))
            added = []
        if text := _one(r, order, menu, lang):
            parts.append(text)
    if added:
        parts.append(_t("added", lang, items=_changes(menu, added, "added", lang)))
    dine_said = any(r.ok and r.command == "set_dine_option" for r in results)
    parts.append(next_step(order, menu, lang, dine_said=dine_said))
    return josa(" ".join(parts))
