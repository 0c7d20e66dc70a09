"""What the rule parser's scanner understood of an utterance it could not place, for the model.

The parser hands a turn to the LLM when it cannot assemble commands, but its lexicon still
knows most words: item names and aliases in three languages (with typo tolerance), category
words, options. The model is given them as numbered references next to the words it heard —
`[Words: #1 "sprites" = cider, #2 "colas" = cola, "no ice" = ice none.]` — and may name a
target or an item by its number (`"target": "#2"`). A small model then copies the *shape* of a
similar example ("X instead of Y" → replace #2 with #1) without translating names into menu
ids itself, and a name the lexicon knows is never read as another item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import _lexicon as lx
from ._scan import Lexicon, Token, normalise
from .menu import Menu

# Category words (the lexicon's "generic" kind) by the category they name, for menus that have it.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "burger": ("burger", "burgers", "sandwich", "버거", "햄버거", "汉堡", "汉堡包"),
    "drink": ("drink", "drinks", "soda", "sodas", "beverage", "beverages", "음료", "음료수", "饮料", "汽水"),
    "side": ("side", "sides", "사이드", "小吃", "配餐"),
}
MAX_REFS = 6
PICKS = ("cheapest", "priciest", "each")
REF = re.compile(r"^#([1-9])$")


def ref_names(count: int = MAX_REFS) -> list[str]:
    """The reference names a model may use: #1 … #6."""
    return [f"#{n}" for n in range(1, count + 1)]


def _category(word: str, menu: Menu) -> str | None:
    present = {item.category for item in menu.items}
    for category, words in CATEGORY_WORDS.items():
        if category in present and word in words:
            return f"{category}s"
    return None


@dataclass
class Heard:
    """An utterance as the lexicon read it: numbered references, options, the remaining shape."""

    refs: list[tuple[str, str]] = field(default_factory=list)  # (word, item id or category), #1 first
    options: list[tuple[str, str]] = field(default_factory=list)  # (word, "key value")
    # The utterance's shape: item and category words as "§", known words as their kind (REMOVE,
    # CHANGE, QTY, OPT, …), unknown words as they are, fillers left out.
    shape: str = ""

    def ids(self) -> list[str]:
        """What #1, #2, … stand for."""
        return [meaning for _, meaning in self.refs]

    def resolve(self, name: str | None) -> str | None:
        """An item id or target for `#n`, a pick for `cheapest_#n` (`cheapest_drink` when #n is
        drinks); other names are returned as they are."""
        pick, sep, rest = (name or "").rpartition("_")
        m = REF.match(rest)
        if m is None:
            return name
        n = int(m.group(1))
        if n > len(self.refs):
            return name
        meaning = self.refs[n - 1][1]
        if not sep:
            return meaning
        return f"{pick}_{meaning[:-1] if meaning.endswith('s') else meaning}"

    def ref_for(self, meaning: str | None) -> str | None:
        """`#n` for an item id or category heard in the utterance (`cheapest_#n` for a pick of a
        category heard), else the meaning itself."""
        pick, sep, category = (meaning or "").partition("_")
        for n, (_, heard) in enumerate(self.refs, 1):
            if heard == meaning:
                return f"#{n}"
            if sep and pick in PICKS and heard == f"{category}s":
                return f"{pick}_#{n}"
        return meaning

    def note(self) -> str | None:
        """`[Words: #1 "sprites" = cider, "no ice" = ice none.]`, or None when nothing was heard."""
        parts = [f'#{n} "{w}" = {m}' for n, (w, m) in enumerate(self.refs, 1)]
        parts += [f'"{w}" = {m}' for w, m in self.options]
        return "[Words: " + ", ".join(parts) + ".]" if parts else None


class Hints:
    """Reads utterances against one menu's lexicon; build it once and reuse it."""

    def __init__(self, menu: Menu, lexicon: Lexicon | None = None) -> None:
        self.menu = menu
        self.lexicon = lexicon or Lexicon(menu)

    def _meaning(self, token: Token) -> str | None:
        if token.kind == lx.ITEM:
            return token.value[0]
        if token.kind == lx.GENERIC:
            return _category(token.text, self.menu)
        return None

    def read(self, text: str) -> Heard:
        """The references, options and shape of `text`."""
        heard = Heard()
        shape: list[str] = []
        for token in self.lexicon.scan(normalise(text)):
            meaning = self._meaning(token)
            if meaning is not None:
                shape.append("§")
                if meaning not in heard.ids() and len(heard.refs) < MAX_REFS:
                    heard.refs.append((token.text, meaning))
                continue
            if token.kind not in (lx.FILLER, "unknown"):  # the word's kind: the same in every language
                shape.append(token.kind.upper())
            elif token.kind == "unknown":
                shape.append(token.text)
            if token.kind == lx.OPT:
                option = " or ".join(f"{k} {v}" for k, v in token.value)
                if (token.text, option) not in heard.options:
                    heard.options.append((token.text, option))
        heard.shape = " ".join(shape)
        return heard
