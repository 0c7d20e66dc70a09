"""The kiosk's LLM path says only what happened: replies from the commands that ran, never the model's claims."""

from __future__ import annotations

import pytest

from chatkiosk.agents.kiosk.honest import claims_change
from chatkiosk.agents.kiosk.menu import load_menu
from chatkiosk.llm.fake import ScriptedProvider, tool_call

# None of these is an order the rule parser can place: they go to the model.
UNPARSED = "What would you pick for someone who is really hungry?"


async def _kiosk(api, user) -> str:
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "kiosk"})
    assert r.status_code == 201
    return r.json()["id"]


async def _say(api, user, cid: str, text: str) -> dict:
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": text})
    assert r.status_code == 200, r.text
    return r.json()


async def _order(api, user, cid: str) -> dict:
    return (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()


@pytest.mark.parametrize("claim", [
    "Added 1 double cheeseburger. Your total is ₩12,900",
    "더블치즈버거 1개 담았어요. 합계 6,900원이에요.",
    "已加入1份双层芝士汉堡。一共6,900韩元。",
    # A small model's broken command, not words for a customer (seen from SmolLM2).
    'You can use tools to show the order: { "tool": "change_order", "arguments": {"items": [{"type": "itemAddedByUser"}]} }',
])
async def test_a_model_claiming_a_change_without_a_command_gets_a_reply_that_claims_nothing(make_api, claim):
    llm = ScriptedProvider([claim])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    answer = await _say(api, user, cid, UNPARSED)
    assert answer["usage"]["llm"] is True
    reply = answer["message"]["content"]
    assert claim not in reply
    for word in ("Added", "담았어요", "已加入", "12,900", "6,900"):
        assert word not in reply
    assert not claims_change(reply.replace("Your order has not changed.", "").replace("주문은 바뀌지 않았어요.", "")
                             .replace("您的订单没有变化。", ""), load_menu(None))
    assert (await _order(api, user, cid))["items"] == []
    # The streamed text is the stored text: the claim never reached the customer.
    history = (await api.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).json()["data"]
    assert all(claim not in (m["content"] or "") for m in history)


async def test_the_reply_is_made_from_the_commands_that_ran_not_the_models_words(make_api):
    llm = ScriptedProvider([
        [tool_call("add_item", {"item_id": "cola", "quantity": 2}), tool_call("add_item", {"item_id": "fries"}, id="c2")],
        "I added three cheeseburgers and paid for you!",  # never asked for: the run ends after the tools
    ])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    answer = await _say(api, user, cid, "I'd like a couple of colas and some fries, if that's alright")
    reply = answer["message"]["content"]
    order = await _order(api, user, cid)
    assert {i["item_id"]: i["quantity"] for i in order["items"]} == {"cola": 2, "fries": 1}
    assert "Cola" in reply and "French Fries" in reply and "₩5,600" in reply and order["total"] == 5600
    assert "cheeseburger" not in reply.lower() and "paid" not in reply.lower()
    assert len(llm.calls) == 1


async def test_a_refused_command_is_said_as_refused_and_nothing_is_claimed(make_api):
    llm = ScriptedProvider([tool_call("remove_item", {"item_id": "cheeseburger"})])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    url = f"/api/conversations/{cid}/order/commands"
    await api.client.post(url, headers=user["headers"], json={"command": "add_item", "args": {"item_id": "cola"}, "lang": "en"})
    answer = await _say(api, user, cid, "get rid of that burger I never ordered")
    reply = answer["message"]["content"]
    assert "There is no Cheeseburger in your order." in reply
    assert "Removed" not in reply and "₩1,800" in reply
    assert [i["item_id"] for i in (await _order(api, user, cid))["items"]] == ["cola"]


async def test_a_swap_is_said_from_the_net_change_and_the_order_is_in_the_models_context(make_api):
    llm = ScriptedProvider([[tool_call("remove_item", {"item_id": "cheeseburger"}),
                             tool_call("add_item", {"item_id": "bulgogi_burger"}, id="c2")]])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    url = f"/api/conversations/{cid}/order/commands"
    await api.client.post(url, headers=user["headers"], json={"command": "add_item", "args": {"item_id": "cheeseburger"}, "lang": "ko"})
    answer = await _say(api, user, cid, "치즈버거를 불고기 들어간 걸로 해 주실래요")
    reply = answer["message"]["content"]
    assert "치즈버거 1개 뺐어요" in reply and "불고기버거 1개 담았어요" in reply and "4,800원" in reply
    # The model saw the order as it was, with the ids its commands take.
    assert "[Current order: 1 cheeseburger." in llm.calls[0].last_user_text
    # ... but the stored user message is what the customer said.
    history = (await api.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).json()["data"]
    assert all("Current order" not in m["content"] for m in history)


async def test_the_models_own_words_pass_when_they_are_not_about_the_order(make_api):
    llm = ScriptedProvider(["The Double Cheeseburger has two beef patties and two slices of cheese."])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    answer = await _say(api, user, cid, "What comes on the double one, exactly?")
    assert answer["message"]["content"] == "The Double Cheeseburger has two beef patties and two slices of cheese."


def test_claims_are_recognised_in_three_languages_and_menu_prices_are_not_claims():
    menu = load_menu(None)
    for text in ("I've added a cola.", "Your total is ₩7,000.", "콜라 추가했어요", "결제가 완료되었어요", "已经加好了", "一共九千韩元",
                 "That comes to 12,900원"):
        assert claims_change(text, menu), text
    for text in ("A cola is ₩1,800.", "Hello! What would you like?", "치즈버거는 5,200원이에요.", "我们有可乐和雪碧。"):
        assert not claims_change(text, menu), text


@pytest.mark.parametrize("question", ["what's in my order?", "내 주문 뭐예요?", "我点了什么？", "what did I order?"])
async def test_a_question_about_the_order_is_answered_from_the_order_not_by_the_model(make_api, question):
    """Seen on the 1.5B model: "what is in my order?" → "Two beef patties with cheese." for 2 bulgogi and a cola."""
    llm = ScriptedProvider(["Two beef patties with cheese."])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    await _say(api, user, cid, "불고기버거 2개랑 콜라 주세요")
    body = await _say(api, user, cid, question)
    reply = body["message"]["content"]
    assert not llm.calls and "beef" not in reply
    assert any(name in reply for name in ("Bulgogi", "불고기버거", "烤肉汉堡")) and any(t in reply for t in ("11,400", "11400"))


async def test_commands_that_ran_are_said_when_the_words_after_them_no_longer_fit_the_window(make_api):
    """Seen on SmolLM2: a list of commands ran (one asking for a confirmation), the model's next
    step overflowed its 2,048-token window, and the customer got an error over a changed order."""
    from chatkiosk.errors import ContextOverflow

    commands = '[{"tool": "add_item", "arguments": {"item_id": "cola", "quantity": 1}}, {"tool": "checkout", "arguments": {}}, {"tool": "pay", "arguments": {"method": "card"}}]'
    overflow = ContextOverflow("This conversation no longer fits the model's context window of 2048 tokens.", upstream_status=400)
    llm = ScriptedProvider([commands, overflow], supports_tools=False)
    llm.context_window = 2048
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _kiosk(api, user)
    body = await _say(api, user, cid, UNPARSED)
    assert body["message"]["status"] == "complete", body
    order = await _order(api, user, cid)
    assert [line["item_id"] for line in order["items"]] == ["cola"]
    reply = body["message"]["content"]
    assert "Cola" in reply and "1,800" in reply and "context window" not in reply
