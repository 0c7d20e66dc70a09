"""ScriptedProvider: the scripted LLM other parts' tests rely on."""

from __future__ import annotations

import asyncio
import json

import pytest

from chatkiosk.errors import UpstreamError
from chatkiosk.llm.base import Finish, GenerationOptions, Provider, TextDelta, ToolCallDelta, ToolSpec, UsageReport
from chatkiosk.llm.fake import ScriptedProvider, delay, tool_call, usage

USER = [{"role": "user", "content": "hello"}]


async def collect(stream) -> list:
    return [piece async for piece in stream]


def test_is_a_provider():
    assert isinstance(ScriptedProvider([]), Provider)


async def test_plays_turns_in_order_and_records_calls():
    llm = ScriptedProvider(["Hello!", tool_call("add_item", {"item_id": "cola"}), ["chunk1", "chunk2", usage(9, 2)]])
    tools = [ToolSpec("add_item", "Add.", {"type": "object"})]
    options = GenerationOptions(temperature=0.1)

    first = await collect(llm.stream(USER, options=options))
    second = await collect(llm.stream(USER, tools=tools))
    third = await collect(llm.stream(USER))

    assert first[0] == TextDelta("Hello!") and Finish("stop") in first
    assert isinstance(first[-1], UsageReport) and first[-1].usage.completion_tokens >= 1  # auto usage
    assert second[0] == ToolCallDelta(0, id="call_0_add_item", name="add_item", arguments='{"item_id": "cola"}')
    assert Finish("tool_calls") in second
    assert [p.text for p in third if isinstance(p, TextDelta)] == ["chunk1", "chunk2"]
    assert [p for p in third if isinstance(p, UsageReport)] == [usage(9, 2)]  # no auto usage twice
    assert [c.options for c in llm.calls] == [options, GenerationOptions(), GenerationOptions()]
    assert llm.calls[1].tools == tools and llm.calls[0].last_user_text == "hello"
    llm.assert_complete()


async def test_records_a_copy_of_the_messages():
    llm = ScriptedProvider(["ok"])
    messages = [{"role": "user", "content": "a"}]
    await llm.complete(messages)
    messages.append({"role": "assistant", "content": "b"})
    assert llm.calls[0].messages == [{"role": "user", "content": "a"}]


async def test_complete_gathers_text_tool_calls_and_usage():
    llm = ScriptedProvider([["Sure. ", tool_call("add_item", {"item_id": "cola"}, id="c1", chunks=3), usage(4, 5)]])

    result = await llm.complete(USER)

    assert result.text == "Sure. " and result.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [("c1", "add_item", {"item_id": "cola"})]
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (4, 5)


async def test_errors_are_raised_where_scripted():
    llm = ScriptedProvider([UpstreamError("down", retryable=True), ["partial", UpstreamError("cut")]])

    with pytest.raises(UpstreamError, match="down"):
        await collect(llm.stream(USER))
    pieces = []
    with pytest.raises(UpstreamError, match="cut"):
        async for piece in llm.stream(USER):
            pieces.append(piece)
    assert pieces == [TextDelta("partial")]


async def test_delay_and_early_close_are_visible():
    llm = ScriptedProvider([["first", delay(5), "never"]])

    stream = llm.stream(USER)
    assert await anext(stream) == TextDelta("first")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await anext(stream)
    await stream.aclose()

    assert llm.calls[0].closed_early and not llm.calls[0].finished


async def test_callable_turns_see_the_call():
    llm = ScriptedProvider([lambda messages, tools, options: "echo: " + messages[-1]["content"]])
    result = await llm.complete(USER)
    assert result.text == "echo: hello"


async def test_running_out_of_turns_and_leftovers_are_loud():
    llm = ScriptedProvider(["only one", "unused"])
    await llm.complete(USER)
    with pytest.raises(AssertionError, match="never played"):
        llm.assert_complete()
    await llm.complete(USER)
    with pytest.raises(AssertionError, match="no scripted turn left"):
        await llm.complete(USER)


async def test_options():
    llm = ScriptedProvider([], name="kiosk-llm", supports_tools=False, auto_usage=False, ready=False)
    llm.add("x")
    assert (llm.name, llm.supports_tools, await llm.check(), llm.remaining) == ("kiosk-llm", False, False, 1)
    assert [type(p) for p in await collect(llm.stream(USER))] == [TextDelta, Finish]
    await llm.aclose()
    assert llm.closed and llm.count_tokens("abcd") == 1
