"""Turn an utterance into tokens: longest-match over the lexicon, with typo tolerance.

Latin words are corrected to the nearest known word first ("chesseburger" → "cheeseburger");
Hangul/Han stretches nothing matched are compared with the menu's aliases by edit distance
("불고기벅거" → 불고기버거). What still matches nothing is returned as `unknown` tokens.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass

from . import _lexicon as lx
from .menu import Menu


@dataclass
class Token:
    kind: str
    value: object = None
    weak: bool = False
    text: str = ""


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def detect_lang(text: str, hint: str | None = None) -> str:
    """ko when there is any Hangul, else zh with any Han, else en with any Latin letter, else the hint."""
    hangul = han = latin = 0
    for ch in text:
        if "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e":
            hangul += 1
        elif "\u3400" <= ch <= "\u9fff":
            han += 1
        elif "a" <= ch <= "z" or "A" <= ch <= "Z":
            latin += 1
    if hangul:
        return "ko"
    if han:
        return "zh"
    if latin:
        return "en"
    return hint or "ko"


def joined(units: list[str]) -> str:
    """Units as text: Latin words apart ("no ice"), Hangul/Han characters together ("去冰")."""
    out = ""
    for unit in units:
        if out and unit[0].isascii() and unit[0].isalnum() and out[-1].isascii() and out[-1].isalnum():
            out += " "
        out += unit
    return out


def _is_cjk(unit: str) -> bool:
    return len(unit) == 1 and ("\uac00" <= unit <= "\ud7a3" or "\u3400" <= unit <= "\u9fff" or "\u3131" <= unit <= "\u318e")


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


class Lexicon:
    """Every phrase the parser knows, keyed by its units, built once per menu."""

    def __init__(self, menu: Menu) -> None:
        self.entries: dict[tuple[str, ...], lx.Entry] = {}
        add = self._add
        for phrase in lx.FILLERS:
            add(phrase, lx.Entry(lx.FILLER))
        for kind in (lx.DEMO, lx.ONLY, lx.PART, lx.ALL, lx.GENERIC, lx.MAYBE_QUESTION, lx.SEP, lx.TO, lx.MORE, lx.CHANGE,
                     lx.SUBST, lx.SUBST_REV):
            for phrase in lx.PHRASES[kind]:
                add(phrase, lx.Entry(kind))
        for phrase in lx.WEAK_REMOVE:
            add(phrase, lx.Entry(lx.REMOVE, weak=True))
        for kind in (lx.REMOVE, lx.QUESTION, lx.SHOW):
            for phrase in lx.PHRASES[kind]:
                add(phrase, lx.Entry(kind))
        for phrase, candidates in lx.OPTIONS.items():
            add(phrase, lx.Entry(lx.OPT, tuple(candidates)))
        for phrase, n in lx.WEAK_QUANTITIES.items():
            add(phrase, lx.Entry(lx.QTY, n, weak=True))
        for phrase, n in lx.QUANTITIES.items():
            add(phrase, lx.Entry(lx.QTY, n))
        for dine, phrases in lx.DINE_PHRASES.items():
            for phrase in phrases:
                add(phrase, lx.Entry(lx.DINE, dine))
        for method, phrases in lx.PAY_PHRASES.items():
            for phrase in phrases:
                add(phrase, lx.Entry(lx.PAY, method))
        for kind in (lx.CHECKOUT, lx.CANCEL):
            for phrase in lx.PHRASES[kind]:
                add(phrase, lx.Entry(kind))
        self.cjk_aliases: list[tuple[str, lx.Entry]] = []
        for item in menu.items:
            texts = [(a.text, a.options) for a in item.aliases]
            texts += [(n, {}) for n in item.names.model_dump().values()] + [(item.id.replace("_", " "), {})]
            for text, options in texts:
                entry = lx.Entry(lx.ITEM, (item.id, tuple(sorted(options.items()))))
                norm = normalise(text)
                for variant in _variants(norm):
                    add(variant, entry)
                key = lx.units(norm)
                if key and all(_is_cjk(u) for u in key) and len(key) >= 3:
                    self.cjk_aliases.append(("".join(key), entry))
        self._alias_index: dict[str, list[tuple[str, lx.Entry]]] = {}
        for alias, entry in self.cjk_aliases:
            self._alias_index.setdefault(alias[0], []).append((alias, entry))
            self._alias_index.setdefault("$" + alias[-1], []).append((alias, entry))
        self.maxlen = max(len(k) for k in self.entries)
        self.vocab = sorted({u for k in self.entries for u in k if u.isalpha() and u.isascii() and len(u) >= 3})
        self._vocab_set = set(self.vocab)
        self._fuzzy_cache: dict[str, str | None] = {}

    def _add(self, phrase: str, entry: lx.Entry) -> None:
        key = lx.units(normalise(phrase))
        if key:
            self.entries[key] = entry

    def correct(self, unit: str) -> str:
        """The nearest known Latin word for an unknown one (cached), or the word itself."""
        if len(unit) < 4 or not unit.isascii() or not unit.isalpha() or unit in self._vocab_set:
            return unit
        if unit not in self._fuzzy_cache:
            best = difflib.get_close_matches(unit, self.vocab, n=1, cutoff=0.8)
            self._fuzzy_cache[unit] = best[0] if best else None
        return self._fuzzy_cache[unit] or unit

    def scan(self, text: str) -> list[Token]:
        """Tokens of a normalised utterance, longest phrase first."""
        us = [self.correct(u) for u in lx.units(text)]
        tokens: list[Token] = []
        i, n = 0, len(us)
        while i < n:
            for length in range(min(self.maxlen, n - i), 0, -1):
                entry = self.entries.get(tuple(us[i : i + length]))
                if entry is not None:
                    tokens.append(Token(entry.kind, entry.value, entry.weak, joined(us[i : i + length])))
                    i += length
                    break
            else:
                unit = us[i]
                if unit.isdigit():
                    tokens.append(Token(lx.QTY, int(unit), False, unit))
                else:
                    tokens.append(Token("unknown", None, False, unit))
                i += 1
        return self._fuzzy_items(tokens)

    def _fuzzy_items(self, tokens: list[Token]) -> list[Token]:
        """Replace unknown Hangul/Han (with the fillers and item around it) by the closest alias."""
        if not any(t.kind == "unknown" and _is_cjk(t.text) for t in tokens):
            return tokens
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            if not (tokens[i].kind == "unknown" and _is_cjk(tokens[i].text)):
                out.append(tokens[i])
                i += 1
                continue
            lo = i
            while lo > 0 and _fuzzy_part(tokens[lo - 1]) and out and out[-1] is tokens[lo - 1]:
                lo -= 1
                out.pop()
            hi = i
            while hi < len(tokens) and _fuzzy_part(tokens[hi]):
                hi += 1
            out.extend(self._best_alias(tokens[lo:hi]))
            i = hi
        return out

    def _best_alias(self, run: list[Token]) -> list[Token]:
        """The run with its best-matching token span turned into one item token (if any matches)."""
        bounds = [0]
        for t in run:
            bounds.append(bounds[-1] + len(t.text))
        text = "".join(t.text for t in run)
        best = None  # (distance, -width, a, b, entry)
        for a in range(len(run)):
            for b in range(a + 1, len(run) + 1):
                if not any(run[k].kind == "unknown" for k in range(a, b)):
                    continue
                window = text[bounds[a] : bounds[b]]
                if len(window) < 3:
                    continue
                # An item already read must be explained better, not padded ("불고기버거피" is not a typo).
                longest_item = max((len(run[k].text) for k in range(a, b) if run[k].kind == lx.ITEM), default=0)
                for alias, entry in self._alias_index.get(window[0], []) + self._alias_index.get("$" + window[-1], []):
                    if len(alias) <= longest_item:
                        continue
                    limit = 0 if len(alias) <= 3 else 1 if len(alias) < 6 else 2
                    d = _edit_distance(window, alias, limit)
                    if longest_item and d >= len(alias) - longest_item:
                        continue  # no better than the item read exactly ("把芝士汉堡" is not 双层芝士汉堡)
                    if d <= limit and (best is None or (d, -len(window)) < best[:2]):
                        best = (d, -len(window), a, b, entry)
        if best is None:
            return run
        _, _, a, b, entry = best
        item = Token(lx.ITEM, entry.value, False, text[bounds[a] : bounds[b]])
        return run[:a] + [item] + self._best_alias(run[b:]) if b < len(run) else run[:a] + [item]

def _fuzzy_part(t: Token) -> bool:
    """Tokens a misspelt item name may have been read as: unknown Hangul/Han, fillers, items."""
    return t.kind in ("unknown", lx.FILLER, lx.ITEM, lx.GENERIC) and all(_is_cjk(c) for c in t.text)


def _variants(norm: str) -> list[str]:
    """An alias as written, plus English plurals ("cheeseburgers", "cokes")."""
    out = [norm]
    if norm and norm[-1].isascii() and norm[-1].isalpha():
        if norm.endswith(("s", "x", "ch", "sh")):
            out.append(norm + "es")
        elif norm.endswith("y") and not norm.endswith(("ay", "ey", "oy", "uy")):
            out.append(norm[:-1] + "ies")
        else:
            out.append(norm + "s")
        if norm.endswith("fries"):
            out.append(norm[:-2] + "y")
    return out
