"""The loop with a client's tools and `tool_choice` on a model without native tools (the command format)."""

from __future__ import annotations

import json

from chatkiosk.agents.loop import run_agent
from chatkiosk.events import DeltaEvent
from chatkiosk.llm.base import GenerationOptions, ToolSpec
from chatkiosk.llm.fake import ScriptedProvider

from .conftest import drain

USER = [{"role": "system", "content": "You are a test."}, {"role": "user", "content": "weather in Seoul, and 2+3?"}]
WEATHER = ToolSpec("get_weather", "The weather in a city.", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def _command(name, arguments):
    return json.dumps({"tool": name, "arguments": arguments})


def _named(schema) -> list[str]:
    return [one["properties"]["tool"]["const"] for one in schema["anyOf"][0]["anyOf"]]


def _commands_llm(*turns, window: int | None = None) -> ScriptedProvider:
    llm = ScriptedProvider(list(turns), supports_tools=False)
    if window is not None:
        llm.context_window = window  # a small local model: the compact prompt, text after tools
    return llm


async def test_a_client_tool_is_a_command_whose_call_ends_the_run(ctx, registry):
    llm = _commands_llm(_command("get_weather", {"city": "Seoul"}))
    out = await drain(run_agent(llm, USER, ctx, registry, client_tools=[WEATHER]))
    [call] = out.result.client_calls
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Seoul"}) and out.result.finish_reason == "tool_calls"
    assert _named(llm.calls[0].options.command_schema) == ["add", "lookup", "fail", "get_weather"]
    assert "get_weather" in llm.calls[0].messages[0]["content"]  # described in the command prompt
    assert llm.calls[0].options.tool_choice is None and out.of("delta") == []


async def test_a_named_tool_leaves_only_its_command_on_the_first_step(ctx, registry, calls):
    llm = _commands_llm(_command("add", {"a": 2, "b": 3}), "Five.")
    named = {"type": "function", "function": {"name": "add"}}
    out = await drain(run_agent(llm, USER, ctx, registry, client_tools=[WEATHER], tool_choice=named))
    assert calls == [("add", {"a": 2, "b": 3})] and out.result.text == "Five."
    first, second = (c.options for c in llm.calls)
    assert _named(first.command_schema) == ["add"] and first.tool_choice == "required"
    assert _named(second.command_schema) == ["add", "lookup", "fail", "get_weather"] and second.tool_choice is None


async def test_required_on_a_small_model_asks_for_the_clients_tool_once_the_agents_ran(ctx, registry, calls):
    llm = _commands_llm(_command("add", {"a": 2, "b": 3}), _command("get_weather", {"city": "Seoul"}), window=4096)
    out = await drain(run_agent(llm, USER, ctx, registry, client_tools=[WEATHER], tool_choice="required"))
    assert calls == [("add", {"a": 2, "b": 3})] and [c.name for c in out.result.client_calls] == ["get_weather"]
    first, second = (c.options for c in llm.calls)
    assert first.tool_choice == second.tool_choice == "required" and not second.text_only
    assert _named(first.command_schema) == ["add", "lookup", "fail", "get_weather"] and _named(second.command_schema) == ["get_weather"]


async def test_with_a_response_format_json_that_is_no_command_is_the_answer(ctx, registry):
    fmt = {"type": "json_object"}
    llm = _commands_llm('{"city": "Seoul", "sky": "clear"}')
    out = await drain(run_agent(llm, USER, ctx, registry, options=GenerationOptions(response_format=fmt)))
    assert out.result.text == '{"city": "Seoul", "sky": "clear"}' and out.result.tool_calls == []
    assert [e.text for e in out.events if isinstance(e, DeltaEvent)] == [out.result.text]
    assert llm.calls[0].options.response_format == fmt and len(llm.calls) == 1  # no "fix your command" round
