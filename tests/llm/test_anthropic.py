"""AnthropicProvider: message translation, and the Messages API over a real socket."""

from __future__ import annotations

import json
import time

import pytest

from chatkiosk.errors import UpstreamError, UpstreamTimeout
from chatkiosk.llm.anthropic import to_anthropic
from chatkiosk.llm.base import Finish, GenerationOptions, TextDelta, ToolCallDelta, ToolSpec, UsageReport
from tests.fake_upstream import FakeToolCall, Reply
from tests.llm.conftest import assert_no_stray_tasks

CONVERSATION = [
    {"role": "system", "content": "You are a kiosk."},
    {"role": "user", "content": "One cola please."},
    {
        "role": "assistant",
        "content": "Adding it.",
        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "add_item", "arguments": '{"item_id": "cola"}'}}],
    },
    {"role": "tool", "tool_call_id": "t1", "content": "added"},
    {"role": "user", "content": "Thanks"},
]
LOOKUP = ToolSpec("lookup", "Find an order.", {"type": "object", "properties": {"id": {"type": "string"}}})


async def collect(stream, into: list | None = None) -> list:
    pieces = [] if into is None else into
    async for piece in stream:
        pieces.append(piece)
    return pieces


def test_translation_splits_system_and_maps_tool_turns():
    system, turns = to_anthropic(CONVERSATION)

    assert system == "You are a kiosk."
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]  # tool result + user merged
    assert turns[1]["content"] == [
        {"type": "text", "text": "Adding it."},
        {"type": "tool_use", "id": "t1", "name": "add_item", "input": {"item_id": "cola"}},
    ]
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "added"},
        {"type": "text", "text": "Thanks"},
    ]


async def test_streams_text_and_usage_with_the_right_headers(upstream, make_anthropic):
    upstream.queue(Reply(text="Hello there", chunks=3, usage=(21, 4)))
    provider = make_anthropic(upstream, api_key="sk-ant-1")

    pieces = await collect(provider.stream(CONVERSATION, tools=[LOOKUP], options=GenerationOptions(temperature=0.5, stop=["END"])))

    assert "".join(p.text for p in pieces if isinstance(p, TextDelta)) == "Hello there"
    assert Finish("stop") in pieces
    usage = next(p.usage for p in pieces if isinstance(p, UsageReport))
    assert (usage.prompt_tokens, usage.completion_tokens) == (21, 4)
    request = upstream.requests[0]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-1" and request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    body = request.json
    assert body["system"] == "You are a kiosk." and body["max_tokens"] == 1024 and body["stream"] is True
    assert body["stop_sequences"] == ["END"] and body["temperature"] == 0.5
    assert body["tools"] == [{"name": "lookup", "description": "Find an order.", "input_schema": LOOKUP.parameters}]


async def test_streams_tool_use_as_tool_call_deltas(upstream, make_anthropic):
    upstream.queue(Reply(text="Let me look.", tool_calls=(FakeToolCall("lookup", {"id": "A-1"}, id="toolu_1", pieces=3),)))
    provider = make_anthropic(upstream)

    pieces = await collect(provider.stream(CONVERSATION, tools=[LOOKUP]))

    deltas = [p for p in pieces if isinstance(p, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(0, id="toolu_1", name="lookup")  # index counts tools, not blocks
    assert {d.index for d in deltas} == {0}
    assert json.loads("".join(d.arguments for d in deltas)) == {"id": "A-1"}
    assert Finish("tool_calls") in pieces


async def test_complete(upstream, make_anthropic):
    upstream.queue(Reply(text="Done.", tool_calls=(FakeToolCall("lookup", {"id": "B"}, id="tu"),), usage=(5, 6)))
    provider = make_anthropic(upstream)

    result = await provider.complete(CONVERSATION, options=GenerationOptions(max_tokens=64))

    assert result.text == "Done." and result.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [("tu", "lookup", {"id": "B"})]
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (5, 6)
    assert upstream.requests[0].json["max_tokens"] == 64


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (529, True), (400, False)])
async def test_http_errors_are_mapped(upstream, make_anthropic, status, retryable):
    upstream.queue(Reply.error(status, "overloaded or wrong"))
    provider = make_anthropic(upstream)

    with pytest.raises(UpstreamError) as info:
        await collect(provider.stream(CONVERSATION))

    assert info.value.retryable is retryable and info.value.upstream_status == status
    assert "overloaded or wrong" in info.value.message


async def test_mid_stream_drop_raises_after_partial_text(upstream, make_anthropic):
    upstream.queue(Reply(text="abcdef", chunks=3, drop_after=4))  # start, block start, 2 deltas
    provider = make_anthropic(upstream)
    pieces: list = []

    with pytest.raises(UpstreamError):
        await collect(provider.stream(CONVERSATION), pieces)

    assert [p.text for p in pieces] == ["ab", "cd"]


async def test_hang_ends_at_first_token_deadline(upstream, make_anthropic):
    upstream.queue(Reply(hang_after=1))  # message_start, then nothing
    provider = make_anthropic(upstream, first_token_timeout=0.3, total_timeout=5)

    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await collect(provider.stream(CONVERSATION))

    assert 0.25 <= time.monotonic() - started < 1.5
    await assert_no_stray_tasks()
    assert await upstream.requests[0].wait_cancelled_async(2)


async def test_check_and_base_url_forms(upstream, make_anthropic):
    assert await make_anthropic(upstream).check() is True
    assert await make_anthropic(upstream, base_url=upstream.base_url).check() is True  # ".../v1" too
    assert [r.path for r in upstream.requests] == ["/v1/models", "/v1/models"]


def test_image_parts_become_base64_image_blocks():
    _, turns = to_anthropic([{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklGRg=="}}]}])
    assert turns == [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRg=="}},
    ]}]
