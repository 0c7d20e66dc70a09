"""A forced `tool_choice` on each wire: OpenAI's as it is, Anthropic's in its words, never without tools."""

from __future__ import annotations

from chatkiosk.llm.base import GenerationOptions, ToolSpec

from .conftest import USER

WEATHER = ToolSpec("get_weather", "The weather in a city.", {"type": "object", "properties": {"city": {"type": "string"}}})
NAMED = {"type": "function", "function": {"name": "get_weather"}}


async def _drain(provider, tools, choice) -> None:
    async for _ in provider.stream(USER, tools=tools, options=GenerationOptions(tool_choice=choice)):
        pass


async def test_openai_sends_the_choice_with_the_tools_only(upstream, make_openai):
    provider = make_openai(upstream)
    await _drain(provider, [WEATHER], NAMED)
    await _drain(provider, None, "required")
    with_tools, without = (r.json for r in upstream.chat_requests())
    assert with_tools["tool_choice"] == NAMED and "tool_choice" not in without


async def test_anthropic_says_any_or_names_the_tool(upstream, make_anthropic):
    provider = make_anthropic(upstream)
    await _drain(provider, [WEATHER], "required")
    await _drain(provider, [WEATHER], NAMED)
    required, named = (r.json for r in upstream.chat_requests())
    assert required["tool_choice"] == {"type": "any"} and named["tool_choice"] == {"type": "tool", "name": "get_weather"}
