"""One chat, one conversation: a client's own chat id creates and then names the caller's conversation."""

from __future__ import annotations

import threading

from chatkiosk.llm.fake import ScriptedProvider, delay
from chatkiosk.llm.openai_compat import OpenAICompatProvider

from .conftest import passthrough_config


def _cart(server, user, external_id):
    convs = server.http.get("/api/conversations", headers=user.headers).json()["data"]
    found = [c for c in convs if (c.get("metadata") or {}).get("external_id") == external_id]
    assert len(found) == 1, convs
    order = server.http.get(f"/api/conversations/{found[0]['id']}/order", headers=user.headers).json()
    return found[0], {i["item_id"]: i["quantity"] for i in order["items"]}


def test_a_kiosk_order_across_two_calls_bound_by_a_client_chosen_id(live):
    server = live(providers={"scripted": ScriptedProvider()})  # plain orders never reach the LLM
    user = server.user()
    client = server.client(user)
    for text in ("cheeseburger 2", "and one cola"):
        answer = client.chat.completions.with_raw_response.create(
            model="kiosk", messages=[{"role": "user", "content": text}], metadata={"conversation_id": "my-chat-42"})
        assert answer.headers["x-conversation-id"] == "my-chat-42" and answer.parse().choices[0].message.content
    conv, cart = _cart(server, user, "my-chat-42")
    assert conv["agent"] == "kiosk" and cart == {"cheeseburger": 2, "cola": 1}


def test_the_same_external_id_of_two_users_names_two_conversations(live):
    server = live(providers={"scripted": ScriptedProvider()})
    alice, bob = server.user(), server.user()
    server.client(alice).chat.completions.create(model="kiosk", messages=[{"role": "user", "content": "cheeseburger 2"}],
                                                 extra_headers={"X-Conversation-Id": "shared-name"})
    server.client(bob).chat.completions.create(model="kiosk", messages=[{"role": "user", "content": "one cola"}],
                                               extra_headers={"X-Conversation-Id": "shared-name"})
    a_conv, a_cart = _cart(server, alice, "shared-name")
    b_conv, b_cart = _cart(server, bob, "shared-name")
    assert a_conv["id"] != b_conv["id"] and a_cart == {"cheeseburger": 2} and b_cart == {"cola": 1}


def test_open_webui_chat_id_header_binds_and_its_task_calls_are_not_turns(live):
    llm = ScriptedProvider(['{"title": "🍔 Burger order"}'])
    server = live(providers={"scripted": llm})
    user = server.user()
    client = server.client(user)
    owui = {"X-OpenWebUI-Chat-Id": "5f0c3c1e-9a55-4c0b-8d43-7a1c2f1e9b10"}
    client.chat.completions.create(model="kiosk", messages=[{"role": "user", "content": "cheeseburger 2"}], extra_headers=owui)
    title = client.chat.completions.create(model="kiosk", extra_headers=owui, messages=[
        {"role": "user", "content": "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n"
                                    "<chat_history>\nUSER: cheeseburger 2\n</chat_history>"}])
    assert title.choices[0].message.content == '{"title": "🍔 Burger order"}'
    assert llm.calls[0].tools is None  # no kiosk command can run from a task prompt
    client.chat.completions.create(model="kiosk", messages=[{"role": "user", "content": "one cola"}], extra_headers=owui)
    conv, cart = _cart(server, user, owui["X-OpenWebUI-Chat-Id"])
    assert cart == {"cheeseburger": 2, "cola": 1}
    assert [m["content"] for m in server.history(user, conv["id"]) if m["role"] == "user"] == ["cheeseburger 2", "one cola"]


def test_open_webui_chat_id_on_a_passthrough_model_is_not_a_binding(live, upstream):
    server = live(providers={"scripted": ScriptedProvider(), "up": OpenAICompatProvider(passthrough_config(upstream))})
    answer = server.client(server.user()).chat.completions.create(
        model="up-model", messages=[{"role": "user", "content": "hi"}], extra_headers={"X-OpenWebUI-Chat-Id": "abc"})
    assert answer.choices[0].message.content


def test_a_second_call_waits_for_the_answer_in_flight(live):
    llm = ScriptedProvider([[delay(1.0), "first answer"], "second answer"])
    server = live(providers={"scripted": llm})
    user = server.user()
    client = server.client(user)
    answers: dict[str, str] = {}

    def ask(text: str) -> None:
        reply = client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": text}],
                                               metadata={"conversation_id": "busy-chat"})
        answers[text] = reply.choices[0].message.content or ""

    first = threading.Thread(target=ask, args=("one",))
    first.start()
    threading.Event().wait(0.3)
    ask("two")  # while "one" is being answered: waits instead of 409
    first.join()
    assert answers == {"one": "first answer", "two": "second answer"}
    assert [m["content"] for m in llm.calls[1].messages[1:]] == ["one", "first answer", "two"]
