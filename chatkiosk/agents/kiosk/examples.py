"""Worked examples for the model, the nearest ones to each utterance picked per turn.

A small model answers a request the way it saw a similar one answered far more reliably than
it follows a description of the operations. `examples.json` next to this module holds short
customer requests, each with an order it was said to and the changes that answer it; none is
taken from the benchmark sets. For a turn, the examples whose *shape* is nearest (see
`hint.Heard.shape`: "§ CHANGE §" for "§换成§" and "change the § to §" alike) are shown with the
turn, the nearest last, written exactly as the turn itself is (order note, numbered words), their
items named by number where the words name them. Examples naming items the menu does not have
are left out, so another shop's menu still gets the ones that fit it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .commands import execute
from .hint import Heard, Hints
from .menu import Menu
from .order import Order

DEFAULT_PATH = Path(__file__).with_name("examples.json")  # packaged like menu.json
SHOWN = 2


def features(shape: str) -> frozenset[str]:
    """The shape's symbols and pairs of neighbouring symbols."""
    symbols = shape.split()
    return frozenset(symbols) | frozenset(f"{a} {b}" for a, b in zip(symbols, symbols[1:]))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two feature sets."""
    return len(a & b) / len(a | b) if a or b else 0.0


@dataclass(frozen=True)
class Example:
    lang: str
    say: str
    order: Order
    heard: Heard
    answer: str  # the model's answer: a JSON command or plain text
    features: frozenset[str]


def _referenced(heard: Heard, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes with targets and items the utterance names written as their numbers (#1, #2)."""
    out = []
    for change in changes:
        change = dict(change)
        for key in ("target", "item"):
            if key in change:
                change[key] = heard.ref_for(change[key])
        out.append(change)
    return out


def _ids(record: dict[str, Any]) -> set[str]:
    ids = {line[0] for line in record.get("order", [])}
    for change in record.get("changes", []):
        ids.update(v for k, v in change.items() if k in ("target", "item"))
    return ids


def load_examples(menu: Menu, hints: Hints, path: Path | None = None) -> list[Example]:
    """The examples that fit `menu` (every item they name is on it), read against its lexicon."""
    names = {item.id for item in menu.items}
    special = {"all", "last"} | {f"{c}s" for c in {i.category for i in menu.items}}
    out = []
    for record in json.loads((path or DEFAULT_PATH).read_text(encoding="utf-8")):
        picks = {i for i in _ids(record) if i.split("_", 1)[0] in ("cheapest", "priciest", "each")}
        if not _ids(record) - picks - special <= names:
            continue
        order = Order()
        for item_id, quantity, options in record.get("order", []):
            execute(order, menu, "add_item", {"item_id": item_id, "quantity": quantity, "options": options})
        heard = hints.read(record["say"])
        if "changes" in record:
            command = {"tool": "change_order", "arguments": {"changes": _referenced(heard, record["changes"])}}
            answer = json.dumps(command, ensure_ascii=False, separators=(",", ":"))
        elif "command" in record:
            answer = json.dumps(record["command"], ensure_ascii=False, separators=(",", ":"))
        else:
            answer = record["text"]
        out.append(Example(record["lang"], record["say"], order, heard, answer, features(heard.shape)))
    return out


def nearest(examples: list[Example], heard: Heard, lang: str, count: int = SHOWN) -> list[Example]:
    """The `count` examples nearest to an utterance's shape (its own language first on a tie)."""
    mine = features(heard.shape)
    ranked = sorted(examples, key=lambda e: (similarity(mine, e.features) + (0.05 if e.lang == lang else 0.0)),
                    reverse=True)
    return ranked[:count][::-1]  # the nearest last, next to the request


def reading_note(changes: list[dict[str, Any]] | None) -> str | None:
    """`[Reading: [{"do": …}]]`: the kiosk's guess at the changes, for the model to check."""
    if not changes:
        return None
    return f"[Reading: {json.dumps(changes, ensure_ascii=False, separators=(',', ':'))}]"


def turn_line(say: str, note: str, heard: Heard, reading: list[dict[str, Any]] | None = None) -> str:
    """One request as the model reads it: `"text" [Current order: …] [Words: …] [Reading: …] →`."""
    parts = [json.dumps(say, ensure_ascii=False), note, heard.note(), reading_note(reading), "→"]
    return " ".join(filter(None, parts))
