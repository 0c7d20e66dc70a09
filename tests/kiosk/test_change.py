"""`change_order`: operations on targets, worked out as the nine commands against the order."""

from __future__ import annotations

import json

import pytest

from chatkiosk.agents.kiosk.change import Change, commands_for, decoding_schema, items_to_add, pick, targets
from chatkiosk.agents.kiosk.commands import execute, execute_all
from chatkiosk.agents.kiosk.order import Order


def _order(menu, *lines) -> Order:
    order = Order()
    for item_id, quantity, options in lines:
        assert execute(order, menu, "add_item", {"item_id": item_id, "quantity": quantity, "options": options}).ok
    return order


def _apply(menu, order: Order, *changes: dict) -> tuple[dict, list]:
    commands = commands_for(order, menu, [Change.model_validate(c) for c in changes])
    results = execute_all(order, menu, commands)
    cart = {}
    for line in order.lines:
        shown = ",".join(f"{k}={v}" for k, v in sorted(line.options.items()) if v != menu.options[k].default)
        cart[line.item_id + (f"({shown})" if shown else "")] = line.quantity
    return cart, results


@pytest.mark.parametrize("lines, change, cart", [
    ([("cola", 2, {})], {"do": "replace", "target": "cola", "item": "cider"}, {"cider": 2}),
    ([("cola", 2, {"size": "large"})], {"do": "replace", "target": "cola", "item": "americano"}, {"americano": 2}),
    ([("cola", 3, {"ice": "less"})], {"do": "replace", "target": "cola", "item": "cider", "quantity": 1},
     {"cola(ice=less)": 2, "cider(ice=less)": 1}),
    ([("fries", 1, {}), ("cola", 1, {})], {"do": "replace", "target": "last", "item": "cheese_sticks"},
     {"fries": 1, "cheese_sticks": 1}),
    # Sent the wrong way round (the coffee the customer wants named as the target): the order has
    # only the cola, so the only replacement that can be meant is the cola by the coffee.
    ([("cola", 2, {})], {"do": "replace", "target": "americano", "item": "cola"}, {"americano": 2}),
    ([("fries", 3, {})], {"do": "remove", "target": "fries", "quantity": 1}, {"fries": 2}),
    ([("shrimp_burger", 1, {}), ("cola", 1, {}), ("cider", 1, {})], {"do": "remove", "target": "drinks"},
     {"shrimp_burger": 1}),
    ([("cheeseburger", 1, {}), ("fries", 1, {})], {"do": "remove", "target": "last"}, {"cheeseburger": 1}),
    ([("cola", 1, {})], {"do": "set_quantity", "target": "cola", "quantity": 4}, {"cola": 4}),
    ([("cola", 1, {}), ("fries", 2, {})], {"do": "repeat", "target": "all"}, {"cola": 2, "fries": 4}),
    ([("cheese_sticks", 1, {}), ("cola", 1, {})], {"do": "repeat", "target": "cheese_sticks"},
     {"cheese_sticks": 2, "cola": 1}),
    ([("cola", 4, {})], {"do": "halve", "target": "cola"}, {"cola": 2}),
    # Everything large: only the lines that have a size get it; the burger is left alone.
    ([("cheeseburger", 1, {}), ("fries", 1, {}), ("cola", 1, {})],
     {"do": "set_option", "target": "all", "options": {"size": "large"}},
     {"cheeseburger": 1, "fries(size=large)": 1, "cola(size=large)": 1}),
    ([("cola", 1, {}), ("cider", 1, {}), ("americano", 1, {})],
     {"do": "set_option", "target": "drinks", "options": {"ice": "none"}},
     {"cola(ice=none)": 1, "cider(ice=none)": 1, "americano": 1}),
    ([("americano", 2, {"temperature": "iced"})],
     {"do": "set_option", "target": "americano", "options": {"temperature": "hot"}, "quantity": 1},
     {"americano(temperature=iced)": 1, "americano": 1}),
    ([("shrimp_burger", 1, {}), ("fries", 1, {}), ("cola", 1, {})], {"do": "keep_only", "target": "burgers"},
     {"shrimp_burger": 1}),
    ([], {"do": "add", "item": "cheapest_burger"}, {"shrimp_burger": 1}),
    ([], {"do": "add", "item": "priciest_side", "quantity": 2}, {"cheese_sticks": 2}),
    ([], {"do": "add", "item": "each_side"}, {"fries": 1, "cheese_sticks": 1}),
    ([], {"do": "add", "item": "cider", "options": {"size": "large", "temperature": "hot"}}, {"cider(size=large)": 1}),
])
def test_each_operation_becomes_commands_that_make_the_change(menu, lines, change, cart):
    got, results = _apply(menu, _order(menu, *lines), change)
    assert got == cart
    assert all(r.ok for r in results), [(r.command, r.reason) for r in results]


def test_changes_apply_in_turn_each_to_the_order_the_ones_before_left(menu):
    order = _order(menu, ("cola", 1, {}), ("fries", 1, {}))
    got, _ = _apply(menu, order, {"do": "replace", "target": "cola", "item": "cider"}, {"do": "remove", "target": "fries"},
                    {"do": "set_option", "target": "cider", "options": {"size": "large"}})
    assert got == {"cider(size=large)": 1}


@pytest.mark.parametrize("change, reason", [
    ({"do": "remove", "target": "cheeseburger"}, "not_in_order"),
    ({"do": "replace", "target": "cola", "item": "pizza"}, "unknown_item"),
    ({"do": "add", "item": "pizza"}, "unknown_item"),
    ({"do": "set_option", "target": "fries", "options": {"ice": "none"}}, "option_not_available"),
])
def test_a_change_that_does_not_fit_is_refused_by_the_counter_and_changes_nothing(menu, change, reason):
    order = _order(menu, ("fries", 1, {}), ("cola", 1, {}))
    before = order.model_dump()
    _, results = _apply(menu, order, change)
    assert [r.reason for r in results if not r.ok] == [reason]
    assert order.model_dump()["lines"] == before["lines"]


def test_picks_name_the_cheapest_priciest_or_every_item_of_a_category(menu):
    assert pick(menu, "cheapest_drink") == ["cola"]  # the first of the cheapest (cola and cider cost the same)
    assert pick(menu, "priciest_burger") == ["double_cheeseburger"]
    assert pick(menu, "each_burger") == ["bulgogi_burger", "shrimp_burger", "cheeseburger", "double_cheeseburger"]
    assert pick(menu, "cheapest_pizza") == ["cheapest_pizza"]  # no such category: refused later as unknown


def test_the_decoding_schema_names_only_menu_ids_targets_and_option_values(menu):
    schema = decoding_schema(menu)
    text = json.dumps(schema)
    variants = schema["properties"]["changes"]["items"]["anyOf"]
    assert {v["properties"]["do"]["const"] for v in variants} == {
        "add", "remove", "set_quantity", "repeat", "halve", "set_option", "replace", "keep_only"}
    for v in variants:
        props = v["properties"]
        if "target" in props:
            assert props["target"]["enum"] == targets(menu)
        if "options" in props:
            assert set(props["options"]["properties"]) == set(menu.options)
            assert props["options"]["additionalProperties"] is False
    add = next(v for v in variants if v["properties"]["do"]["const"] == "add")
    assert add["properties"]["item"]["enum"] == items_to_add(menu)
    assert "#1" in targets(menu) and "cheapest_#1" in items_to_add(menu)
    assert '"pizza"' not in text


def test_the_decoding_schema_compiles_to_a_llama_cpp_grammar(menu):
    pytest.importorskip("llama_cpp")
    from chatkiosk.llm.local import command_grammar

    gbnf = command_grammar(decoding_schema(menu))
    assert "root ::=" in gbnf and "cheapest_#1" in gbnf.replace('\\"', '"')
    two = command_grammar(decoding_schema(menu, refs=2)).replace('\\"', '"')
    assert "cheapest_#2" in two and "#3" not in two  # only the words this turn has
    none = command_grammar(decoding_schema(menu, refs=0)).replace('\\"', '"')
    assert "root ::=" in none and "#" not in none


def test_a_change_is_completed_from_the_kiosks_reading_of_the_same_change_and_only_then():
    from chatkiosk.agents.kiosk.change import completed

    one_iced = [{"do": "set_option", "target": "#1", "options": {"temperature": "iced"}, "quantity": 1}]
    model = Change.model_validate({"do": "set_option", "target": "#1", "options": {"temperature": "iced"}})
    assert completed(model, one_iced).quantity == 1  # "one of the two coffees": the model left it out
    said = model.model_copy(update={"quantity": 2})
    assert completed(said, one_iced).quantity == 2  # what the model gave is kept
    other = Change.model_validate({"do": "remove", "target": "#1"})
    assert completed(other, one_iced) == other  # another change: the reading says nothing of it
    large = [{"do": "replace", "target": "#1", "item": "#2", "options": {"size": "large"}}]
    swap = Change.model_validate({"do": "replace", "target": "#1", "item": "#2"})
    assert completed(swap, large).options == {"size": "large"}
    assert completed(swap.model_copy(update={"item": "#3"}), large).options == {}  # another item
