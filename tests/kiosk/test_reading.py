"""The lexicon's numbered words, the reading of refused requests, and the worked examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatkiosk.agents.kiosk.agent import _EXAMPLES
from chatkiosk.agents.kiosk.change import Change, commands_for
from chatkiosk.agents.kiosk.commands import execute, execute_all
from chatkiosk.agents.kiosk.examples import features, load_examples, nearest, reading_note, turn_line
from chatkiosk.agents.kiosk.hint import Hints
from chatkiosk.agents.kiosk.order import Order
from chatkiosk.agents.kiosk.reading import Reader, cues, parser_blind

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def hints(menu) -> Hints:
    return Hints(menu)


@pytest.fixture(scope="module")
def reader(menu, hints) -> Reader:
    return Reader(menu, hints.lexicon)


def _order(menu, *lines) -> Order:
    order = Order()
    for item_id, quantity, *options in lines:
        assert execute(order, menu, "add_item", {"item_id": item_id, "quantity": quantity, "options": options[0] if options else {}}).ok
    return order


def test_words_are_numbered_items_and_categories_with_options_beside_them(hints):
    heard = hints.read("swap the colas for sprites, no ice, and drop the drinks")
    assert heard.refs == [("colas", "cola"), ("sprites", "cider"), ("drinks", "drinks")]
    assert ("no ice", "ice none") in heard.options
    assert heard.note() == '[Words: #1 "colas" = cola, #2 "sprites" = cider, #3 "drinks" = drinks, "no ice" = ice none.]'
    assert heard.resolve("#2") == "cider" and heard.resolve("#3") == "drinks" and heard.resolve("#9") == "#9"
    assert heard.resolve("cheapest_#3") == "cheapest_drink" and heard.resolve("fries") == "fries"
    assert heard.ref_for("cola") == "#1" and heard.ref_for("priciest_drink") == "priciest_#3"
    assert heard.ref_for("fries") == "fries"


def test_the_shape_keeps_the_kind_of_each_word_not_the_item_so_languages_meet(hints):
    assert hints.read("把可乐换成雪碧").shape == "把 § CHANGE §"
    assert "CHANGE" in hints.read("change the cola to a sprite").shape.split()
    assert "§" in hints.read("콜라를 사이다로 바꿔요").shape


# Requests the parser hands to the model (none of them is in the benchmark sets).
@pytest.mark.parametrize("text, lines, cart", [
    ("could the sprite be a coke instead?", [("cider", 2)], {"cola": 2}),
    ("사이다 대신 콜라로 주실래요", [("cider", 1)], {"cola": 1}),
    ("雪碧不要了，换可乐", [("cider", 1)], {"cola": 1}),
    ("all of the drinks with less ice", [("cola", 1), ("cider", 1), ("fries", 1)],
     {"cola(ice=less)": 1, "cider(ice=less)": 1, "fries": 1}),
    ("whatever is cheapest among the sides", [], {"fries": 1}),
    ("饮料里最便宜的来一杯", [], {"cola": 1}),
    ("사이드 메뉴로 제일 비싼 것 하나", [], {"cheese_sticks": 1}),
    ("I'd like all that again", [("cheese_sticks", 1), ("cider", 2)], {"cheese_sticks": 2, "cider": 4}),
    ("everything but the fries can go", [("fries", 1), ("cola", 1), ("cheeseburger", 1)], {"fries": 1}),
    ("콜라는 다섯 잔으로 맞춰 주세요", [("cola", 2)], {"cola": 5}),
    ("scrap the most recent item", [("cheeseburger", 1), ("cider", 1)], {"cheeseburger": 1}),
    ("make the sprite a cola, a large one", [("cider", 1)], {"cola(size=large)": 1}),
    ("a regular sprite please, not a large one", [("cider", 1, {"size": "large"})], {"cider": 1}),
    ("double the cheese sticks", [("cheese_sticks", 2)], {"cheese_sticks": 4}),
    ("a coke and a sprite, neither with ice", [], {"cola(ice=none)": 1, "cider(ice=none)": 1}),
    ("turn the side into cheese sticks", [("cheeseburger", 1), ("fries", 1)], {"cheeseburger": 1, "cheese_sticks": 1}),
    ("지금까지 시킨 거 전부 똑같이 하나씩 더", [("cola", 1), ("fries", 2)], {"cola": 2, "fries": 4}),
    ("사이다 한 잔 더요, 이번엔 얼음 없이", [("cider", 1)], {"cider": 1, "cider(ice=none)": 1}),
    ("three burgers is too many, two will do", [("shrimp_burger", 3)], {"shrimp_burger": 2}),
    ("最便宜的饮料和最贵的饮料各一杯", [], {"cola": 1, "americano": 1}),
    ("芝士条再来三份一样的", [("cheese_sticks", 1)], {"cheese_sticks": 4}),
    ("음료만 놔두고 다 지워 주세요", [("cola", 1), ("fries", 1)], {"cola": 1}),
])
def test_a_reading_run_as_changes_makes_the_order_asked_for(menu, hints, reader, text, lines, cart):
    order = _order(menu, *lines)
    heard = hints.read(text)
    reading = reader.read(text, heard, order)
    assert reading is not None, heard.shape
    changes = [Change.model_validate({**c, "target": heard.resolve(c.get("target")), "item": heard.resolve(c.get("item"))})
               for c in reading]
    results = execute_all(order, menu, commands_for(order, menu, changes))
    assert all(r.ok for r in results)
    got = {}
    for line in order.lines:
        shown = ",".join(f"{k}={v}" for k, v in sorted(line.options.items()) if v != menu.options[k].default)
        got[line.item_id + (f"({shown})" if shown else "")] = line.quantity
    assert got == cart, reading


@pytest.mark.parametrize("text", ["what is the cheapest drink?", "콜라는 얼마예요?", "有什么推荐的吗", "hello there",
                                  "hmm, honestly I am not sure about all this", "no, not yet"])
def test_a_question_or_small_talk_gets_no_reading(hints, reader, menu, text):
    order = _order(menu, ("cola", 1))
    assert reader.read(text, hints.read(text), order) is None


def test_cue_words_are_found_in_the_three_languages():
    assert cues("the same again") >= {"again"} and cues("똑같이 하나 더") >= {"again"} and cues("再来一份一样的") >= {"again"}
    assert "pricey" in cues("제일 비싼 거") and "cheap" not in cues("제일 비싼 거") and "cheap" in cues("제일 싼 거")
    assert cues("the least expensive drink") & {"cheap", "pricey"} == {"cheap"}


def test_the_worked_examples_fit_the_menu_and_each_one_runs_cleanly_on_its_order(menu, hints):
    examples = load_examples(menu, hints)
    assert len(examples) >= 60 and {e.lang for e in examples} == {"ko", "en", "zh"}
    for e in examples:
        if not e.answer.startswith("{"):
            continue
        command = json.loads(e.answer)
        if command["tool"] != "change_order":
            continue
        order = e.order.model_copy(deep=True)
        changes = [Change.model_validate({**c, "target": e.heard.resolve(c.get("target")),
                                          "item": e.heard.resolve(c.get("item"))})
                   for c in command["arguments"]["changes"]]
        results = execute_all(order, menu, commands_for(order, menu, changes))
        assert results and all(r.ok for r in results), (e.say, [(r.command, r.reason) for r in results])


def test_no_worked_example_and_no_prompt_example_is_a_benchmark_sentence(menu, hints):
    said = set()
    for name in ("kiosk_llm_turns.jsonl", "kiosk_llm_heldout.jsonl", "kiosk_llm_fresh.jsonl",
                 "kiosk_llm_fresh2.jsonl", "kiosk_llm_fresh3.jsonl",
                 "kiosk_llm_fresh4.jsonl"):
        said |= {json.loads(line)["say"] for line in (BENCHMARKS / name).read_text().splitlines() if line.strip()}
    assert not said & {e.say for e in load_examples(menu, hints)}
    prompt_examples = {json.loads(line.split(" [")[0].split(" →")[0]) for line in _EXAMPLES.splitlines()[1:]}
    assert len(prompt_examples) >= 5 and not said & prompt_examples


def test_the_nearest_examples_share_the_requests_shape_and_the_nearest_comes_last(menu, hints):
    examples = load_examples(menu, hints)
    heard = hints.read("把芝士条换成薯条")
    shown = nearest(examples, heard, "zh")
    assert len(shown) == 2
    assert '"do":"replace"' in shown[-1].answer
    assert features(shown[-1].heard.shape) & features(heard.shape)


def test_a_request_line_reads_like_the_examples(menu, hints):
    heard = hints.read("swap the coke for a sprite")
    line = turn_line("swap the coke for a sprite", "[Current order: 1 cola.]", heard,
                     [{"do": "replace", "target": "#1", "item": "#2"}])
    assert line == ('"swap the coke for a sprite" [Current order: 1 cola.] [Words: #1 "coke" = cola, '
                    '#2 "sprite" = cider.] [Reading: [{"do":"replace","target":"#1","item":"#2"}]] →')
    assert reading_note(None) is None


def test_an_item_read_exactly_is_not_padded_into_a_longer_one_but_typos_still_match(hints):
    assert hints.read("把芝士汉堡换成鲜虾汉堡").ids() == ["cheeseburger", "shrimp_burger"]
    assert hints.read("감자튀긴 하나 주세요").ids() == ["fries"]


@pytest.mark.parametrize("text", ["double that for me", "치즈스틱은 반만 할게요", "可乐一共要四杯", "take two of the colas off",
                                  "everything but the cola", "two fewer fries"])
def test_words_the_parser_does_not_read_send_the_turn_to_the_model(text):
    assert parser_blind(text)


def test_plain_orders_the_parser_places_stay_with_the_parser(parser):
    sentences = [json.loads(line) for line in (Path(__file__).with_name("utterances.jsonl")).read_text().splitlines()]
    placed = [t["say"] for conv in sentences for t in conv["turns"] if parser.parse(t["say"]).understood]
    assert len(placed) > 200
    assert [s for s in placed if parser_blind(s)] == []
