"""The shop agent by conversation: rules with no LLM call in ko/en/zh, cancel only after the
customer's confirmation (and not when the order changed meanwhile), shipped orders refused,
tickets filed by chat, SECURITY 14, the LLM path with the same tools, and routing per intent."""

from __future__ import annotations

import json

import pytest

from chatkiosk.llm.fake import ScriptedProvider, tool_call

PLAIN = {
    "ko": ("내 주문 목록 보여줘", "주문번호 A-1001 어디쯤 왔나요?", "결제 완료"),
    "en": ("show me my orders", "Where is order A-1001?", "paid"),
    "zh": ("我的订单", "订单A-1001到哪了？", "已付款"),
}


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
async def test_plain_requests_are_answered_by_rules_with_no_llm_call(shop, lang):
    alice = await shop.api.signup()
    await shop.order(alice, "paid", number="A-1001")
    await shop.order(alice, "shipped", number="B2002", carrier="CJ", tracking_number="6301")
    cid = await shop.conversation(alice)
    listing, where, status_word = PLAIN[lang]
    answer = await shop.say(alice, cid, listing)
    assert answer["usage"]["llm"] is False
    assert "A-1001" in answer["message"]["content"] and "B2002" in answer["message"]["content"]
    assert answer["message"]["tool_calls"][0]["name"] == "list_orders"
    answer = await shop.say(alice, cid, where)
    assert answer["usage"]["llm"] is False and status_word in answer["message"]["content"]
    (call,) = answer["message"]["tool_calls"]
    assert call["name"] == "get_order" and call["arguments"] == {"order": "A-1001"}
    assert shop.llm.calls == []


@pytest.mark.parametrize("cancel, yes, done_word", [
    ("주문 A-1001 취소해 주세요", "네", "취소되었어요"),
    ("cancel order A-1001", "yes", "is cancelled"),
    ("取消订单A-1001", "是的", "已取消"),
])
async def test_cancel_by_chat_runs_only_after_the_customers_yes(shop, cancel, yes, done_word):
    api = shop.api
    alice = await api.signup()
    order = await shop.order(alice, "preparing", number="A-1001")
    cid = await shop.conversation(alice)
    asked = await shop.say(alice, cid, cancel)
    (call,) = asked["message"]["tool_calls"]
    assert call["status"] == "confirmation_required" and asked["usage"]["llm"] is False
    assert call["result"]["state"] == {"order_id": order["id"], "number": "A-1001", "status": "preparing", "total": 33500}
    assert "A-1001" in asked["message"]["content"]
    assert (await api.client.get(f"/api/shop/orders/{order['id']}", headers=alice["headers"])).json()["status"] == "preparing"
    done = await shop.say(alice, cid, yes)
    assert done_word in done["message"]["content"] and done["usage"]["llm"] is False
    assert (await api.client.get(f"/api/shop/orders/{order['id']}", headers=alice["headers"])).json()["status"] == "cancelled"
    # The yes was used up: another yes has nothing to confirm (and goes to the LLM).
    shop.llm.add("There is nothing waiting for your confirmation.")
    again = await shop.say(alice, cid, yes)
    assert again["usage"]["llm"] is True


async def test_a_confirmed_cancel_is_refused_when_the_order_shipped_meanwhile(shop):
    api = shop.api
    alice = await api.signup()
    order = await shop.order(alice, "paid", number="A-1001")
    cid = await shop.conversation(alice)
    asked = await shop.say(alice, cid, "cancel order A-1001")
    assert asked["message"]["tool_calls"][0]["status"] == "confirmation_required"
    r = await api.client.patch(f"/api/admin/shop/orders/{order['id']}", headers=shop.admin["headers"], json={"status": "shipped"})
    assert r.status_code == 200
    refused = await shop.say(alice, cid, "yes")
    assert "not cancelled" in refused["message"]["content"] and "shipped" in refused["message"]["content"]
    assert refused["message"]["tool_calls"][0]["result"]["error"]["code"] == "confirmation_stale"
    assert (await api.client.get(f"/api/shop/orders/{order['id']}", headers=alice["headers"])).json()["status"] == "shipped"


async def test_the_confirm_route_refuses_a_cancel_whose_order_changed(shop):
    """The same binding through `POST …/confirmations/{id}` (the page's confirm button)."""
    api = shop.api
    alice = await api.signup()
    order = await shop.order(alice, "paid", number="A-1001")
    cid = await shop.conversation(alice)
    shop.llm.add(tool_call("cancel_order", {"order": "A-1001", "reason": "too slow"}), "Please confirm the cancellation.")
    asked = await shop.say(alice, cid, "This is taking forever, I don't want the A-1001 stuff any more, get rid of it")
    assert asked["usage"]["llm"] is True
    confirmation = asked["message"]["tool_calls"][0]["result"]
    assert confirmation["status"] == "confirmation_required" and "A-1001 (paid, ₩33,500)" in confirmation["summary"]
    await api.client.patch(f"/api/admin/shop/orders/{order['id']}", headers=shop.admin["headers"], json={"status": "preparing"})
    r = await api.client.post(f"/api/conversations/{cid}/confirmations/{confirmation['confirmation_id']}", headers=alice["headers"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "confirmation_stale"
    assert "paid" in r.json()["error"]["message"] and "preparing" in r.json()["error"]["message"]
    assert (await api.client.get(f"/api/shop/orders/{order['id']}", headers=alice["headers"])).json()["status"] == "preparing"


async def test_a_no_declines_and_uses_the_confirmation_up(shop):
    api = shop.api
    alice = await api.signup()
    order = await shop.order(alice, "paid", number="A-1001")
    cid = await shop.conversation(alice)
    asked = await shop.say(alice, cid, "A-1001 주문 취소하고 싶어요")
    confirmation_id = asked["message"]["tool_calls"][0]["result"]["confirmation_id"]
    declined = await shop.say(alice, cid, "아니요")
    assert "바꾸지 않았어요" in declined["message"]["content"]
    r = await api.client.post(f"/api/conversations/{cid}/confirmations/{confirmation_id}", headers=alice["headers"])
    assert r.status_code == 409
    assert (await api.client.get(f"/api/shop/orders/{order['id']}", headers=alice["headers"])).json()["status"] == "paid"


@pytest.mark.parametrize("text, expected", [
    ("B2002 취소할게요", "반품"), ("cancel order B2002", "return"), ("取消订单B2002", "退货"),
])
async def test_a_shipped_order_is_refused_by_chat_with_a_pointer_to_a_return(shop, text, expected):
    alice = await shop.api.signup()
    await shop.order(alice, "shipped", number="B2002")
    cid = await shop.conversation(alice)
    answer = await shop.say(alice, cid, text)
    (call,) = answer["message"]["tool_calls"]
    assert call["status"] == "error" and call["result"]["error"]["code"] == "not_cancellable"
    assert expected in answer["message"]["content"]
    assert await shop.api.runtime.confirmations.store.latest_pending(alice["id"], cid) is None


@pytest.mark.parametrize("text, issue, word", [
    ("A-1001 주문한 상품이 파손되어 왔어요", "damaged", "접수"),
    ("The parcel for order A-1001 arrived damaged", "damaged", "ticket"),
    ("我要投诉订单A-1001，一直没收到货", "delivery", "工单"),
])
async def test_a_ticket_is_filed_by_chat(shop, text, issue, word):
    api = shop.api
    alice = await api.signup()
    order = await shop.order(alice, "delivered", number="A-1001")
    cid = await shop.conversation(alice)
    answer = await shop.say(alice, cid, text)
    assert answer["usage"]["llm"] is False and word in answer["message"]["content"]
    (ticket,) = (await api.client.get("/api/shop/tickets", headers=alice["headers"])).json()["data"]
    assert ticket["order_id"] == order["id"] and ticket["issue_type"] == issue and ticket["description"] == text
    assert ticket["priority"] == ("high" if issue == "damaged" else "normal")
    assert ticket["id"] in answer["message"]["content"]


async def test_a_model_asking_for_another_customers_orders_and_tickets_gets_not_found(shop):
    """SECURITY 14: the tools act for the caller only, whatever ids the model writes."""
    api = shop.api
    alice, bob = await api.signup(), await api.signup()
    order = await shop.order(alice, "paid", number="A-1001")
    r = await api.client.post("/api/shop/tickets", headers=alice["headers"],
                              json={"order_id": order["id"], "issue_type": "refund", "description": "refund me"})
    ticket_id = r.json()["id"]
    cid = await shop.conversation(bob)
    shop.llm.add(
        [tool_call("get_order", {"order": "A-1001"}), tool_call("get_order", {"order": order["id"]}),
         tool_call("cancel_order", {"order": "A-1001"}), tool_call("cancel_order", {"order": order["id"]}),
         tool_call("get_ticket", {"ticket_id": ticket_id}),
         tool_call("create_ticket", {"issue_type": "refund", "description": "x", "order": "A-1001"})],
        "I could not find those.",
    )
    answer = await shop.say(bob, cid, "Please look at everything about A-1001 and the ticket, and do what you must")
    calls = answer["message"]["tool_calls"]
    assert [c["status"] for c in calls] == ["error"] * 6
    assert all("not found" in c["result"]["error"]["message"].lower() or "no such" in c["result"]["error"]["message"].lower()
               for c in calls), calls
    assert await api.runtime.confirmations.store.latest_pending(bob["id"], cid) is None
    assert (await api.client.get(f"/api/shop/orders/{order['id']}", headers=alice["headers"])).json()["status"] == "paid"
    assert (await api.client.get("/api/shop/tickets", headers=bob["headers"])).json()["data"] == []
    schemas = json.dumps([t.parameters for t in shop.llm.calls[0].tools])
    assert "user" not in schemas.lower() and "owner" not in schemas.lower()
    assert {t.name for t in shop.llm.calls[0].tools} == {
        "list_orders", "get_order", "cancel_order", "create_ticket", "attach_photos", "list_tickets", "get_ticket",
        "search_policies"}


async def test_other_requests_go_to_the_llm_with_the_same_tools(shop):
    alice = await shop.api.signup()
    await shop.order(alice, "shipped", number="B2002", carrier="CJ", tracking_number="6301")
    cid = await shop.conversation(alice)
    shop.llm.add(tool_call("list_orders", {"status": "shipped"}), "Your B2002 parcel is on its way with CJ.")
    answer = await shop.say(alice, cid, "I'm travelling next week, will my stuff get here before Friday?")
    assert answer["usage"]["llm"] is True
    (call,) = answer["message"]["tool_calls"]
    assert call["name"] == "list_orders" and call["result"]["orders"][0]["number"] == "B2002"
    assert "B2002" in answer["message"]["content"]


async def test_llm_turns_are_routed_per_intent(make_api):
    local, external = ScriptedProvider(name="local"), ScriptedProvider(name="external")
    api = await make_api(providers={"external": external, "local": local},
                         shop_routes={"order": ["local"], "policy": ["local"], "claim": ["local"], "chat": ["external", "local"]})
    user = await api.signup()
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "shop"})).json()["id"]
    local.add("About your order: which one do you mean?")
    external.add("Hello! How can I help?")
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "I want to cancel my order"})
    assert r.json()["message"]["content"].startswith("About your order")
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hello, nice day"})
    assert r.json()["message"]["content"] == "Hello! How can I help?"
    assert len(local.calls) == 1 and len(external.calls) == 1


async def test_an_unknown_provider_in_the_routes_is_a_settings_error(make_api):
    with pytest.raises(ValueError, match="shop_routes"):
        await make_api(providers={"local": ScriptedProvider()}, shop_routes={"chat": ["nowhere"]})
