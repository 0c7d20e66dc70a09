"""The kiosk through the API: chat (rule-based and LLM paths), touch commands, placed orders."""

from __future__ import annotations

import json

import pytest

from chatkiosk.llm.fake import ScriptedProvider, tool_call

FULL_ORDERS = {
    "ko": (["불고기버거 2개랑 콜라 주세요", "콜라는 라지로 해주세요", "다 됐어요", "포장이요", "카드로 할게요"],
           {"bulgogi_burger": 2, "cola": 1}, 11900, "주문번호"),
    "en": (["two cheeseburgers and a large coke, no ice", "that's all", "to go please", "card"],
           {"cheeseburger": 2, "cola": 1}, 12700, "order number"),
    "zh": (["我要两个芝士汉堡", "再来一杯可乐", "就这些", "打包", "刷卡"],
           {"cheeseburger": 2, "cola": 1}, 12200, "取餐号"),
}


async def _kiosk(api, user):
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "kiosk"})
    assert r.status_code == 201
    return r.json()["id"]


async def _say(api, user, cid, text):
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": text})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
async def test_full_order_by_chat_without_the_llm(make_api, lang):
    llm = ScriptedProvider([])  # any LLM call would fail the test: nothing is scripted
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    utterances, items, total, number_word = FULL_ORDERS[lang]
    answers = [await _say(api, user, cid, text) for text in utterances]
    assert all(a["usage"]["llm"] is False for a in answers)
    assert number_word in answers[-1]["message"]["content"]
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert order["state"] == "done" and order["total"] == total and order["dine"] == "takeout"
    assert {i["item_id"]: i["quantity"] for i in order["items"]} == items
    assert order["order_number"] is not None
    placed = (await api.client.get("/api/kiosk/orders", headers=user["headers"])).json()["data"]
    assert len(placed) == 1 and placed[0]["order_number"] == order["order_number"] and placed[0]["total"] == total
    assert placed[0]["payment"] == "card" and placed[0]["conversation_id"] == cid
    assert llm.calls == []
    # The commands are recorded as tool calls of the turn, visible in history.
    history = (await api.client.get(f"/api/conversations/{cid}/messages?limit=2", headers=user["headers"])).json()["data"]
    assert [c["name"] for c in history[0]["tool_calls"]][-1] == "pay"


async def test_full_order_by_touch_commands(api):
    user = await api.signup()
    cid = await _kiosk(api, user)
    url = f"/api/conversations/{cid}/order/commands"

    async def cmd(command, **args):
        return await api.client.post(url, headers=user["headers"], json={"command": command, "args": args, "lang": "en"})

    r = await cmd("add_item", item_id="fries", quantity=1, options={"size": "large"})
    assert r.status_code == 200 and r.json()["order"]["state"] == "order"
    assert r.json()["order"]["items"][0] == {"item_id": "fries", "name": "French Fries", "quantity": 1, "options": {"size": "large"}, "unit_price": 2500, "line_total": 2500}
    assert (await cmd("add_item", item_id="americano", quantity=2, options={"temperature": "iced"})).status_code == 200
    assert (await cmd("set_quantity", item_id="americano", quantity=1)).json()["order"]["total"] == 5000
    r = await cmd("pay", method="card")
    assert r.status_code == 409 and r.json()["error"]["message"]
    assert (await cmd("checkout")).json()["order"]["state"] == "option"
    assert (await cmd("set_dine_option", dine="dine_in")).json()["order"]["state"] == "pay"
    r = await cmd("pay", method="mobile")
    assert r.status_code == 200 and r.json()["order"]["state"] == "done"
    number = r.json()["order"]["order_number"]
    placed = (await api.client.get("/api/kiosk/orders", headers=user["headers"])).json()["data"]
    assert [p["order_number"] for p in placed] == [number] and placed[0]["dine"] == "dine_in"
    # After `done`, the next item starts a new order.
    r = await cmd("add_item", item_id="cola", quantity=1)
    assert r.json()["order"]["state"] == "order" and r.json()["order"]["order_number"] is None


async def test_touch_command_validation(api):
    user = await api.signup()
    cid = await _kiosk(api, user)
    url = f"/api/conversations/{cid}/order/commands"
    bad = [
        {"command": "drop_table", "args": {}},
        {"command": "add_item", "args": {"item_id": "cola", "quantity": -1}},
        {"command": "add_item", "args": {"item_id": "cola", "user_id": "x"}},
        {"command": "pay", "args": {"method": "bitcoin"}},
    ]
    for body in bad:
        r = await api.client.post(url, headers=user["headers"], json=body)
        assert r.status_code == 422, body
    r = await api.client.post(url, headers=user["headers"], json={"command": "add_item", "args": {"item_id": "pizza"}})
    assert r.status_code == 409
    r = await api.client.post(url, headers=user["headers"], json={"command": "add_item", "args": {"item_id": "cola", "options": {"size": "huge"}}})
    assert r.status_code == 409
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert order["items"] == [] and order["state"] == "greet"


async def test_order_routes_refuse_other_agents_and_other_users(api):
    alice = await api.signup()
    bob = await api.signup()
    cid = await _kiosk(api, alice)
    await api.client.post(f"/api/conversations/{cid}/order/commands", headers=alice["headers"], json={"command": "add_item", "args": {"item_id": "cola"}})
    assert (await api.client.get(f"/api/conversations/{cid}/order", headers=bob["headers"])).status_code == 404
    r = await api.client.post(f"/api/conversations/{cid}/order/commands", headers=bob["headers"], json={"command": "cancel_order", "args": {}})
    assert r.status_code == 404
    assert (await api.client.get("/api/kiosk/orders", headers=bob["headers"])).json()["data"] == []
    assert (await api.client.get(f"/api/conversations/{cid}/order", headers=alice["headers"])).json()["items"][0]["item_id"] == "cola"
    plain = (await api.client.post("/api/conversations", headers=alice["headers"], json={})).json()["id"]
    assert (await api.client.get(f"/api/conversations/{plain}/order", headers=alice["headers"])).status_code == 409


async def test_the_llm_handles_what_the_parser_cannot_through_the_same_commands(make_api):
    llm = ScriptedProvider([
        tool_call("add_item", {"item_id": "double_cheeseburger", "quantity": 1}),
        "I added a Double Cheeseburger, our most filling burger.",
    ])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    answer = await _say(api, user, cid, "What do you recommend for someone very hungry? Put it in my order.")
    assert answer["usage"]["llm"] is True
    assert "Double Cheeseburger" in answer["message"]["content"]
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert [i["item_id"] for i in order["items"]] == ["double_cheeseburger"]
    tools = [t.name for t in llm.calls[0].tools]
    assert "add_item" in tools and "pay" in tools
    assert "user" not in json.dumps([t.parameters for t in llm.calls[0].tools])


async def test_paying_through_the_llm_needs_the_customers_confirmation(make_api):
    llm = ScriptedProvider([tool_call("pay", {"method": "card"}), "Please confirm the payment."])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    url = f"/api/conversations/{cid}/order/commands"
    for body in ({"command": "add_item", "args": {"item_id": "cola"}}, {"command": "checkout", "args": {}}, {"command": "set_dine_option", "args": {"dine": "takeout"}}):
        assert (await api.client.post(url, headers=user["headers"], json=body)).status_code == 200
    answer = await _say(api, user, cid, "Could you settle the bill for me the usual way?")
    call = answer["message"]["tool_calls"][0]
    assert call["status"] == "confirmation_required"
    assert (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()["state"] == "pay"
    confirmation_id = call["result"]["confirmation_id"]
    other = await api.signup()
    assert (await api.client.post(f"/api/conversations/{cid}/confirmations/{confirmation_id}", headers=other["headers"])).status_code == 404
    r = await api.client.post(f"/api/conversations/{cid}/confirmations/{confirmation_id}", headers=user["headers"])
    assert r.status_code == 200 and r.json()["tool"] == "pay"
    replay = await api.client.post(f"/api/conversations/{cid}/confirmations/{confirmation_id}", headers=user["headers"])
    assert replay.status_code in (404, 409)
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert order["state"] == "done"
    assert len((await api.client.get("/api/kiosk/orders", headers=user["headers"])).json()["data"]) == 1


async def test_an_edited_menu_is_served_and_understood(make_api, tmp_path):
    import importlib.resources

    source = json.loads(importlib.resources.files("chatkiosk.agents.kiosk").joinpath("menu.json").read_text())
    items = source["items"]
    new = dict(items[0])
    new.update(id="kimchi_burger", names={"ko": "김치버거", "en": "Kimchi Burger", "zh": "泡菜汉堡"}, price=5500, aliases=[], options=[])
    items.append(new)
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(source, ensure_ascii=False))
    api = await make_api(providers={"s": ScriptedProvider([])}, kiosk_menu=path)
    user = await api.signup()
    menu = (await api.client.get("/api/kiosk/menu?lang=ko", headers=user["headers"])).json()
    assert any(i["id"] == "kimchi_burger" and i["name"] == "김치버거" and i["price"] == 5500 for i in menu["items"])
    cid = await _kiosk(api, user)
    await _say(api, user, cid, "김치버거 하나 주세요")
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert order["items"][0]["item_id"] == "kimchi_burger" and order["total"] == 5500


async def test_agents_list_includes_the_kiosk(api):
    user = await api.signup()
    agents = (await api.client.get("/api/agents", headers=user["headers"])).json()["data"]
    kiosk = next(a for a in agents if a["name"] == "kiosk")
    assert "add_item" in kiosk["tools"] and "pay" in kiosk["tools"]
