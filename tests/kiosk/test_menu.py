"""The menu file: items, options, prices, names, aliases, and validation of an owner's edits."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chatkiosk.agents.kiosk.menu import DEFAULT_MENU_PATH, MenuError, load_menu

IDS = ["bulgogi_burger", "shrimp_burger", "cheeseburger", "double_cheeseburger", "fries", "cheese_sticks",
       "cola", "cider", "americano"]


def test_demo_menu_has_the_nine_items_in_order(menu):
    assert [i.id for i in menu.items] == IDS


@pytest.mark.parametrize(
    ("item_id", "price", "ko", "en", "zh", "options"),
    [
        ("bulgogi_burger", 4800, "불고기버거", "Bulgogi Burger", "烤肉汉堡", []),
        ("shrimp_burger", 4500, "새우버거", "Shrimp Burger", "鲜虾汉堡", []),
        ("cheeseburger", 5200, "치즈버거", "Cheeseburger", "芝士汉堡", []),
        ("double_cheeseburger", 6900, "더블치즈버거", "Double Cheeseburger", "双层芝士汉堡", []),
        ("fries", 2000, "감자튀김", "French Fries", "薯条", ["size"]),
        ("cheese_sticks", 2500, "치즈스틱", "Cheese Sticks", "芝士条", []),
        ("cola", 1800, "콜라", "Cola (Coke)", "可乐", ["size", "ice"]),
        ("cider", 1800, "사이다", "Lemon-lime soda (Sprite)", "雪碧", ["size", "ice"]),
        ("americano", 2500, "아메리카노", "Americano", "美式咖啡", ["temperature"]),
    ],
)
def test_items_match_the_spec(menu, item_id, price, ko, en, zh, options):
    item = menu.item(item_id)
    assert (item.price, item.names.ko, item.names.en, item.names.zh, item.options) == (price, ko, en, zh, options)
    assert (menu.name(item_id, "ko"), menu.name(item_id, "en"), menu.name(item_id, "zh")) == (ko, en, zh)


def test_option_values_and_defaults(menu):
    assert [v.value for v in menu.options["size"].values] == ["regular", "large"]
    assert [v.value for v in menu.options["ice"].values] == ["normal", "less", "none"]
    assert [v.value for v in menu.options["temperature"].values] == ["hot", "iced"]
    assert menu.resolve_options("cola") == {"size": "regular", "ice": "normal"}
    assert menu.resolve_options("cola", {"ice": "none"}) == {"size": "regular", "ice": "none"}
    assert menu.resolve_options("americano") == {"temperature": "hot"}
    assert menu.resolve_options("cheeseburger") == {}


def test_prices_with_options(menu):
    assert menu.unit_price("fries") == 2000
    assert menu.unit_price("fries", {"size": "large"}) == 2500
    assert menu.unit_price("cola", {"size": "large", "ice": "none"}) == 2300
    assert menu.unit_price("americano", {"temperature": "iced"}) == 2500


def test_invalid_options_are_refused(menu):
    with pytest.raises(MenuError) as e:
        menu.check_options("cheeseburger", {"size": "large"})
    assert e.value.code == "option_not_available"
    with pytest.raises(MenuError) as e:
        menu.check_options("cola", {"size": "huge"})
    assert e.value.code == "invalid_option_value"
    with pytest.raises(MenuError) as e:
        menu.item("pizza")
    assert e.value.code == "unknown_item"


def test_aliases_include_what_customers_say(menu):
    texts = {a.text for i in menu.items for a in i.aliases}
    for alias in ["감튀", "아아", "coke", "sprite", "冰美式", "새우 버거"]:
        assert alias in texts
    aa = next(a for a in menu.item("americano").aliases if a.text == "아아")
    assert aa.options == {"temperature": "iced"}


def test_public_menu_shape(menu):
    public = menu.to_public("ko")
    cola = next(i for i in public["items"] if i["id"] == "cola")
    assert cola["name"] == "콜라" and cola["price"] == 1800
    assert [o["key"] for o in cola["options"]] == ["size", "ice"]
    assert cola["options"][0]["values"][1] == {"value": "large", "name": "라지", "price": 500}


def test_owner_can_load_an_edited_menu(tmp_path):
    data = json.loads(DEFAULT_MENU_PATH.read_text(encoding="utf-8"))
    data["items"][0]["price"] = 5000
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert load_menu(path).item("bulgogi_burger").price == 5000


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["items"].append(dict(d["items"][0])),  # duplicate id
        lambda d: d["items"][0].update(options=["sauce"]),  # undefined option
        lambda d: d["items"][0].update(price=-1),
        lambda d: d["items"][8]["aliases"].append({"text": "x", "options": {"temperature": "warm"}}),
    ],
)
def test_bad_menus_are_rejected(tmp_path, edit):
    data = json.loads(DEFAULT_MENU_PATH.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValidationError):
        load_menu(path)
