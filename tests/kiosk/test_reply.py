"""The kiosk's reply: what changed, refusals, the total and the next step, in ko/en/zh."""

from __future__ import annotations

import pytest

from chatkiosk.agents.kiosk.commands import execute, execute_all
from chatkiosk.agents.kiosk.order import Order
from chatkiosk.agents.kiosk.reply import compose_reply, describe, money


def turn(menu, order, calls, lang):
    return compose_reply(execute_all(order, menu, calls, lang), order, menu, lang)


@pytest.mark.parametrize(
    ("lang", "added", "total", "next_step"),
    [
        ("ko", "불고기버거 2개, 콜라(라지) 1개 담았어요.", "합계 11,900원", "계산할게요"),
        ("en", "Added 2 × Bulgogi Burger, 1 × Cola (Coke) (large).", "₩11,900", "that's all"),
        ("zh", "已加入2份烤肉汉堡、1份可乐(大杯)。", "11,900韩元", "就这些"),
    ],
)
def test_added_items_total_and_next_step(menu, lang, added, total, next_step):
    order = Order()
    text = turn(menu, order, [("add_item", {"item_id": "bulgogi_burger", "quantity": 2}),
                              ("add_item", {"item_id": "cola", "options": {"size": "large"}})], lang)
    assert text.startswith(added) and total in text and next_step in text


@pytest.mark.parametrize(
    ("lang", "ask"),
    [("ko", "포장하시나요"), ("en", "For here or to go?"), ("zh", "堂食还是打包")],
)
def test_checkout_asks_for_the_dine_choice(menu, lang, ask):
    order = Order()
    execute(order, menu, "add_item", {"item_id": "fries"})
    assert ask in turn(menu, order, [("checkout", {})], lang)


@pytest.mark.parametrize(
    ("lang", "ask"),
    [("ko", "어떻게 결제하시겠어요"), ("en", "card, cash or mobile"), ("zh", "刷卡、现金还是手机支付")],
)
def test_pay_state_asks_how_to_pay(menu, lang, ask):
    order = Order()
    execute(order, menu, "add_item", {"item_id": "fries"})
    text = turn(menu, order, [("set_dine_option", {"dine": "takeout"}), ("checkout", {})], lang)
    assert ask in text and ("2,000" in text)


@pytest.mark.parametrize(
    ("lang", "done"),
    [("ko", "주문번호는 42번"), ("en", "Your order number is 42."), ("zh", "取餐号是42")],
)
def test_done_gives_the_order_number(menu, lang, done):
    order = Order()
    execute_all(order, menu, [("add_item", {"item_id": "fries"}), ("set_dine_option", {"dine": "dine_in"}),
                              ("checkout", {})])
    results = execute_all(order, menu, [("pay", {"method": "cash"})], lang)
    order.order_number = 42
    assert done in compose_reply(results, order, menu, lang)


def test_refusal_reason_is_in_the_reply(menu):
    order = Order()
    text = turn(menu, order, [("add_item", {"item_id": "cheeseburger", "options": {"size": "large"}})], "en")
    assert "Cheeseburger has no size choice." in text and "What would you like?" in text


def test_removed_changed_cancelled_and_shown(menu):
    order = Order()
    turn(menu, order, [("add_item", {"item_id": "cola", "quantity": 2})], "ko")
    assert "콜라 1개 뺐어요" in turn(menu, order, [("remove_item", {"item_id": "cola", "quantity": 1})], "ko")
    assert "콜라(라지) 1개로 바꿨어요" in turn(
        menu, order, [("set_item_option", {"item_id": "cola", "options": {"size": "large"}})], "ko")
    assert "Your order: 1 × Cola (Coke) (large)." in turn(menu, order, [("show_order", {})], "en")
    assert "订单已取消" in turn(menu, order, [("cancel_order", {})], "zh")


def test_describe_and_money(menu):
    assert describe(menu, "americano", 2, {"temperature": "iced"}, "ko") == "아메리카노(아이스) 2개"
    assert describe(menu, "americano", 1, {"temperature": "hot"}, "en") == "1 × Americano"
    assert money(12300, "ko") == "12,300원" and money(12300, "en") == "₩12,300"


def test_unknown_language_falls_back_to_english(menu):
    order = Order()
    assert "Added 1 × French Fries." in turn(menu, order, [("add_item", {"item_id": "fries"})], "fr")
