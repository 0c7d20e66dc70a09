"""A small local window is not crowded out by a client's tools: Open WebUI attaches its 36
built-in tools (~4,000 tokens) to every call, and a 2,048-token model answers without them
instead of failing with context_length_exceeded; a client that insists on a call is told why."""

from __future__ import annotations

import openai
import pytest

from chatkiosk.llm.fake import ScriptedProvider

ASK = [{"role": "user", "content": "What is 17 times 23?"}]
BOUND = {"metadata": {"conversation_id": "owui-chat-1"}}


def _tool(i: int) -> dict:
    return {"type": "function", "function": {
        "name": f"builtin_tool_{i}",
        "description": "Search the user's notes, memories, knowledge bases and calendar for anything that "
                       "matches the query and return the matching entries with their ids and dates. " * 2,
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string", "description": "What to look for, in the user's own words."},
            "limit": {"type": "integer", "description": "How many entries to return at most."},
            "since": {"type": "string", "description": "Only entries after this ISO date."},
        }, "required": ["query"]},
    }}


OPEN_WEBUI_TOOLS = [_tool(i) for i in range(36)]
SMALL = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def _small_window_model(*answers: str) -> ScriptedProvider:
    llm = ScriptedProvider(list(answers), supports_tools=False)  # the JSON command format, like llama.cpp
    llm.context_window = 2048
    return llm


def _system(llm: ScriptedProvider, call: int = 0) -> str:
    return str(llm.calls[call].messages[0]["content"])


def test_a_small_window_answers_without_tools_that_would_crowd_it_out(live):
    llm = _small_window_model("391", "391 again")
    server = live(providers={"scripted": llm})
    client = server.client(server.user())
    for extra in ({}, BOUND):  # unbound and bound to a client's chat id
        r = client.chat.completions.create(model="assistant", messages=ASK, tools=OPEN_WEBUI_TOOLS, **extra)
        assert r.choices[0].finish_reason == "stop" and r.choices[0].message.content.startswith("391")
    assert "builtin_tool_0" not in _system(llm, 0) and "builtin_tool_0" not in _system(llm, 1)
    assert "calculator" in _system(llm, 0)  # the agent's own tools stay


def test_tools_that_fit_are_still_offered(live):
    llm = _small_window_model("I will look.")
    server = live(providers={"scripted": llm})
    client = server.client(server.user())
    client.chat.completions.create(model="assistant", messages=ASK, tools=[SMALL])
    assert "get_weather" in _system(llm)


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "builtin_tool_3"}}])
def test_a_client_that_insists_on_a_call_gets_a_clear_400(live, choice):
    llm = _small_window_model()
    server = live(providers={"scripted": llm})
    client = server.client(server.user())
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="assistant", messages=ASK, tools=OPEN_WEBUI_TOOLS, tool_choice=choice)
    body = err.value.body
    assert body["code"] == "tools_too_large" and body["param"] == "tools"
    assert "2048-token window" in body["message"]
    assert llm.calls == []
