"""Measure the kiosk's rule-based parser on the utterance set (tests/kiosk/utterances.jsonl).

Run: .venv/bin/python benchmarks/kiosk_parser.py [--verbose]

The set: one conversation per line,
    {"id": "...", "turns": [{"say": "...", "llm": true?,
                             "expect": {"state": "order", "dine": null,
                                        "items": [{"item_id": "cola", "quantity": 2, "options": {"size": "large"}}]}}]}
`expect` is the order after the turn; `options` list only what the customer chose (the rest are
the menu defaults); `llm: true` marks a turn the parser should hand to the LLM (questions,
off-menu items, references it cannot resolve). Such a turn's `expect` is what a correct answer
leaves, and the replay continues from it as if the LLM had done that.

Printed figures:
- accuracy: parser turns (no `llm` flag) where the parser understood the turn *and* the order
  after executing its commands equals `expect` exactly (state, dine, lines with full options);
- no-LLM share: parser turns the parser understood (in-menu ordering turns resolved with no LLM call);
- deferred: `llm` turns the parser reported as not understood (and, of those it took anyway,
  how many still ended with the right order);
- parser latency p50/p99 over every parse call (the set replayed several times).
After any turn the replay continues from `expect`, so one miss does not spoil the next turns.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatkiosk.agents.kiosk.commands import execute_all  # noqa: E402
from chatkiosk.agents.kiosk.menu import Menu, load_menu  # noqa: E402
from chatkiosk.agents.kiosk.order import Order, OrderLine, OrderState  # noqa: E402
from chatkiosk.agents.kiosk.parser import Parser  # noqa: E402

UTTERANCES = ROOT / "tests" / "kiosk" / "utterances.jsonl"


@dataclass
class Report:
    parser_turns: int = 0
    exact: int = 0
    understood: int = 0
    llm_turns: int = 0
    deferred: int = 0
    acted_right: int = 0  # LLM turns the parser took anyway, leaving the right order
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.exact / self.parser_turns if self.parser_turns else 1.0

    @property
    def no_llm_share(self) -> float:
        return self.understood / self.parser_turns if self.parser_turns else 1.0

    def percentile(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))] if data else 0.0


def load_set(path: Path = UTTERANCES) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_key(menu: Menu, expect: dict) -> tuple:
    lines = Counter()
    for it in expect["items"]:
        full = menu.resolve_options(it["item_id"], it.get("options") or {})
        lines[(it["item_id"], tuple(sorted(full.items())))] += it["quantity"]
    return expect["state"], expect.get("dine"), tuple(sorted(lines.items()))


def order_key(order: Order) -> tuple:
    lines = Counter()
    for line in order.lines:
        lines[(line.item_id, tuple(sorted(line.options.items())))] += line.quantity
    return order.state.value, order.dine, tuple(sorted(lines.items()))


def order_from_expect(menu: Menu, expect: dict, previous: Order) -> Order:
    """The order a correct turn leaves, to continue the replay from."""
    lines = [
        OrderLine(item_id=it["item_id"], quantity=it["quantity"],
                  options=menu.resolve_options(it["item_id"], it.get("options") or {}))
        for it in expect["items"]
    ]
    order = Order(state=OrderState(expect["state"]), lines=lines, dine=expect.get("dine"))
    if previous.last is not None and order.find(previous.last.item_id, previous.last.options):
        order.last = previous.last
    elif lines:
        order.last = None  # falls back to the newest line
    if order.state is OrderState.DONE:
        order.payment = previous.payment or "card"
    return order


def evaluate(menu: Menu | None = None, conversations: list[dict] | None = None, rounds: int = 1) -> Report:
    """Replay every conversation `rounds` times (timing every parse); figures from the first round."""
    menu = menu or load_menu()
    conversations = conversations if conversations is not None else load_set()
    parser = Parser(menu)
    report = Report()
    for round_ in range(rounds):
        for conv in conversations:
            order = Order()
            lang = None
            for n, turn in enumerate(conv["turns"]):
                t0 = time.perf_counter()
                result = parser.parse(turn["say"], order, lang)
                report.latencies_ms.append((time.perf_counter() - t0) * 1000)
                lang = result.lang
                if round_:
                    order = _advance(menu, order, result, turn)
                    continue
                want = expected_key(menu, turn["expect"])
                if turn.get("llm"):
                    report.llm_turns += 1
                    if not result.understood:
                        report.deferred += 1
                    else:
                        trial = order.model_copy(deep=True)
                        execute_all(trial, menu, result.as_calls(), result.lang)
                        right = order_key(trial) == want
                        report.acted_right += right
                        report.misses.append(f"{conv['id']}#{n} LLM turn acted on ({'order right' if right else 'ORDER WRONG'}):"
                                             f" {turn['say']!r} -> {result.as_calls()}")
                else:
                    report.parser_turns += 1
                    if result.understood:
                        report.understood += 1
                        trial = order.model_copy(deep=True)
                        execute_all(trial, menu, result.as_calls(), result.lang)
                        got = order_key(trial)
                        if got == want:
                            report.exact += 1
                        else:
                            report.misses.append(
                                f"{conv['id']}#{n} wrong order: {turn['say']!r} -> {result.as_calls()}\n"
                                f"      got  {got}\n      want {want}")
                    else:
                        report.misses.append(
                            f"{conv['id']}#{n} not understood ({result.reason} {result.unknown}): {turn['say']!r}")
                order = _advance(menu, order, result, turn)
    return report


def _advance(menu: Menu, order: Order, result, turn: dict) -> Order:
    if not turn.get("llm") and result.understood:
        trial = order.model_copy(deep=True)
        execute_all(trial, menu, result.as_calls(), result.lang)
        if order_key(trial) == expected_key(menu, turn["expect"]):
            return trial
    return order_from_expect(menu, turn["expect"], order)


def main(argv: list[str]) -> int:
    conversations = load_set()
    report = evaluate(conversations=conversations, rounds=5)
    turns = sum(len(c["turns"]) for c in conversations)
    print(f"utterance set: {len(conversations)} conversations, {turns} turns "
          f"({report.parser_turns} for the parser, {report.llm_turns} for the LLM)")
    print(f"accuracy (exact order after parser turns): {report.accuracy:.1%} ({report.exact}/{report.parser_turns})")
    print(f"in-menu ordering turns with no LLM call:   {report.no_llm_share:.1%} "
          f"({report.understood}/{report.parser_turns})")
    print(f"LLM turns correctly deferred:              {report.deferred}/{report.llm_turns} "
          f"(of the rest, {report.acted_right} still left the right order)")
    print(f"parser latency: p50 {report.percentile(0.5):.3f} ms, p99 {report.percentile(0.99):.3f} ms, "
          f"mean {statistics.fmean(report.latencies_ms):.3f} ms over {len(report.latencies_ms)} parses")
    if "--verbose" in argv or "-v" in argv:
        for miss in report.misses:
            print("  MISS", miss)
    else:
        print(f"{len(report.misses)} misses (run with --verbose to list them)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
