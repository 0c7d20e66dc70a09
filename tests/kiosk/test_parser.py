"""The rule-based parser, in Korean, English, Chinese and mixed: orders, changes, dine, pay, and deferrals."""

from __future__ import annotations

import pytest

from chatkiosk.agents.kiosk.commands import execute_all
from chatkiosk.agents.kiosk.order import Order


def talk(parser, menu, *utterances: str) -> Order:
    """Run utterances in turn through the parser and the commands; every one must be understood."""
    order = Order()
    for text in utterances:
        result = parser.parse(text, order)
        assert result.understood, (text, result.reason, result.unknown)
        execute_all(order, menu, result.as_calls(), result.lang)
    return order


def lines(order: Order, menu) -> set[tuple]:
    """Lines as (item_id, quantity, non-default options) for compact comparison."""
    out = set()
    for line in order.lines:
        chosen = tuple(sorted((k, v) for k, v in line.options.items() if v != menu.options[k].default))
        chosen = tuple(sorted(chosen))
        out.add((line.item_id, line.quantity, chosen))
    return out


L, S, I, T = ("size", "large"), ("size", "regular"), ("ice", "none"), ("temperature", "iced")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Korean
        ("불고기버거 2개랑 콜라 주세요", {("bulgogi_burger", 2, ()), ("cola", 1, ())}),
        ("새우 버거 하나요", {("shrimp_burger", 1, ())}),
        ("감튀 세 개", {("fries", 3, ())}),
        ("아아 한 잔", {("americano", 1, (T,))}),
        ("콜라 큰 거 두 잔", {("cola", 2, (L,))}),
        ("사이다 얼음 빼고 하나", {("cider", 1, (I,))}),
        ("사이다 얼음 적게 주세요", {("cider", 1, (("ice", "less"),))}),
        ("따뜻한 아메리카노 두 잔", {("americano", 2, ())}),
        ("아이스 아메리카노 하나", {("americano", 1, (T,))}),
        ("더블치즈버거 하나, 치즈스틱 두 개, 콜라 라지 하나",
         {("double_cheeseburger", 1, ()), ("cheese_sticks", 2, ()), ("cola", 1, (L,))}),
        ("불고기벅거 하나", {("bulgogi_burger", 1, ())}),
        ("치즈 버거 둘", {("cheeseburger", 2, ())}),
        ("새우버거 한 개랑 콜라 한 잔이요", {("shrimp_burger", 1, ()), ("cola", 1, ())}),
        ("감자튀김 라지 하나 주세요", {("fries", 1, (L,))}),
        ("콜라 2잔 사이다 1잔", {("cola", 2, ()), ("cider", 1, ())}),
        # English
        ("two cheeseburgers and a coke", {("cheeseburger", 2, ()), ("cola", 1, ())}),
        ("a large fries", {("fries", 1, (L,))}),
        ("3 sprites with no ice", {("cider", 3, (I,))}),
        ("one iced americano", {("americano", 1, (T,))}),
        ("a double cheeseburger, two cheese sticks and a large coke with less ice",
         {("double_cheeseburger", 1, ()), ("cheese_sticks", 2, ()), ("cola", 1, (("ice", "less"), L))}),
        ("chesseburger please", {("cheeseburger", 1, ())}),
        ("coca cola x2", {("cola", 2, ())}),
        ("can I get a shrimp burger?", {("shrimp_burger", 1, ())}),
        ("two colas, one large", {("cola", 1, ()), ("cola", 1, (L,))}),
        ("two cheeseburgers, one large", {("cheeseburger", 2, ())}),
        # Chinese
        ("我要两个芝士汉堡", {("cheeseburger", 2, ())}),
        ("一杯冰美式", {("americano", 1, (T,))}),
        ("三份薯条，大份", {("fries", 3, (L,))}),
        ("两杯可乐去冰", {("cola", 2, (I,))}),
        ("一个烤肉汉堡和一杯雪碧", {("bulgogi_burger", 1, ()), ("cider", 1, ())}),
        ("芝士条一份", {("cheese_sticks", 1, ())}),
        ("来一个双层芝士汉堡，两杯大杯可乐", {("double_cheeseburger", 1, ()), ("cola", 2, (L,))}),
        # mixed
        ("cola 두 잔이요", {("cola", 2, ())}),
        ("我要一个 cheeseburger", {("cheeseburger", 1, ())}),
        ("americano 아이스로 하나", {("americano", 1, (T,))}),
    ],
)
def test_plain_orders(parser, menu, text, expected):
    assert lines(talk(parser, menu, text), menu) == expected


@pytest.mark.parametrize(
    ("utterances", "expected"),
    [
        (["콜라 두 잔", "하나 더"], {("cola", 3, ())}),
        (["a coke", "one more"], {("cola", 2, ())}),
        (["一杯可乐", "再来一个"], {("cola", 2, ())}),
        (["three cokes", "make that two"], {("cola", 2, ())}),
        (["콜라 하나", "3개로 바꿔 주세요"], {("cola", 3, ())}),
        (["可乐两杯", "改成三杯"], {("cola", 3, ())}),
        (["치즈버거 하나 콜라 하나", "콜라 빼 주세요"], {("cheeseburger", 1, ())}),
        (["a cheeseburger and fries", "remove the fries"], {("cheeseburger", 1, ())}),
        (["芝士汉堡一个，可乐一个", "不要可乐了"], {("cheeseburger", 1, ())}),
        (["콜라 하나", "사이다로 바꿔 주세요"], {("cider", 1, ())}),
        (["a coke", "make it a sprite"], {("cider", 1, ())}),
        (["一杯可乐", "换成雪碧"], {("cider", 1, ())}),
        (["콜라 하나", "라지로 해 주세요"], {("cola", 1, (L,))}),
        (["a coke", "make it large"], {("cola", 1, (L,))}),
        (["一杯可乐", "要大杯"], {("cola", 1, (L,))}),
        (["감튀 두 개", "하나 빼 주세요"], {("fries", 1, ())}),
        (["치즈버거 세 개", "치즈버거 한 개만 주세요"], {("cheeseburger", 1, ())}),
        (["콜라 두 잔", "하나는 얼음 빼 주세요"], {("cola", 1, ()), ("cola", 1, (I,))}),
        (["two americanos", "one of them iced"], {("americano", 1, ()), ("americano", 1, (T,))}),
        (["콜라 하나 감튀 하나", "콜라 말고 사이다로요"], {("cider", 1, ()), ("fries", 1, ())}),
        (["a coke and fries", "a sprite instead of the coke"], {("cider", 1, ()), ("fries", 1, ())}),
        (["콜라 하나", "전부 취소할게요"], set()),
        (["a coke", "cancel my order"], set()),
        (["一杯可乐", "取消订单"], set()),
    ],
)
def test_changes_use_the_order_as_context(parser, menu, utterances, expected):
    assert lines(talk(parser, menu, *utterances), menu) == expected


@pytest.mark.parametrize(
    ("utterances", "state", "dine"),
    [
        (["콜라 하나", "포장이요"], "order", "takeout"),
        (["a coke", "for here"], "order", "dine_in"),
        (["一杯可乐", "打包"], "order", "takeout"),
        (["콜라 하나", "먹고 갈게요"], "order", "dine_in"),
        (["a coke", "to go please"], "order", "takeout"),
        (["一杯可乐", "堂食"], "order", "dine_in"),
        (["콜라 하나", "계산할게요"], "option", None),
        (["a coke", "that's all"], "option", None),
        (["一杯可乐", "就这些"], "option", None),
        (["콜라 하나 포장이요", "다 됐어요", "카드로 할게요"], "done", "takeout"),
        (["a coke to go", "that's it", "cash"], "done", "takeout"),
        (["一杯可乐，打包", "结账", "现金"], "done", "takeout"),
        (["콜라 하나", "계산할게요", "매장에서 먹을게요", "삼성페이"], "done", "dine_in"),
        (["a coke", "that's all, for here", "apple pay"], "done", "dine_in"),
        (["一杯可乐", "结账", "在这吃", "微信支付"], "done", "dine_in"),
    ],
)
def test_dine_checkout_and_payment(parser, menu, utterances, state, dine):
    order = talk(parser, menu, *utterances)
    assert (order.state.value, order.dine) == (state, dine)


def test_payment_method_is_passed_on(parser, menu):
    order = talk(parser, menu, "a coke to go", "that's all", "I'll pay by card")
    assert order.payment == "card"


@pytest.mark.parametrize(
    "text",
    [
        "뭐가 맛있어요?", "메뉴 뭐 있어요?", "what do you recommend?", "how much is a cola?", "有什么推荐的？",
        "可乐多少钱", "피자 하나요", "a pizza please", "我要一个披萨", "안녕하세요", "hello", "버거 하나 주세요",
        "a burger please", "汉堡一个", "콜라 있어요?", "do you have sprite", "Is the shrimp burger spicy?",
        "제로콜라 하나요", "불고기버거 피클 빼고 하나", "하나 더", "make that three", "",
    ],
)
def test_questions_and_unknowns_go_to_the_llm(parser, text):
    result = parser.parse(text, Order())
    assert not result.understood and result.commands == [] and result.reason


def test_remove_without_an_item_needs_a_reference(parser, menu):
    order = talk(parser, menu, "콜라 하나")
    assert not parser.parse("빼 주세요", order).understood
    assert parser.parse("그거 빼 주세요", order).as_calls()[0][0] == "remove_item"


def test_parser_never_changes_the_order(parser, menu):
    order = talk(parser, menu, "콜라 하나")
    before = order.to_state()
    parser.parse("감튀 두 개 추가요", order)
    assert order.to_state() == before


@pytest.mark.parametrize(
    ("text", "hint", "lang"),
    [("콜라 주세요", None, "ko"), ("a coke", None, "en"), ("可乐", None, "zh"), ("cola 주세요", None, "ko"),
     ("我要 coke", None, "zh"), ("2", "zh", "zh"), ("2", None, "ko")],
)
def test_language_detection(parser, text, hint, lang):
    assert parser.parse(text, Order(), hint).lang == lang


def test_understood_result_shape(parser):
    result = parser.parse("불고기버거 2개랑 콜라 주세요", Order())
    assert result.understood and result.confidence == 1.0 and result.reason is None
    assert result.as_calls() == [
        ("add_item", {"item_id": "bulgogi_burger", "quantity": 2, "options": {}}),
        ("add_item", {"item_id": "cola", "quantity": 1, "options": {}}),
    ]
