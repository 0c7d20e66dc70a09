"""`tool_choice` on agent models: "required" and a named tool force a call, "none" offers no tool."""

from __future__ import annotations

import openai
import pytest

from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.fake import ScriptedProvider, tool_call
from chatkiosk.llm.openai_compat import OpenAICompatProvider

from ..fake_upstream import FakeToolCall, Reply
from .conftest import passthrough_config

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}}
ASK = [{"role": "user", "content": "Weather in Seoul, and 6*7?"}]
NAMED = {"type": "function", "function": {"name": "get_weather"}}


def test_required_forces_a_call_on_every_step_until_the_clients_tool_is_called(live):
    llm = ScriptedProvider([tool_call("calculator", {"expression": "6*7"}), tool_call("get_weather", {"city": "Seoul"})])
    server = live(providers={"scripted": llm})
    answer = server.client(server.user()).chat.completions.create(model="assistant", messages=ASK, tools=[WEATHER], tool_choice="required")
    assert answer.choices[0].finish_reason == "tool_calls"
    assert [c.options.tool_choice for c in llm.calls] == ["required", "required"]


def test_a_named_tool_is_forced_on_the_first_step(live):
    llm = ScriptedProvider([tool_call("calculator", {"expression": "6*7"}), "42."])
    server = live(providers={"scripted": llm})
    client = server.client(server.user())
    forced = {"type": "function", "function": {"name": "calculator"}}  # one of the agent's own tools
    answer = client.chat.completions.create(model="assistant", messages=ASK, tools=[WEATHER], tool_choice=forced)
    assert answer.choices[0].message.content == "42." and answer.choices[0].finish_reason == "stop"
    assert [c.options.tool_choice for c in llm.calls] == [forced, None]
    llm.add(tool_call("get_weather", {"city": "Seoul"}))
    answer = client.chat.completions.create(model="assistant", messages=ASK, tools=[WEATHER], tool_choice=NAMED)
    assert answer.choices[0].finish_reason == "tool_calls" and llm.calls[-1].options.tool_choice == NAMED


def test_none_offers_no_tool_at_all(live):
    llm = ScriptedProvider(["Just text."])
    server = live(providers={"scripted": llm})
    answer = server.client(server.user()).chat.completions.create(model="assistant", messages=ASK, tools=[WEATHER], tool_choice="none")
    assert answer.choices[0].message.content == "Just text."
    assert llm.calls[0].tools is None and llm.calls[0].options.tool_choice is None


def test_a_tool_neither_the_client_nor_the_agent_has_is_one_clear_400(live, upstream):
    llm = ScriptedProvider()
    server = live(providers={"scripted": llm, "up": OpenAICompatProvider(passthrough_config(upstream))})
    client = server.client(server.user())
    ghost = {"type": "function", "function": {"name": "run_shell"}}
    for model in ("assistant", "up-model"):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model=model, messages=ASK, tools=[WEATHER], tool_choice=ghost)
        body = caught.value.body
        assert (body["code"], body["param"], body["type"]) == ("unknown_tool", "tool_choice.function.name", "invalid_request_error")
        assert "run_shell" in body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="assistant", messages=ASK, tool_choice={"type": "function", "function": {}})
    assert caught.value.body["param"] == "tool_choice.function.name"
    assert llm.calls == [] and upstream.chat_requests() == []


def test_an_agent_on_an_upstream_forwards_the_forced_choice(live, upstream):
    upstream.queue(Reply(text="", tool_calls=(FakeToolCall("get_weather", {"city": "Seoul"}, id="call_u"),)))
    agent_model = ProviderConfig(name="up", kind="openai", base_url=upstream.base_url, model="up-model", max_retries=0,
                                 connect_timeout=2, first_token_timeout=5, total_timeout=10)
    server = live(providers={"up": OpenAICompatProvider(agent_model)})
    answer = server.client(server.user()).chat.completions.create(model="assistant", messages=ASK, tools=[WEATHER], tool_choice=NAMED)
    assert answer.choices[0].finish_reason == "tool_calls" and answer.choices[0].message.tool_calls[0].id == "call_u"
    sent = upstream.chat_requests()[0].json
    assert sent["tool_choice"] == NAMED and {"get_weather", "calculator"} <= {t["function"]["name"] for t in sent["tools"]}


def test_passthrough_forwards_none_with_the_tools(live, upstream):
    upstream.queue(Reply(text="No tools today."))
    server = live(providers={"scripted": ScriptedProvider(), "up": OpenAICompatProvider(passthrough_config(upstream))})
    server.client(server.user()).chat.completions.create(model="up-model", messages=ASK, tools=[WEATHER], tool_choice="none")
    sent = upstream.chat_requests()[0].json
    assert sent["tool_choice"] == "none" and sent["tools"] == [WEATHER]
