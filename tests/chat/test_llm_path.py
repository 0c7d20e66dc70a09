"""The LLM path end to end: context within the model's window, the overflow message, the running summary."""

from __future__ import annotations

import json

import pytest

from chatkiosk.agents.context import message_tokens
from chatkiosk.agents.summary import wait_for_summaries
from chatkiosk.errors import ContextOverflow
from chatkiosk.llm.fake import ScriptedProvider, tool_call

WINDOW = 2048
ANSWER_CAP = 96


def _windowed(turns, *, supports_tools: bool = False) -> ScriptedProvider:
    """A scripted model that states a small window and an answer cap, like the local one."""
    llm = ScriptedProvider(turns, supports_tools=supports_tools)
    llm.context_window = WINDOW
    llm.max_output_tokens = ANSWER_CAP
    return llm


async def _conversation(api, user, agent: str) -> str:
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": agent})
    assert r.status_code == 201
    return r.json()["id"]


async def _say(api, user, cid: str, text: str, status: int = 200) -> dict:
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": text})
    assert r.status_code == status, r.text
    return r.json()


async def test_the_context_never_exceeds_the_models_window_over_a_30_turn_kiosk_conversation(make_api):
    seen: list[int] = []

    def answer(messages, tools, options):
        prompt = sum(message_tokens(m, llm.count_tokens) for m in messages)
        seen.append(prompt + (options.max_tokens or ANSWER_CAP))
        if len(seen) % 2:  # every other turn changes the order, the rest is talk
            return json.dumps({"tool": "add_item", "arguments": {"item_id": "cola", "quantity": 1}})
        return "We have burgers, sides and drinks; our fries are freshly made every few minutes. " * 3

    llm = _windowed([answer] * 30)
    # The settings allow far more than the model's window: the window must win.
    api = await make_api(providers={"s": llm}, context_max_tokens=100_000, context_max_messages=200, default_max_tokens=4000,
                         messages_per_window=100)
    user = await api.signup()
    cid = await _conversation(api, user, "kiosk")
    truncated = []
    for n in range(30):
        body = await _say(api, user, cid, f"Turn {n}: tell me a little about what is good here today, and what you would pair with it?")
        assert body["message"]["status"] == "complete", body
        truncated.append(body["usage"]["context_truncated"])
    assert len(seen) == 30
    assert max(seen) <= WINDOW, seen
    assert any(truncated)  # history was cut to fit, not sent whole
    assert llm.calls[-1].options.command_schema is not None  # the JSON command format, constrained
    order = (await api.client.get(f"/api/conversations/{cid}/order", headers=user["headers"])).json()
    assert order["items"][0]["quantity"] == 15


async def test_an_overflow_says_what_it_is(make_api):
    message = "This conversation no longer fits the model's context window of 2048 tokens (Requested tokens (2100) exceed context window of 2048). Start a new conversation, or send a shorter message."
    llm = _windowed([ContextOverflow(message, upstream_status=400)], supports_tools=True)
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _conversation(api, user, "assistant")
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hello"})
    body = r.json()
    error = body.get("error") or body["message"]["error"]
    assert error["code"] == "context_length_exceeded" and error["type"] == "invalid_request_error"
    assert "context window of 2048 tokens" in error["message"] and "not reachable" not in error["message"]
    # The page words errors with explain(): this code shows the server's message.
    page = await api.client.get("/static/api.js")
    assert page.status_code == 200 and 'code === "context_length_exceeded") return error.message' in page.text


async def test_cut_history_becomes_a_running_summary_shown_in_the_api_and_sent_to_the_model(make_api):
    def answer(messages, tools, options):
        if messages[0]["content"].startswith("You keep a running summary"):
            assert "my name is Mina" in messages[-1]["content"]
            return "Mina plans a trip to Busan on 3 May with a budget of 500,000 won."
        return "Noted."

    llm = ScriptedProvider([answer] * 12)
    api = await make_api(providers={"s": llm}, context_max_messages=4)
    user = await api.signup()
    cid = await _conversation(api, user, "assistant")
    await _say(api, user, cid, "Hi, my name is Mina and I plan a trip to Busan on 3 May, budget 500,000 won.")
    for n in range(3):
        await _say(api, user, cid, f"Another thought, number {n}.")
    await wait_for_summaries()
    conv = (await api.client.get(f"/api/conversations/{cid}", headers=user["headers"])).json()
    assert conv["summary"] == "Mina plans a trip to Busan on 3 May with a budget of 500,000 won."
    await _say(api, user, cid, "What was my budget again?")
    await wait_for_summaries()
    sent = [c for c in llm.calls if not c.messages[0]["content"].startswith("You keep")][-1].messages
    assert sent[1] == {"role": "system", "content": f"Summary of the earlier conversation: {conv['summary']}"}
    summaries = [c for c in llm.calls if c.messages[0]["content"].startswith("You keep")]
    # Each cut message is summarised once: later calls only get what was cut since.
    assert sum("my name is Mina" in c.messages[-1]["content"].split("Messages to add:")[-1] for c in summaries) == 1


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_small_model_answers_in_text_once_its_tool_has_run(make_api, backend):
    llm = _windowed([
        json.dumps({"tool": "calculator", "arguments": {"expression": "1234*5678"}}),
        "1234 × 5678 = 7006652.",
    ])
    api = await make_api(providers={"s": llm})
    user = await api.signup()
    cid = await _conversation(api, user, "assistant")
    body = await _say(api, user, cid, "What is 1234 * 5678?")
    assert body["message"]["content"] == "1234 × 5678 = 7006652."
    assert [c["name"] for c in body["message"]["tool_calls"]] == ["calculator"]
    assert body["message"]["tool_calls"][0]["result"]["result"] == 7006652
    assert llm.calls[0].options.text_only is False and llm.calls[-1].options.text_only is True
