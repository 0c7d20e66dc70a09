"""The command registry and `execute`: argument models, atomic refusals, changes, localized messages."""

from __future__ import annotations

import pytest

from chatkiosk.agents.kiosk.commands import COMMANDS, Change, execute, execute_all, refusal_message
from chatkiosk.agents.kiosk.order import Order


def test_registry_has_the_nine_commands():
    assert list(COMMANDS) == ["add_item", "remove_item", "set_quantity", "set_item_option", "set_dine_option",
                              "show_order", "checkout", "pay", "cancel_order"]
    for command in COMMANDS.values():
        assert command.description
        schema = command.args.model_json_schema()
        assert schema["type"] == "object"
        assert schema.get("additionalProperties") is False


def test_pay_schema_lists_the_methods():
    schema = COMMANDS["pay"].args.model_json_schema()
    assert schema["properties"]["method"]["enum"] == ["card", "cash", "mobile"]
    assert schema["required"] == ["method"]


def test_add_reports_the_change(menu):
    order = Order()
    result = execute(order, menu, "add_item", {"item_id": "cola", "quantity": 2, "options": {"size": "large"}})
    assert result.ok and result.args == {"item_id": "cola", "quantity": 2, "options": {"size": "large"}}
    assert result.changes == [Change("added", "cola", 2, {"size": "large", "ice": "normal"})]


def test_set_option_reports_removed_and_added(menu, run):
    order = Order()
    run(order, "add_item", item_id="fries", quantity=2)
    result = run(order, "set_item_option", item_id="fries", options={"size": "large"})
    assert {(c.kind, c.options["size"], c.quantity) for c in result.changes} == {
        ("removed", "regular", 2), ("added", "large", 2)}


def test_a_refusal_in_the_middle_leaves_no_half_change(menu, run):
    order = Order()
    run(order, "add_item", item_id="cola", quantity=25)
    before = order.to_state()
    # the merge would exceed the limit only after the state moved: nothing may stick
    result = execute(order, menu, "add_item", {"item_id": "cola", "quantity": 10})
    assert result.reason == "quantity_too_large" and order.to_state() == before


def test_execute_all_runs_on_past_refusals(menu):
    order = Order()
    results = execute_all(order, menu, [("add_item", {"item_id": "pizza"}), ("add_item", {"item_id": "fries"}),
                                        ("checkout", {})])
    assert [r.ok for r in results] == [False, True, True]
    assert order.state.value == "option"


def test_order_is_changed_in_place(menu):
    order = Order()
    same = order
    execute(order, menu, "add_item", {"item_id": "fries"})
    assert same.lines and same is order


def test_args_may_be_none(menu, run):
    order = Order()
    run(order, "add_item", item_id="fries")
    assert execute(order, menu, "checkout", None).ok


@pytest.mark.parametrize(
    ("lang", "text"),
    [("ko", "치즈버거"), ("en", "Cheeseburger"), ("zh", "芝士汉堡")],
)
def test_refusal_messages_name_the_item_in_the_customer_language(menu, lang, text):
    result = execute(Order(), menu, "add_item", {"item_id": "cheeseburger", "options": {"size": "large"}}, lang)
    assert text in result.message


@pytest.mark.parametrize("lang", ["ko", "en", "zh", "fr"])
def test_every_refusal_has_a_message_in_every_language(menu, lang):
    from chatkiosk.agents.kiosk import commands

    for code in commands._REFUSALS:
        message = refusal_message(code, {"item": "cola", "option": "size", "quantity": 2, "max": 30,
                                         "detail": "x", "command": "y"}, menu, lang)
        assert message and "{" not in message


def test_invalid_option_message_lists_the_choices(menu):
    result = execute(Order(), menu, "add_item", {"item_id": "cola", "options": {"ice": "lots"}}, "en")
    assert "normal ice" in result.message and "no ice" in result.message


def test_korean_particles_follow_the_word(menu):
    from chatkiosk.agents.kiosk.commands import josa

    result = execute(Order(), menu, "add_item", {"item_id": "cheeseburger", "options": {"size": "large"}}, "ko")
    assert result.message == "치즈버거는 사이즈를 고를 수 없어요."
    assert josa("감자튀김은(는)") == "감자튀김은" and josa("콜라(으)로") == "콜라로" and josa("1개(으)로") == "1개로"
    assert josa("불고기버거이(가) 없어요") == "불고기버거가 없어요" and josa("세트(으)로") == "세트로"
