"""The rule-based parser: plain orders and order changes understood with no LLM call.

`Parser(menu).parse(text, order)` turns one customer utterance into kiosk commands. It reads
items by name, alias and near-miss spelling, quantities as digits and words, options, several
items per sentence, "one more", changes ("make that three", "3개로 바꿔", "可乐换成雪碧"),
removals, the dine choice, checkout and payment, in Korean, English and Chinese.

It never guesses: a question, words it does not know, or a number or option it cannot place
make the result `understood=False` with no commands, and the caller hands the turn to the LLM
(which has the same commands as tools). The current order is context only ("one more" means
the last line); the parser never changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import _lexicon as lx
from ._scan import Lexicon, Token, detect_lang, normalise
from .menu import Menu
from .order import Order

_MAX_UNKNOWN = 1


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: dict = field(default_factory=dict)


@dataclass
class ParseResult:
    """The commands for one utterance; `understood` is False when the LLM must take the turn."""

    commands: list[ParsedCommand]
    understood: bool
    confidence: float
    lang: str
    reason: str | None = None
    unknown: list[str] = field(default_factory=list)

    def as_calls(self) -> list[tuple[str, dict]]:
        """The commands as (name, args) pairs, the shape `commands.execute_all` takes."""
        return [(c.name, c.args) for c in self.commands]


@dataclass
class _Group:
    """One item mentioned in the utterance, with what was said about it."""

    item: str
    alias_opts: dict
    qty: int | None = None
    qty_weak: bool = False
    opts: list[tuple] = field(default_factory=list)  # candidate lists, in order said
    remove: bool = False
    more: bool = False
    to: str | None = None  # "qty" / "opt": a 로/으로 right after a quantity or option
    ref: bool = False  # only names the item another one replaces
    replaces: _Group | None = None
    splits: list[tuple[int, list]] = field(default_factory=list)
    line_options: dict | None = None  # for a ref taken from the order: the exact line it names


@dataclass
class _Pending:
    qty: int | None = None
    qty_weak: bool = False
    opts: list[tuple] = field(default_factory=list)
    remove: bool = False
    remove_weak: bool = False
    more: bool = False
    ref_next: bool = False
    splits: list[tuple[int, list]] = field(default_factory=list)  # "one hot, one iced"

    def empty(self) -> bool:
        return self.qty is None and not self.opts and not self.remove and not self.more and not self.splits


class _Unresolved(Exception):
    pass


# Words that make a mention of the order a request rather than a question about it.
_ORDER_WORDS = {lx.ITEM, lx.GENERIC, lx.QTY, lx.OPT, lx.REMOVE, lx.CANCEL, lx.CHANGE, lx.MORE, lx.CHECKOUT, lx.PAY, lx.DINE}


class Parser:
    """Parses utterances against one menu; build it once and reuse it."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.lexicon = Lexicon(menu)

    def parse(self, text: str, order: Order | None = None, lang_hint: str | None = None) -> ParseResult:
        """Commands for `text` given the current `order` (context only; it is not changed)."""
        norm = normalise(text)
        lang = detect_lang(norm, lang_hint)
        order = order or Order()
        tokens = self.lexicon.scan(norm)
        unknown = [t.text for t in tokens if t.kind == "unknown" and t.text not in lx.LATIN_STOP]
        # A 로/으로 right after an unknown word is part of it ("제로콜라" is not 콜라).
        unknown += [t.text for prev, t in zip(tokens, tokens[1:]) if t.kind == lx.TO and prev.kind == "unknown"]
        kinds = {t.kind for t in tokens}
        if lx.SHOW in kinds and not kinds & _ORDER_WORDS:
            # "what's in my order?", "내 주문 뭐예요?", "我点了什么？": the order itself, never the model's guess
            return ParseResult([ParsedCommand("show_order")], True, 1.0, lang, None, unknown)
        if lx.QUESTION in kinds:
            return ParseResult([], False, 0.0, lang, "question", unknown)
        if lx.GENERIC in kinds:  # "a burger", "饮料": which one is for the LLM to ask
            return ParseResult([], False, 0.0, lang, "ambiguous_item", unknown)
        if unknown and lx.MAYBE_QUESTION in kinds:  # "Is it spicy?": a question about something unknown
            return ParseResult([], False, 0.0, lang, "question", unknown)
        if len(unknown) > _MAX_UNKNOWN:
            return ParseResult([], False, 0.0, lang, "unknown_words", unknown)
        try:
            commands = _Assembler(self.menu, order, lang, tokens).commands()
        except _Unresolved as e:
            return ParseResult([], False, 0.0, lang, str(e) or "unresolved", unknown)
        if not commands:
            reason = "question" if lx.MAYBE_QUESTION in kinds else "no_command"
            return ParseResult([], False, 0.0, lang, reason, unknown)
        return ParseResult(commands, True, round(1.0 - 0.2 * len(unknown), 2), lang, None, unknown)


class _Assembler:
    """Groups tokens around the items they describe, then writes commands."""

    def __init__(self, menu: Menu, order: Order, lang: str, tokens: list[Token]) -> None:
        self.menu, self.order, self.lang = menu, order, lang
        self.tokens = [t for t in tokens if t.kind not in (lx.FILLER, "unknown", lx.MAYBE_QUESTION)]
        self.groups: list[_Group] = []
        self.flags: dict[str, object] = {}
        self._rev_target: _Group | None = None  # the item said before "instead of"

    # --- grouping ----------------------------------------------------------------------

    def _next_item(self, i: int, skip: tuple[str, ...]) -> _Group | None:
        """The item that follows token i within the clause, skipping only kinds in `skip`."""
        for t in self.tokens[i + 1 :]:
            if t.kind == lx.ITEM:
                return _Group(t.value[0], dict(t.value[1]))
            if t.kind not in skip:
                return None
        return None

    def _rank(self, item: str, candidates: tuple) -> int:
        keys = self.menu.item(item).options
        return next((r for r, (k, _) in enumerate(candidates) if k in keys), 99)

    def _group(self) -> None:
        current: _Group | None = None
        pending = _Pending()
        subst_from: _Group | None = None
        last_kind = None
        for i, t in enumerate(self.tokens):
            k = t.kind
            if k == lx.ITEM:
                g = _Group(t.value[0], dict(t.value[1]))
                if pending.qty is not None:
                    g.qty, g.qty_weak = pending.qty, pending.qty_weak
                g.opts.extend(pending.opts)
                g.remove, g.more = pending.remove, pending.more
                if pending.splits:
                    g.splits.extend(pending.splits)
                if pending.ref_next:
                    g.ref = True
                    subst_from = g
                elif subst_from is not None:
                    g.replaces, subst_from = subst_from, None
                pending = _Pending()
                self.groups.append(g)
                current = g
            elif k == lx.QTY:
                follows = self._next_item(i, (lx.OPT, lx.QTY))
                own = current is not None and (current.qty is None or (current.qty_weak and not t.weak))
                if own and (self.lang == "ko" or follows is None):
                    current.qty, current.qty_weak = t.value, t.weak
                elif pending.qty is None or pending.qty_weak:
                    pending.qty, pending.qty_weak = t.value, t.weak
                elif pending.opts:
                    pending.splits.append((pending.qty, pending.opts))
                    pending.qty, pending.qty_weak, pending.opts = t.value, t.weak, []
                else:
                    raise _Unresolved("quantity")
            elif k == lx.OPT:
                follows = self._next_item(i, (lx.OPT, lx.QTY))
                keys_now = {c[0][0] for c in current.opts} if current else set()
                rc = self._rank(current.item, t.value) if current else 99
                if rc < 99 and t.value[rc][0] in keys_now:
                    rc = 99
                rn = self._rank(follows.item, t.value) if follows else 99
                waiting = pending.qty is not None and not pending.qty_weak
                if rc < 99 and not waiting and (rc < rn or (rc == rn and self.lang == "ko")):
                    current.opts.append(t.value)
                else:
                    pending.opts.append(t.value)
            elif k == lx.REMOVE:
                follows = self._next_item(i, (lx.OPT, lx.QTY, lx.DEMO))
                if t.weak and (i + 1 >= len(self.tokens) or self.tokens[i + 1].kind != lx.ITEM):
                    continue  # "no" is a removal only right before an item ("no cola")
                if current is not None and not current.remove and (self.lang == "ko" or follows is None):
                    current.remove = True
                else:
                    pending.remove, pending.remove_weak = True, t.weak
            elif k == lx.MORE:
                if current is not None and self.lang == "ko":
                    current.more = True
                else:
                    pending.more = True
            elif k == lx.TO:
                if current is not None and last_kind in (lx.QTY, lx.OPT):
                    current.to = "qty" if last_kind == lx.QTY else "opt"
                else:
                    self.flags["to"] = True
            elif k == lx.SUBST:
                if current is not None:
                    current.ref = True
                    subst_from = current
            elif k == lx.SUBST_REV:
                if current is not None:
                    self._rev_target = current
                pending.ref_next = True
            elif k == lx.SEP:
                current = None
            else:
                self.flags[k] = t.value if t.value is not None else True
            last_kind = k
        # "a sprite instead of the coke": the coke (ref) is replaced by the sprite said first.
        rev = self._rev_target
        if rev is not None and subst_from is not None and subst_from is not rev:
            rev.replaces = subst_from
        self.pending = pending

    # --- commands ----------------------------------------------------------------------

    def _options(self, item: str, cand_lists: list[tuple], base: dict | None = None) -> dict:
        opts = dict(base or {})
        for candidates in cand_lists:
            r = self._rank(item, candidates)
            key, value = candidates[r if r < 99 else 0]
            opts[key] = value
        return opts

    def _in_order(self, item: str) -> bool:
        return bool(self.order.find(item))

    def commands(self) -> list[ParsedCommand]:
        self._group()
        out: list[ParsedCommand] = []
        change = lx.CHANGE in self.flags
        groups = self.groups
        live = [g for g in groups if not g.ref]

        if change and len(live) == 2 and not any(g.remove or g.replaces for g in live):
            a, b = live
            if self._in_order(a.item) and not self._in_order(b.item):
                a.ref, b.replaces = True, a  # "콜라를 사이다로 바꿔", "change the coke to a sprite"
        if change and len(live) == 1 and not any(g.remove for g in groups) and live[0].replaces is None:
            g = live[0]
            last = self.order.last_line()
            if (not self._in_order(g.item) and last is not None and (g.qty is None or g.qty_weak)
                    and self.menu.item(last.item_id).category == self.menu.item(g.item).category):
                # "사이다로 바꿔 주세요", "make it a sprite": the last line is replaced
                g.replaces = _Group(last.item_id, {}, ref=True, line_options=dict(last.options))

        context = self._leftover(change)
        for g in groups:
            if g.ref:
                continue
            opts = self._options(g.item, g.opts, g.alias_opts)
            explicit = self._options(g.item, g.opts)
            if g.remove:
                args = {"item_id": g.item}
                if g.qty is not None:
                    args["quantity"] = g.qty
                if explicit:
                    args["options"] = explicit
                out.append(ParsedCommand("remove_item", args))
            elif g.replaces is not None:
                out.extend(self._replace(g, opts))
            elif not g.more and self._in_order(g.item) and self._is_change(g, explicit, change):
                out.extend(self._change(g, explicit))
            else:
                if g.more and not explicit and self._in_order(g.item):
                    opts = dict(self.order.find(g.item)[0].options)  # "아메리카노 하나 더": another of the same
                out.append(ParsedCommand("add_item", {"item_id": g.item, "quantity": g.qty or 1, "options": opts}))
            for qty, cands in g.splits:
                split = self._options(g.item, cands)
                if any(k in explicit for k in split):  # "따뜻한 거 하나랑 아이스 하나": a second line
                    out.append(ParsedCommand("add_item", {"item_id": g.item, "quantity": qty, "options": {**opts, **split}}))
                    continue
                args = {"item_id": g.item, "options": split, "quantity": qty}
                match = self._full(g.item, opts)
                if match:
                    args["match"] = match
                out.append(ParsedCommand("set_item_option", args))
        out.extend(context)
        if lx.CANCEL in self.flags:
            out.insert(0, ParsedCommand("cancel_order"))
        if lx.DINE in self.flags:
            out.append(ParsedCommand("set_dine_option", {"dine": self.flags[lx.DINE]}))
        if lx.CHECKOUT in self.flags or lx.PAY in self.flags:
            out.append(ParsedCommand("checkout"))
        if lx.PAY in self.flags:
            out.append(ParsedCommand("pay", {"method": self.flags[lx.PAY]}))
        if lx.SHOW in self.flags and not out:
            out.append(ParsedCommand("show_order"))
        return out

    def _is_change(self, g: _Group, explicit: dict, change: bool) -> bool:
        """Whether an item already in the order is being changed rather than added again."""
        if change or g.to:
            return True
        if lx.ONLY in self.flags and g.qty is not None and not g.qty_weak:
            return True  # "치즈버거 한 개만 할게요": that many, not that many more
        if explicit and g.qty is None:
            return True  # "可乐要大杯", "사이다는 얼음 빼 주세요", "sprite는 no ice"
        return bool(explicit) and g.qty is not None and not g.qty_weak and lx.PART in self.flags

    def _full(self, item: str, opts: dict) -> dict | None:
        try:
            return self.menu.resolve_options(item, opts)
        except ValueError:
            return None

    def _replace(self, g: _Group, opts: dict) -> list[ParsedCommand]:
        a = g.replaces
        match = a.line_options if a.line_options is not None else (self._options(a.item, a.opts) or None)
        lines = self.order.find(a.item, match)
        if not lines:
            return [ParsedCommand("add_item", {"item_id": g.item, "quantity": g.qty or a.qty or 1, "options": opts})]
        qty = g.qty or a.qty or sum(line.quantity for line in lines)
        carried = {k: v for k, v in lines[0].options.items() if k in self.menu.item(g.item).options}
        remove = {"item_id": a.item}
        if a.qty is not None and not a.qty_weak:
            remove["quantity"] = a.qty  # "콜라 하나는 사이다로 바꿔": only one of them
        if match:
            remove["options"] = match
        return [
            ParsedCommand("remove_item", remove),
            ParsedCommand("add_item", {"item_id": g.item, "quantity": qty, "options": {**carried, **opts}}),
        ]

    def _change(self, g: _Group, explicit: dict) -> list[ParsedCommand]:
        if g.qty is not None and not g.qty_weak and (g.to == "qty" or not explicit):
            args = {"item_id": g.item, "quantity": g.qty}
            if explicit:
                args["options"] = explicit
            return [ParsedCommand("set_quantity", args)]
        if explicit:
            args = {"item_id": g.item, "options": explicit}
            if g.qty is not None and not g.qty_weak:
                args["quantity"] = g.qty
            return [ParsedCommand("set_item_option", args)]
        raise _Unresolved("change")

    def _leftover(self, change: bool) -> list[ParsedCommand]:
        """Quantities, options and removals said with no item after them.

        With an item earlier in the utterance they complete it ("two colas, one large" splits
        one off); without one they apply to the order's last line ("하나 더", "make that three").
        """
        p = self.pending
        if p.empty():
            return []
        live = [g for g in self.groups if not g.ref]
        if lx.CANCEL in self.flags:
            p.remove = False  # "不要了，全部取消": the cancel says it all
            if p.empty():
                return []
        if live:
            target = live[-1]
            if p.splits:
                target.splits.extend(p.splits)
            if p.remove:
                if target.remove or lx.DEMO not in self.flags or len(live) > 1:
                    raise _Unresolved("remove")
                target.remove = True
                return []
            if p.opts and p.qty is not None and not p.qty_weak:
                target.splits.append((p.qty, p.opts))
            elif p.opts:
                target.opts.extend(p.opts)
            elif p.qty is not None and not p.qty_weak and target.qty is None:
                target.qty = p.qty
            elif not (p.qty_weak or p.more):
                raise _Unresolved("quantity")
            return []
        last = self.order.last_line()
        if last is None:
            raise _Unresolved("no_last_item")
        if lx.ALL in self.flags or p.splits:
            raise _Unresolved("several_lines")  # "large on both", "剩下的都要大份"
        strong_qty = p.qty is not None and not p.qty_weak
        if p.remove:
            if lx.DEMO not in self.flags and not strong_qty:
                raise _Unresolved("remove")
            args = {"item_id": last.item_id, "options": dict(last.options)}
            if p.qty is not None and not p.qty_weak:
                args["quantity"] = p.qty
            return [ParsedCommand("remove_item", args)]
        if p.more:
            return [ParsedCommand("add_item", {"item_id": last.item_id, "quantity": p.qty or 1,
                                               "options": dict(last.options)})]
        opts = self._options(last.item_id, p.opts)
        leading_and = bool(self.tokens) and self.tokens[0].kind == lx.SEP
        if opts and not change and (leading_and or p.qty_weak):  # "and a hot one": another, differently
            return [ParsedCommand("add_item", {"item_id": last.item_id, "quantity": p.qty or 1,
                                               "options": {**last.options, **opts}})]
        if opts:
            args = {"item_id": last.item_id, "options": opts, "match": dict(last.options)}
            if p.qty is not None and not p.qty_weak:
                args["quantity"] = p.qty
            return [ParsedCommand("set_item_option", args)]
        if p.qty is not None and not p.qty_weak and (change or self.flags.get("to")):
            return [ParsedCommand("set_quantity", {"item_id": last.item_id, "quantity": p.qty,
                                                   "options": dict(last.options)})]
        raise _Unresolved("quantity")
