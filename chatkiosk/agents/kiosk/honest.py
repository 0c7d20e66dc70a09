"""Honest kiosk answers on the LLM path: what the customer reads is what really happened.

The kiosk's reply to an LLM turn is written here, never taken from the model's text about the
order: the net change of the order over the turn (read before and after), the refusals of the
commands that ran, and the next step for the order's state, all through the same reply module
the rule parser uses. The model's own words pass only when no command ran and they claim no
change, total or payment (a question about the menu, a greeting) and are no broken command (JSON,
talk of tools); a model that says "Added …" without running a command gets an answer that says
the order did not change.
"""

from __future__ import annotations

import re
from typing import Any

from chatkiosk.agents.hooks import TurnHooks, turn_state
from chatkiosk.agents.tools import ToolContext

from ._scan import detect_lang
from .examples import load_examples, nearest, reading_note, turn_line
from .hint import Hints
from .reading import Reader
from .commands import Change, CommandResult, diff_lines, josa, refusal_message
from .menu import Menu
from .order import Order
from .reply import compose_reply, next_step

_UNCHANGED = {
    "ko": "주문은 바뀌지 않았어요.",
    "en": "Your order has not changed.",
    "zh": "您的订单没有变化。",
}
_CONFIRM = {
    "ko": "결제하시려면 화면에서 확인을 눌러 주세요.",
    "en": "Please confirm the payment on the screen.",
    "zh": "请在屏幕上确认付款。",
}

# Words that report an order change, a total or a payment, in the three languages.
_CLAIMS = re.compile(
    r"\b(?:added|adding|add(?:ed)? to|removed|taken off|took off|changed|updated|replaced|swapped|switched|"
    r"cancell?ed|paid|placed|your (?:order|total|cart)|the total|total (?:is|of|comes)|in your (?:order|cart))\b"
    r"|담았|담아 ?드렸|추가했|추가해 ?드렸|추가되었|추가됐|넣었|넣어 ?드렸|뺐|빼 ?드렸|빼드렸|제거했|제거되었|삭제했|"
    r"바꿨|바꿔 ?드렸|변경했|변경되었|변경됐|취소했|취소되었|취소됐|결제(?:가|를)? ?(?:완료|했|되었)|"
    r"주문(?:이|을)? ?(?:완료|접수)|합계|총액|총 ?금액|주문 ?내역"
    r"|已经?(?:加|添加|加入|放入|去掉|删除|移除|改|换|更改|取消|付款|支付|下单)|加好了|给您加|为您加|一共|总共|合计|总计|您的订单",
    re.I,
)
# A model's text that is a broken command, not words for the customer: braces, code fences,
# the command format's keys ("You can use tools ... { "tool": ... }").
_COMMAND_DEBRIS = re.compile(r'[{}]|```|"(?:tool|arguments)"|\btool(?:s)?\b', re.I)
_AMOUNT = re.compile(r"₩\s?([\d,]+)|([\d,]{3,})\s?(?:원|韩元|won\b|krw\b)", re.I)


def claims_change(text: str, menu: Menu) -> bool:
    """True when `text` reports an order change, a total or a payment (menu prices are fine)."""
    if _CLAIMS.search(text):
        return True
    prices = {item.price for item in menu.items}
    for m in _AMOUNT.finditer(text):
        digits = (m.group(1) or m.group(2) or "").replace(",", "")
        if digits.isdigit() and int(digits) not in prices:
            return True
    return False


def order_note(order: Order, menu: Menu) -> str:
    """The current order for the model (ids as the tools take them), compact."""
    if not order.lines:
        return f"[Current order: empty. State: {order.state.value}.]"
    lines = []
    for line in order.lines:
        shown = {k: v for k, v in line.options.items() if v != menu.options[k].default}
        opts = " " + ",".join(f"{k}={v}" for k, v in shown.items()) if shown else ""
        lines.append(f"{line.quantity} {line.item_id}{opts}")
    total = order.total(menu)
    return f"[Current order: {'; '.join(lines)}. Total {total} KRW. State: {order.state.value}.]"


def _net_results(before: Order, after: Order) -> list[CommandResult]:
    """The turn's net change as results the reply module words: swaps of options as changes."""
    changes = diff_lines(before, after)
    removed = [c for c in changes if c.kind == "removed"]
    added = [c for c in changes if c.kind == "added"]
    changed_items = {c.item_id for c in removed} & {c.item_id for c in added}
    results: list[CommandResult] = []
    gone = [c for c in removed if c.item_id not in changed_items]
    if gone:
        results.append(CommandResult("remove_item", True, changes=gone))
    for item_id in changed_items:  # the same item, other options: "changed to …"
        both: list[Change] = [c for c in changes if c.item_id == item_id]
        results.append(CommandResult("set_item_option", True, changes=both))
    new = [c for c in added if c.item_id not in changed_items]
    if new:
        results.append(CommandResult("add_item", True, changes=new))
    return results


def honest_reply(
    before: Order, after: Order, records: list[Any], model_text: str, menu: Menu, lang: str
) -> str:
    """The answer to an LLM turn from its tool calls and the order before and after it."""
    results: list[CommandResult] = []
    ran = cancelled = False
    for record in records:
        body = record.result if isinstance(record.result, dict) else {}
        if record.status == "confirmation_required":
            results.append(CommandResult("pay", False, message=_CONFIRM.get(lang, _CONFIRM["en"])))
        elif record.status == "ok" and body.get("ok"):
            ran = True
            cancelled = cancelled or record.name == "cancel_order"
            if record.name in ("set_dine_option", "cancel_order", "show_order"):
                args = record.arguments if isinstance(record.arguments, dict) else {}
                results.append(CommandResult(record.name, True, args=args))
        else:  # refused by the order, or arguments the tool could not take
            message = body.get("message") or refusal_message("unknown_command", {}, menu, lang)
            results.append(CommandResult(record.name, False, message=message))
    if not cancelled:
        results = _net_results(before, after) + results
    if ran or results:
        return compose_reply(results, after, menu, lang)
    text = model_text.strip()
    if text and not claims_change(text, menu) and not _COMMAND_DEBRIS.search(text):
        return text  # the model's own words: not about the order
    if text:
        return josa(f"{_UNCHANGED.get(lang, _UNCHANGED['en'])} {next_step(after, menu, lang)}")
    return next_step(after, menu, lang)


def turn_language(ctx: ToolContext) -> str | None:
    """The customer's language of the LLM turn in progress (None outside one)."""
    before = turn_state(ctx)
    return before.get("lang") if isinstance(before, dict) else None


class KioskTurnHooks(TurnHooks):
    """The kiosk's part in an LLM turn: the order, the words it recognised and the nearest worked
    examples as a note; the honest answer at the end."""

    writes_answer = True
    note_tokens = 420

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.hints = Hints(menu)
        self.reader = Reader(menu, self.hints.lexicon)
        self.examples = load_examples(menu, self.hints)

    async def before(self, ctx: ToolContext, text: str) -> dict[str, Any]:
        """The order at the start of the turn, the customer's language, what the lexicon heard."""
        order, lang = await ctx.deps.kiosk.current(ctx.conversation_id, ctx.user_id)
        lang = detect_lang(text, lang)  # the utterance's script, else the conversation's
        heard = self.hints.read(text)
        return {"order": order, "lang": lang if lang in ("ko", "en", "zh") else "en", "text": text,
                "heard": heard, "reading": self.reader.read(text, heard, order)}

    def note(self, ctx: ToolContext, before: dict[str, Any]) -> str:
        """For the model only: the request with its order, words and reading; without a reading,
        the nearest worked examples before it."""
        heard, reading = before["heard"], before["reading"]
        if reading:  # the request is the message itself: only what the kiosk adds to it
            return " ".join(filter(None, [order_note(before["order"], self.menu), heard.note(), reading_note(reading)]))
        now = turn_line(before["text"], order_note(before["order"], self.menu), heard)
        shown = [f"{turn_line(e.say, order_note(e.order, self.menu), e.heard)} {e.answer}"
                 for e in nearest(self.examples, heard, before["lang"])]
        return "Answer like these examples:\n" + "\n".join(shown) + f"\nNow:\n{now}"

    async def compose(self, ctx: ToolContext, before: dict[str, Any], model_text: str, result: Any) -> str:
        """The honest answer: from the order after the turn and the calls that ran."""
        after, _lang = await ctx.deps.kiosk.current(ctx.conversation_id, ctx.user_id)
        return honest_reply(before["order"], after, list(result.tool_calls), model_text, self.menu, before["lang"])
