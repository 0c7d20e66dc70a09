"""The order state machine: every transition, every refusal, line keying, public and stored shapes."""

from __future__ import annotations

import pytest

from chatkiosk.agents.kiosk.commands import execute
from chatkiosk.agents.kiosk.order import Order, OrderState


def at(state: str, run, dine: str | None = None) -> Order:
    """An order brought to `state` through commands only."""
    order = Order()
    if state == "greet":
        return order
    run(order, "add_item", item_id="cola", quantity=2)
    if state == "option":
        run(order, "checkout")
    elif state == "pay":
        run(order, "set_dine_option", dine=dine or "takeout")
        run(order, "checkout")
    elif state == "done":
        run(order, "set_dine_option", dine=dine or "takeout")
        run(order, "checkout")
        run(order, "pay", method="card")
    elif dine:
        run(order, "set_dine_option", dine=dine)
    assert order.state.value == state
    return order


# --- transitions -------------------------------------------------------------------------


def test_first_item_moves_greet_to_order(run):
    order = Order()
    result = run(order, "add_item", item_id="bulgogi_burger", quantity=2)
    assert (result.state_before, result.state_after) == (OrderState.GREET, OrderState.ORDER)


def test_checkout_without_dine_goes_to_option(run):
    order = at("order", run)
    run(order, "checkout")
    assert order.state is OrderState.OPTION


def test_checkout_with_dine_goes_to_pay(run):
    order = at("order", run, dine="dine_in")
    run(order, "checkout")
    assert order.state is OrderState.PAY


def test_dine_choice_in_option_goes_to_pay(run):
    order = at("option", run)
    run(order, "set_dine_option", dine="dine_in")
    assert order.state is OrderState.PAY and order.dine == "dine_in"


@pytest.mark.parametrize("state", ["greet", "order", "pay"])
def test_dine_choice_elsewhere_keeps_the_state(run, state):
    order = at(state, run)
    run(order, "set_dine_option", dine="dine_in")
    assert order.state.value == state and order.dine == "dine_in"


def test_pay_places_the_order(menu, run):
    order = at("pay", run)
    result = run(order, "pay", method="mobile")
    assert order.state is OrderState.DONE and order.payment == "mobile"
    assert result.outcome == "place_order"
    order.order_number = 17  # the caller's job
    assert order.to_public(menu)["order_number"] == 17


def test_checkout_in_pay_is_a_no_op(run):
    order = at("pay", run)
    result = run(order, "checkout")
    assert order.state is OrderState.PAY and result.changes == []


@pytest.mark.parametrize("state", ["option", "pay"])
@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("add_item", {"item_id": "fries"}),
        ("remove_item", {"item_id": "cola", "quantity": 1}),
        ("set_quantity", {"item_id": "cola", "quantity": 3}),
        ("set_item_option", {"item_id": "cola", "options": {"size": "large"}}),
    ],
)
def test_changes_in_option_or_pay_go_back_to_order(run, state, command, args):
    order = at(state, run)
    run(order, command, **args)
    assert order.state is OrderState.ORDER


def test_after_done_the_next_item_starts_a_new_order(run):
    order = at("done", run)
    order.order_number = 5
    run(order, "add_item", item_id="fries")
    assert order.state is OrderState.ORDER
    assert [(l.item_id, l.quantity) for l in order.lines] == [("fries", 1)]
    assert order.dine is None and order.order_number is None and order.payment is None


@pytest.mark.parametrize("state", ["order", "option", "pay"])
def test_cancel_empties_and_returns_to_greet(run, state):
    order = at(state, run)
    run(order, "cancel_order")
    assert order.state is OrderState.GREET and order.lines == [] and order.dine is None


def test_cancel_in_greet_with_only_a_dine_choice(run):
    order = Order()
    run(order, "set_dine_option", dine="takeout")
    run(order, "cancel_order")
    assert order.dine is None


def test_removing_the_last_item_stays_in_order(run):
    order = at("order", run)
    run(order, "remove_item", item_id="cola")
    assert order.state is OrderState.ORDER and order.lines == []


def test_show_order_changes_nothing(run):
    order = at("option", run)
    before = order.to_state()
    run(order, "show_order")
    assert order.to_state() == before


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "command", "args", "reason"),
    [
        ("greet", "add_item", {"item_id": "pizza"}, "unknown_item"),
        ("greet", "add_item", {"item_id": "cheeseburger", "options": {"size": "large"}}, "option_not_available"),
        ("greet", "add_item", {"item_id": "cola", "options": {"ice": "lots"}}, "invalid_option_value"),
        ("greet", "add_item", {"item_id": "cola", "quantity": 31}, "quantity_too_large"),
        ("order", "add_item", {"item_id": "cola", "quantity": 29}, "quantity_too_large"),
        ("greet", "add_item", {"item_id": "cola", "quantity": 0}, "invalid_args"),
        ("greet", "add_item", {"item_id": "cola", "colour": "red"}, "invalid_args"),
        ("greet", "remove_item", {"item_id": "cola"}, "not_in_order"),
        ("order", "remove_item", {"item_id": "fries"}, "not_in_order"),
        ("order", "remove_item", {"item_id": "pizza"}, "unknown_item"),
        ("order", "remove_item", {"item_id": "cola", "quantity": 3}, "not_enough_in_order"),
        ("order", "remove_item", {"item_id": "cola", "options": {"size": "large"}}, "not_in_order"),
        ("order", "set_quantity", {"item_id": "fries", "quantity": 2}, "not_in_order"),
        ("order", "set_quantity", {"item_id": "cola", "quantity": 31}, "quantity_too_large"),
        ("order", "set_quantity", {"item_id": "cola", "quantity": -1}, "invalid_args"),
        ("order", "set_item_option", {"item_id": "cola", "options": {"temperature": "hot"}}, "option_not_available"),
        ("order", "set_item_option", {"item_id": "cola", "options": {"size": "xl"}}, "invalid_option_value"),
        ("order", "set_item_option", {"item_id": "cola", "options": {"size": "large"}, "quantity": 3},
         "not_enough_in_order"),
        ("order", "set_item_option", {"item_id": "cola", "options": {}}, "invalid_args"),
        ("greet", "set_dine_option", {"dine": "car"}, "invalid_args"),
        ("greet", "checkout", {}, "empty_order"),
        ("option", "checkout", {}, "dine_required"),
        ("greet", "pay", {"method": "card"}, "empty_order"),
        ("order", "pay", {"method": "card"}, "checkout_first"),
        ("option", "pay", {"method": "card"}, "dine_required"),
        ("pay", "pay", {"method": "bitcoin"}, "invalid_args"),
        ("greet", "cancel_order", {}, "empty_order"),
        ("done", "remove_item", {"item_id": "cola"}, "order_placed"),
        ("done", "set_quantity", {"item_id": "cola", "quantity": 1}, "order_placed"),
        ("done", "set_item_option", {"item_id": "cola", "options": {"size": "large"}}, "order_placed"),
        ("done", "set_dine_option", {"dine": "dine_in"}, "order_placed"),
        ("done", "checkout", {}, "order_placed"),
        ("done", "pay", {"method": "cash"}, "order_placed"),
        ("done", "cancel_order", {}, "order_placed"),
        ("order", "fly_away", {}, "unknown_command"),
    ],
)
def test_refusals_change_nothing(menu, run, state, command, args, reason):
    order = at(state, run)
    before = order.to_state()
    for lang in ("ko", "en", "zh"):
        result = execute(order, menu, command, args, lang)
        assert not result.ok and result.reason == reason
        assert result.message and "{" not in result.message
    assert order.to_state() == before


def test_set_quantity_on_two_lines_is_ambiguous(menu, run):
    order = Order()
    run(order, "add_item", item_id="cola")
    run(order, "add_item", item_id="cola", options={"size": "large"})
    result = execute(order, menu, "set_quantity", {"item_id": "cola", "quantity": 3})
    assert result.reason == "ambiguous_line"
    run(order, "set_quantity", item_id="cola", quantity=3, options={"size": "large"})
    assert {(l.options["size"], l.quantity) for l in order.lines} == {("regular", 1), ("large", 3)}


# --- lines -------------------------------------------------------------------------------


def test_same_item_same_options_merge_and_different_options_split(run):
    order = Order()
    run(order, "add_item", item_id="cola")
    run(order, "add_item", item_id="cola", options={"size": "regular", "ice": "normal"})
    run(order, "add_item", item_id="cola", options={"size": "large"})
    assert [(l.quantity, l.options["size"]) for l in order.lines] == [(2, "regular"), (1, "large")]


def test_remove_with_quantity_takes_the_newest_lines_first(run):
    order = Order()
    run(order, "add_item", item_id="cola", quantity=2)
    run(order, "add_item", item_id="cola", options={"ice": "none"})
    run(order, "remove_item", item_id="cola", quantity=2)
    assert [(l.quantity, l.options["ice"]) for l in order.lines] == [(1, "normal")]


def test_remove_without_quantity_removes_every_matching_line(run):
    order = Order()
    run(order, "add_item", item_id="cola", quantity=2)
    run(order, "add_item", item_id="cola", options={"ice": "none"})
    run(order, "add_item", item_id="fries")
    run(order, "remove_item", item_id="cola")
    assert [l.item_id for l in order.lines] == ["fries"]


def test_set_item_option_splits_and_merges(run):
    order = Order()
    run(order, "add_item", item_id="cola", quantity=3)
    run(order, "set_item_option", item_id="cola", options={"size": "large"}, quantity=1)
    assert sorted((l.options["size"], l.quantity) for l in order.lines) == [("large", 1), ("regular", 2)]
    run(order, "set_item_option", item_id="cola", options={"size": "large"})
    assert [(l.options["size"], l.quantity) for l in order.lines] == [("large", 3)]


def test_set_quantity_zero_removes_the_line(run):
    order = at("order", run)
    run(order, "set_quantity", item_id="cola", quantity=0)
    assert order.lines == [] and order.state is OrderState.ORDER


def test_last_line_follows_what_was_touched(run):
    order = Order()
    run(order, "add_item", item_id="cola")
    run(order, "add_item", item_id="fries")
    run(order, "set_quantity", item_id="cola", quantity=2)
    assert order.last_line().item_id == "cola"


# --- shapes ------------------------------------------------------------------------------


def test_to_public_shape(menu, run):
    order = Order()
    run(order, "add_item", item_id="cola", quantity=2, options={"size": "large"})
    run(order, "add_item", item_id="bulgogi_burger")
    run(order, "set_dine_option", dine="takeout")
    assert order.to_public(menu, "ko") == {
        "state": "order",
        "items": [
            {"item_id": "cola", "name": "콜라", "quantity": 2, "options": {"size": "large", "ice": "normal"},
             "unit_price": 2300, "line_total": 4600},
            {"item_id": "bulgogi_burger", "name": "불고기버거", "quantity": 1, "options": {},
             "unit_price": 4800, "line_total": 4800},
        ],
        "dine": "takeout",
        "total": 9400,
        "order_number": None,
    }


def test_state_round_trip(menu, run):
    import json

    order = at("pay", run)
    run(order, "add_item", item_id="americano", options={"temperature": "iced"})
    stored = json.loads(json.dumps(order.to_state()))
    again = Order.from_state(stored)
    assert again == order and again.to_public(menu, "en") == order.to_public(menu, "en")
    assert Order.from_state(None) == Order()
