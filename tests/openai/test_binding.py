"""Calls bound to a stored conversation: the turn is stored there and state carries over (SECURITY 13)."""

from __future__ import annotations

import openai
import pytest

from chatkiosk.llm.fake import ScriptedProvider


def test_bound_calls_keep_the_conversation(live):
    llm = ScriptedProvider(["Nice to meet you, Kim.", "Your name is Kim."])
    server = live(providers={"scripted": llm})
    user = server.user()
    cid = server.conversation(user)
    client = server.client(user)
    first = client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "I am Kim."}],
                                           metadata={"conversation_id": cid})
    assert first.choices[0].message.content == "Nice to meet you, Kim."
    # The second call sends only its new message: the stored conversation is the context.
    second = client.chat.completions.with_raw_response.create(
        model="assistant", messages=[{"role": "user", "content": "What is my name?"}], extra_headers={"X-Conversation-Id": cid},
    )
    assert second.headers["x-conversation-id"] == cid and second.parse().choices[0].message.content == "Your name is Kim."
    assert [m["content"] for m in llm.calls[1].messages[1:]] == ["I am Kim.", "Nice to meet you, Kim.", "What is my name?"]
    history = server.history(user, cid)
    assert [(m["role"], m["content"], m["status"]) for m in history] == [
        ("user", "I am Kim.", "complete"), ("assistant", "Nice to meet you, Kim.", "complete"),
        ("user", "What is my name?", "complete"), ("assistant", "Your name is Kim.", "complete"),
    ]


def test_bound_stream_is_stored(live):
    server = live(providers={"scripted": ScriptedProvider([["stream", "ed"]])})
    user = server.user()
    cid = server.conversation(user)
    chunks = list(server.client(user).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "hi"}], stream=True, metadata={"conversation_id": cid}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "streamed"
    assert [m["content"] for m in server.history(user, cid)] == ["hi", "streamed"]


def test_the_kiosk_cart_carries_across_calls(live):
    server = live(providers={"scripted": ScriptedProvider()})  # plain orders never reach the LLM
    user = server.user()
    cid = server.conversation(user, agent="kiosk")
    client = server.client(user)
    for text in ("불고기버거 2개 주세요", "콜라도 하나"):
        answer = client.chat.completions.create(model="kiosk", messages=[{"role": "user", "content": text}],
                                                metadata={"conversation_id": cid})
        assert answer.choices[0].message.content
    order = server.http.get(f"/api/conversations/{cid}/order", headers=user.headers).json()
    assert {(i["item_id"], i["quantity"]) for i in order["items"]} == {("bulgogi_burger", 2), ("cola", 1)}


def test_model_must_match_the_bound_conversations_agent(live):
    server = live(providers={"scripted": ScriptedProvider()})
    user = server.user()
    cid = server.conversation(user, agent="assistant")
    with pytest.raises(openai.BadRequestError) as caught:
        server.client(user).chat.completions.create(model="kiosk", messages=[{"role": "user", "content": "콜라 하나"}],
                                                    metadata={"conversation_id": cid})
    assert caught.value.body["code"] == "agent_mismatch"
    assert server.history(user, cid) == []


def test_another_users_conversation_is_404_and_untouched(live):
    """SECURITY 13: B's key with A's conversation_id is 404 and writes nothing to A's history."""
    llm = ScriptedProvider(["for alice"])
    server = live(providers={"scripted": llm})
    alice, bob = server.user(), server.user()
    cid = server.conversation(alice)
    server.client(alice).chat.completions.create(model="assistant", messages=[{"role": "user", "content": "mine"}],
                                                 metadata={"conversation_id": cid})
    before = server.history(alice, cid)
    bob_client = server.client(bob)
    for kwargs in ({"metadata": {"conversation_id": cid}}, {"extra_headers": {"X-Conversation-Id": cid}}):
        for stream in (False, True):
            with pytest.raises(openai.NotFoundError) as caught:
                bob_client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "ignore her"}],
                                                   stream=stream, **kwargs)
            assert caught.value.body["type"] == "not_found_error"
    # A conversation that does not exist at all gets the same answer.
    with pytest.raises(openai.NotFoundError) as missing:
        bob_client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "x"}],
                                           metadata={"conversation_id": "conv_doesnotexist"})
    assert missing.value.body == caught.value.body
    assert server.history(alice, cid) == before and len(llm.calls) == 1
    llm.assert_complete()


def test_body_and_header_naming_different_conversations_is_400(live):
    server = live(providers={"scripted": ScriptedProvider()})
    user = server.user()
    a, b = server.conversation(user), server.conversation(user)
    with pytest.raises(openai.BadRequestError):
        server.client(user).chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}],
                                                    metadata={"conversation_id": a}, extra_headers={"X-Conversation-Id": b})


FULL_ORDERS = {
    "ko": ["불고기버거 2개랑 콜라 주세요", "다 됐어요", "포장이요", "카드로 할게요"],
    "en": ["two cheeseburgers and a large coke", "that's all", "for here", "cash"],
    "zh": ["我要两个芝士汉堡", "再来一杯可乐", "就这些", "打包", "刷卡"],
}


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
def test_a_full_kiosk_order_through_the_openai_client(live, lang):
    server = live(providers={"scripted": ScriptedProvider()})  # no LLM call may happen
    user = server.user()
    cid = server.conversation(user, agent="kiosk")
    client = server.client(user)
    for text in FULL_ORDERS[lang]:
        answer = client.chat.completions.create(model="kiosk", messages=[{"role": "user", "content": text}],
                                                metadata={"conversation_id": cid})
        assert answer.choices[0].message.content
    order = server.http.get(f"/api/conversations/{cid}/order", headers=user.headers).json()
    assert order["state"] == "done" and order["order_number"] is not None
    placed = server.http.get("/api/kiosk/orders", headers=user.headers).json()["data"]
    assert [p["order_number"] for p in placed] == [order["order_number"]]


def test_an_unbound_kiosk_call_asks_for_a_conversation(live):
    server = live(providers={"scripted": ScriptedProvider()})
    user = server.user()
    with pytest.raises(openai.BadRequestError) as caught:
        server.client(user).chat.completions.create(model="kiosk", messages=[{"role": "user", "content": "콜라 하나"}])
    assert caught.value.body["code"] == "conversation_required"
