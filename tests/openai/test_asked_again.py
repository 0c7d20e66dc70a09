"""A bound call that asks again for the conversation's last answer (Open WebUI's Regenerate)
gets the answer on record; the turn does not run twice, so an order is not repeated."""

from __future__ import annotations

import openai
import pytest

from chatkiosk.llm.fake import ScriptedProvider

from .test_client_binding import _cart

OWUI_CHAT = "0b7e4a52-1f0e-4d8e-9a39-5f7f8f1c2d11"


def _say(client, messages, **extra):
    return client.chat.completions.create(model="kiosk", messages=messages, extra_headers={"X-OpenWebUI-Chat-Id": OWUI_CHAT}, **extra)


def test_regenerate_in_open_webui_gives_back_the_answer_and_keeps_the_cart(live):
    server = live(providers={"scripted": ScriptedProvider()})  # plain orders never reach the LLM
    user = server.user()
    client = server.client(user)
    first = _say(client, [{"role": "user", "content": "치즈버거 2개 주세요"}]).choices[0].message.content
    chat = [{"role": "user", "content": "치즈버거 2개 주세요"}, {"role": "assistant", "content": first},
            {"role": "user", "content": "콜라 하나 추가요"}]
    second = _say(client, chat).choices[0].message.content
    again = "".join(c.choices[0].delta.content or "" for c in _say(client, chat, stream=True) if c.choices)  # Try Again, streamed as Open WebUI asks
    conv, cart = _cart(server, user, OWUI_CHAT)
    assert cart == {"cheeseburger": 2, "cola": 1}
    assert again == second
    assert [(m["role"], m["content"]) for m in server.history(user, conv["id"])] == [
        ("user", "치즈버거 2개 주세요"), ("assistant", first), ("user", "콜라 하나 추가요"), ("assistant", second)]


def test_an_answer_on_record_costs_no_model_call(live):
    llm = ScriptedProvider(["Paris.", "About 2.1 million people."])
    server = live(providers={"scripted": llm})
    client = server.client(server.user())
    ask = {"model": "assistant", "metadata": {"conversation_id": "trip"}}
    client.chat.completions.create(messages=[{"role": "user", "content": "Capital of France?"}], **ask)
    chat = [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "How many live there?"}]
    assert client.chat.completions.create(messages=chat, **ask).choices[0].message.content == "About 2.1 million people."
    again = client.chat.completions.create(messages=chat, **ask)
    assert again.choices[0].message.content == "About 2.1 million people." and again.choices[0].finish_reason == "stop"
    assert again.usage.total_tokens == 0 and len(llm.calls) == 2


@pytest.mark.parametrize("whole_chat", [False, True])
def test_saying_the_same_thing_twice_is_two_turns(live, whole_chat):
    server = live(providers={"scripted": ScriptedProvider()})
    user = server.user()
    client = server.client(user)
    said: list[dict[str, str]] = []
    for _ in range(2):
        said.append({"role": "user", "content": "콜라 하나 추가요"})
        answer = _say(client, said if whole_chat else said[-1:]).choices[0].message.content
        said.append({"role": "assistant", "content": answer})
    assert _cart(server, user, OWUI_CHAT)[1] == {"cola": 2}


def test_another_users_conversation_is_never_replayed(live):
    server = live(providers={"scripted": ScriptedProvider()})
    alice, bob = server.user(), server.user()
    a = server.client(alice)
    first = _say(a, [{"role": "user", "content": "치즈버거 2개 주세요"}]).choices[0].message.content
    chat = [{"role": "user", "content": "치즈버거 2개 주세요"}, {"role": "assistant", "content": first},
            {"role": "user", "content": "콜라 하나 추가요"}]
    _say(a, chat)
    conv, _ = _cart(server, alice, OWUI_CHAT)
    with pytest.raises(openai.NotFoundError):  # SECURITY 13: B with A's conversation id reads nothing of it
        server.client(bob).chat.completions.create(model="kiosk", messages=chat, metadata={"conversation_id": conv["id"]})
    assert len(server.history(alice, conv["id"])) == 4
