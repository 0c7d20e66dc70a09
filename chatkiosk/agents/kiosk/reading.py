"""A best guess at what a request the parser refused means, offered to the model as a hint.

The parser never guesses: "sprites not colas", "no ice in either of the drinks", "the cheapest
burger", "the same again" are handed to the LLM. But the lexicon has read most of them — the
items and categories named (numbered `#1`, `#2` by `hint.Heard`), quantities, options, words of
removal and change — and a few cue words more ("again", "except", "cheapest", "last",
"altogether", in three languages) usually settle the operation. `read()` puts those together
into `change_order` changes, or None when nothing fits. The model is shown the reading next to
the request and decides: it may copy it, change it, or answer in words; the kiosk never runs a
reading by itself, and whatever the model sends is validated and run like any other command.
"""

from __future__ import annotations

import re
from typing import Any

from . import _lexicon as lx
from ._scan import Lexicon, Token, normalise
from .hint import Heard
from .menu import Menu
from .order import Order

# Cue words the lexicon has no kind for, by what they say about the request (regexes over the
# normalised text; Latin words on word boundaries).
_DOUBLE = r"\bdouble (?:that|it|them|those|this|everything|all|the order|my order|up|the|my|our)\b"  # not the burger
_CUES: dict[str, str] = {
    "again": r"\b(?:same again|again|once more|one more time|another round|repeat|twice)\b"
             rf"|{_DOUBLE}"
             r"|똑같|한 ?번 ?더|다시 ?한|두 ?배|一样的|同样的|照样|再来一遍|再点一遍|按刚才|和刚才一样|跟刚才一样|一倍|翻倍|加倍",
    "half": r"\bhalf\b|\bhalve\b|반만|절반|반으로|一半|减半",
    "rest": r"\b(?:except|all but|everything but|anything but|but the|other than|only keep|keep only|just keep|"
            r"leave only|leave just|keep just|the rest|everything else)\b|나머지|만 ?남기고|만 ?두고|만 ?놔두고|만 ?놓고|除了|只留|只保留|其他|其余|别的",
    "cheap": r"\b(?:cheapest|least expensive|least pricey|least costly|lowest[- ]priced|lowest price|cheap)\b|(?<!비)싼|저렴|便宜",
    "pricey": r"\b(?:most expensive|priciest|dearest|highest price|highest[- ]priced|most costly|(?<!least )(?<!less )expensive)\b|비싼|贵",
    "each": r"\b(?:one of each|each|every kind|one of every|all kinds)\b|종류별|각각|씩|每种|每样|各",
    "last": r"\b(?:last|latest|most recent|just ordered|just added|previous)\b|방금|마지막|最后|(?<![按和跟照])刚才|刚点|刚加",  # "按刚才的": as before, all of it
    "total": r"\b(?:altogether|in total|total|in all)\b|합쳐서|총 ?|一共|总共|总计",
    "swap": r"\b(?:replace|swap|switch|instead|exchange)\b",
    "become": r"\b(?:should be|into)\b",
    "drop": r"\b(?:scrap|ditch|nix|lose)\b",
    "fewer": r"\b(?:fewer|less|off)\b|줄여|덜",
    "either": r"\b(?:neither|either)\b",
    "enough": r"\b(?:will do|is enough|be enough|is plenty|too many)\b|면 ?충분|면 ?돼요|就行|就够|就好",
}
CUES = {name: re.compile(pattern) for name, pattern in _CUES.items()}
# Question words that make a question by themselves; the lexicon's others ("돼요", "있어요",
# "메뉴") ask only with a question mark ("두 개만 있으면 돼요" is a request).
_ASKING = {"what", "what's", "whats", "which", "how", "why", "recommend", "suggest", "뭐", "뭐가", "어떤", "어떻게",
           "추천", "얼마", "무슨", "왜", "뭔가요", "뭐예요", "什么", "吗", "推荐", "哪", "多少", "怎么", "为什么", "呢"}


def _asks(tokens: list[Token]) -> bool:
    """Whether the utterance is a question (then it is answered, not read as a change)."""
    words = [t.text for t in tokens if t.kind == lx.QUESTION]
    return any(w in _ASKING for w in words) or bool(words and any(t.kind == lx.MAYBE_QUESTION for t in tokens))


def not_before(tokens: list[Token], i: int) -> int | None:
    """The index of the "not" that token `i` follows with only numbers and fillers between
    ("not a large one"), or None."""
    j = i - 1
    while j >= 0 and tokens[j].kind in (lx.QTY, lx.FILLER):
        j -= 1
    return j if j >= 0 and tokens[j].kind == lx.REMOVE and tokens[j].text == "not" else None


def cues(text: str) -> set[str]:
    """The cue kinds said in `text` (normalised)."""
    return {name for name, rx in CUES.items() if rx.search(text)}


# Cues that change what a request means in a way the parser does not read: it would place
# "double that" as a double cheeseburger, "치즈스틱 반만" as one more, "一共要三个" as three more,
# "各来两个" as two of the last item only, "the coke should be a sprite" as one of each.
_PARSER_BLIND = {"again", "half", "rest", "cheap", "pricey", "total", "drop", "each", "become", "either", "enough"}
_DOUBLE_THE = re.compile(_DOUBLE)
_TAKE_OFF = re.compile(r"\bfewer\b|\btake (?:\S+ ){0,5}off\b")


def parser_blind(text: str) -> bool:
    """Whether `text` says something the rule parser would miss: then the model takes the turn."""
    norm = normalise(text)
    return bool(cues(norm) & _PARSER_BLIND) or bool(_TAKE_OFF.search(norm))


class Reader:
    """Reads refused requests against one menu; build it once and reuse it."""

    def __init__(self, menu: Menu, lexicon: Lexicon) -> None:
        self.menu = menu
        self.lexicon = lexicon

    def read(self, text: str, heard: Heard, order: Order) -> list[dict[str, Any]] | None:
        """The changes `text` most likely asks for (targets and items as `#n`), or None."""
        norm = normalise(text)
        tokens = self.lexicon.scan(norm)
        if _asks(tokens):
            return None  # a question is answered, not read as a change
        return _Reading(self.menu, order, heard, tokens, cues(norm)).changes()


class _Reading:
    def __init__(self, menu: Menu, order: Order, heard: Heard, tokens: list[Token], said: set[str]) -> None:
        self.menu, self.order, self.heard, self.said = menu, order, heard, said
        self.kinds = {t.kind for t in tokens}
        self.tokens = tokens
        self.quantities = [t.value for t in tokens if t.kind == lx.QTY and not t.weak]
        refs = heard.ids()
        if "again" in said and "double_cheeseburger" in refs and not order.find("double_cheeseburger") and (
            refs == ["double_cheeseburger"] or _DOUBLE_THE.search(" ".join(t.text for t in tokens))
        ):
            refs = [r for r in refs if r != "double_cheeseburger"]  # "double that", "double the fries": not the burger
        self.refs = refs
        self.present = [r for r in refs if self._in_order(r)]
        self.absent_items = [r for r in refs if menu.has(r) and not self._in_order(r)]
        self.categories = [r for r in refs if not menu.has(r)]

    # --- helpers ---

    def _in_order(self, ref: str) -> bool:
        if self.menu.has(ref):
            return bool(self.order.find(ref))
        category = ref[:-1]
        return any(self.menu.item(line.item_id).category == category for line in self.order.lines)

    def _ref(self, meaning: str) -> str:
        return self.heard.ref_for(meaning) or meaning

    def _pointed(self) -> str:
        """The target when no item is named: the last line for "the last one" or "that" (not "all
        that"), else all."""
        if "last" in self.said:  # "방금 주문한 거 전부": all that was just ordered
            return "all" if lx.ALL in self.kinds else "last"
        return "last" if lx.DEMO in self.kinds and lx.ALL not in self.kinds else "all"

    def _target(self) -> str:
        return self._ref(self.present[0]) if self.present else self._pointed()

    def _lines(self, target: str) -> list[Any]:
        meaning = self.heard.resolve(target) or target
        if meaning == "all":
            return list(self.order.lines)
        if meaning == "last":
            line = self.order.last_line()
            return [line] if line else []
        if self.menu.has(meaning):
            return self.order.find(meaning)
        return [line for line in self.order.lines if self.menu.item(line.item_id).category == meaning[:-1]]

    def _options(self, target: str) -> dict[str, str]:
        """The options said (not the ones said to be unwanted), fitted to the target's lines."""
        return self._said_options({k for line in self._lines(target) for k in self.menu.item(line.item_id).options})

    def _said_options(self, keys: set[str]) -> dict[str, str]:
        """The options said (not the ones said to be unwanted) among `keys`."""
        out: dict[str, str] = {}
        for i, t in enumerate(self.tokens):
            if t.kind != lx.OPT:
                continue
            after = self.tokens[i + 1].kind if i + 1 < len(self.tokens) else None
            before = self.tokens[i - 1].kind if i else None
            if after == lx.SUBST or before == lx.SUBST_REV or not_before(self.tokens, i) is not None:
                continue  # "아이스 말고", "instead of iced", "not a large one": not wanted
            fitting = [(k, v) for k, v in t.value if k in keys]
            if fitting:
                k, v = fitting[0]
                out[k] = v
        return out

    def _quantity(self) -> int | None:
        return self.quantities[0] if self.quantities else None

    # --- the reading ---

    def changes(self) -> list[dict[str, Any]] | None:
        for rule in (self._pick, self._each, self._keep, self._halve, self._again, self._replace,
                     self._more, self._set_option, self._set_quantity, self._remove, self._add):
            found = rule()
            if found:
                return found
        return None

    def _pick(self) -> list[dict[str, Any]] | None:
        kind = "priciest" if "pricey" in self.said else "cheapest" if "cheap" in self.said else None
        if kind is None or not self.categories:
            return None
        kinds = ["cheapest", "priciest"] if {"cheap", "pricey"} <= self.said else [kind]  # "제일 싼 버거랑 제일 비싼 버거"
        changes: list[dict[str, Any]] = []
        for i, pick in enumerate(kinds):
            category = self.categories[min(i, len(self.categories) - 1)]
            changes.append({"do": "add", "item": f"{pick}_{self._ref(category)}"})
            if self._quantity() and self._quantity() > 1:
                changes[-1]["quantity"] = self._quantity()
        return changes

    def _each(self) -> list[dict[str, Any]] | None:
        if "each" not in self.said:
            return None
        if self.categories and not self.absent_items and not self.present:
            return [{"do": "add", "item": f"each_{self._ref(self.categories[0])}"}]
        if len(self.absent_items) >= 2:
            q = self._quantity()
            return [{"do": "add", "item": self._ref(r), **({"quantity": q} if q and q > 1 else {})}
                    for r in self.absent_items]
        return None

    def _keep(self) -> list[dict[str, Any]] | None:
        if "rest" not in self.said or not self.present:
            return None
        return [{"do": "keep_only", "target": self._ref(self.present[0])}]

    def _halve(self) -> list[dict[str, Any]] | None:
        if "half" not in self.said or not self.order.lines:
            return None
        return [{"do": "halve", "target": self._target()}]

    def _again(self) -> list[dict[str, Any]] | None:
        if "again" not in self.said or not self.order.lines or self.absent_items:
            return None
        change: dict[str, Any] = {"do": "repeat", "target": self._target()}
        if self._quantity() and self._quantity() > 1 and len(self.present) == 1:  # "再来两份一样的": two more
            change["quantity"] = self._quantity()
        return [change]

    def _replace(self) -> list[dict[str, Any]] | None:
        if len(self.absent_items) != 1 or not self.order.lines or lx.MORE in self.kinds:
            return None
        new = self.absent_items[0]
        said_change = self.kinds & {lx.CHANGE, lx.SUBST, lx.SUBST_REV, lx.REMOVE, lx.CANCEL} or self.said & {"swap", "become"}
        same_kind = [r for r in self.present if self.menu.has(r)
                     and self.menu.item(r).category == self.menu.item(new).category]
        if not said_change and not same_kind:
            return None
        target = self._ref(self.present[0]) if self.present else self._pointed()
        if target == "all":
            return None
        change: dict[str, Any] = {"do": "replace", "target": target, "item": self._ref(new)}
        options = self._said_options(set(self.menu.item(new).options))  # "the coke should be a sprite, a large one"
        if options:
            change["options"] = options
        lines = self._lines(target)
        have = sum(line.quantity for line in lines)
        if lx.PART in self.kinds and self.quantities and min(self.quantities) < have:
            change["quantity"] = min(self.quantities)
        return [change]

    def _more(self) -> list[dict[str, Any]] | None:
        """"콜라 한 잔 더, 이번엔 얼음 없이", "keep the fries, one more cola": more of what is there."""
        if lx.MORE not in self.kinds or self.absent_items or not self.present or not self.menu.has(self.present[-1]):
            return None
        if self.kinds & {lx.REMOVE, lx.CANCEL, lx.CHANGE}:
            return None
        item = self.present[-1]
        change: dict[str, Any] = {"do": "add", "item": self._ref(item)}
        if self._quantity() and self._quantity() > 1:
            change["quantity"] = self._quantity()
        options = self._said_options(set(self.menu.item(item).options))
        if options:
            change["options"] = options
        return [change]

    def _set_option(self) -> list[dict[str, Any]] | None:
        if lx.OPT not in self.kinds or self.absent_items or not self.order.lines:
            return None
        if len(self.present) >= 2 and lx.PART not in self.kinds:  # "감자튀김이랑 콜라 둘 다 라지로": each one named
            changes = [{"do": "set_option", "target": self._ref(r), "options": self._options(self._ref(r))}
                       for r in self.present]
            return [c for c in changes if c["options"]] or None
        target = self._ref(self.present[0]) if self.present else ("last" if "last" in self.said else "all")
        options = self._options(target)
        if not options:
            return None
        change: dict[str, Any] = {"do": "set_option", "target": target, "options": options}
        if lx.PART in self.kinds and self.quantities:
            have = sum(line.quantity for line in self._lines(target))
            if min(self.quantities) < have:
                change["quantity"] = min(self.quantities)
        return [change]

    def _set_quantity(self) -> list[dict[str, Any]] | None:
        if not self.present or not self.quantities or self.absent_items:
            return None
        if "enough" in self.said:  # "two colas is too many, one will do": the last number said
            return [{"do": "set_quantity", "target": self._ref(self.present[0]), "quantity": self.quantities[-1]}]
        if not ({"total"} & self.said or self.kinds & {lx.TO, lx.ONLY, lx.CHANGE}):
            return None
        return [{"do": "set_quantity", "target": self._ref(self.present[0]), "quantity": self.quantities[0]}]

    def _remove(self) -> list[dict[str, Any]] | None:
        # "no", "not", "without" remove only next to an item ("not sure about all this" removes nothing).
        removing = any(t.kind in (lx.REMOVE, lx.CANCEL) and not t.weak for t in self.tokens)
        if not (removing or self.said & {"fewer", "drop"}) or self.absent_items or not self.order.lines:
            return None
        target = self._target()
        if target == "all":
            return None  # cancelling the whole order is said in so many words (the parser's job)
        change: dict[str, Any] = {"do": "remove", "target": target}
        if self.quantities:
            change["quantity"] = self.quantities[0]
        return [change]

    def _add(self) -> list[dict[str, Any]] | None:
        if not self.absent_items or self.kinds & {lx.REMOVE, lx.CANCEL, lx.CHANGE, lx.SUBST, lx.SUBST_REV} or "swap" in self.said:
            return None
        q = self._quantity()
        changes = []
        for r in self.absent_items:  # "a sprite and a coke, neither with ice": the options said, for each
            change: dict[str, Any] = {"do": "add", "item": self._ref(r), **({"quantity": q} if q and q > 1 else {})}
            options = self._said_options(set(self.menu.item(r).options)) if self.menu.has(r) else {}
            if options:
                change["options"] = options
            changes.append(change)
        return changes
