"""The second look: readings of the parser that are handed to the model instead of being run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatkiosk.agents.kiosk.commands import execute, execute_all
from chatkiosk.agents.kiosk.order import Order
from chatkiosk.agents.kiosk.reading import parser_blind
from chatkiosk.agents.kiosk.second_look import doubtful

UTTERANCES = Path(__file__).parent / "utterances.jsonl"


def _order(menu, *lines) -> Order:
    order = Order()
    for item_id, quantity, options in lines:
        assert execute(order, menu, "add_item", {"item_id": item_id, "quantity": quantity, "options": options}).ok
    return order


@pytest.mark.parametrize("lines, text, why", [
    ([("cheese_sticks", 2, {})], "fries not cheese sticks", "contrast"),
    ([("cola", 2, {})], "콜라 두 잔 중 하나는 사이다로 바꿔 주세요", "part_swap"),
    ([("cola", 2, {})], "콜라 두 잔 중 한 잔은 라지로요", "part_add"),
    ([("cola", 1, {})], "可乐换成大杯的，再加一个薯条", "unplaced_item"),
    ([("americano", 1, {"temperature": "iced"})], "美式不要冰的，要热的", "misread_option"),
    ([("americano", 1, {})], "make that americano iced, not hot", "option_contrast"),
    ([("cheeseburger", 3, {})], "one less cheeseburger", "readd"),
    ([("fries", 1, {})], "sub the fries for cheese sticks", "readd"),
    ([("fries", 1, {}), ("cola", 1, {})], "감자튀김이랑 콜라 둘 다 라지로요", "readd"),
])
def test_a_confident_misreading_goes_to_the_model(menu, parser, lines, text, why):
    order = _order(menu, *lines)
    parsed = parser.parse(text, order, lang_hint=None)
    assert parsed.understood  # the parser would have run it
    assert doubtful(text, parsed, order, menu, parser.lexicon) == why


@pytest.mark.parametrize("text", ["cheeseburgers each with a cola", "芝士汉堡和可乐各来两个",
                                  "the cola should be a sprite", "turn the fries into cheese sticks"])
def test_requests_with_each_or_becoming_are_for_the_model(text):
    assert parser_blind(text)


def test_no_turn_the_parser_gets_right_is_taken_from_it(menu, parser):
    """Every parser turn of the labelled conversations is still run by the parser, and a refusal
    the customer should hear (a burger has no size, an empty order cannot be paid) stays its own."""
    looked = 0
    for line in UTTERANCES.read_text().splitlines():
        order, lang = Order(), None
        for turn in json.loads(line)["turns"]:
            parsed = parser.parse(turn["say"], order, lang)
            lang = parsed.lang
            if parsed.understood and not turn.get("llm"):
                looked += 1
                assert not parser_blind(turn["say"]), turn["say"]
                assert doubtful(turn["say"], parsed, order, menu, parser.lexicon) is None, turn["say"]
            if parsed.understood:
                execute_all(order, menu, parsed.as_calls(), parsed.lang)
    assert looked > 200
