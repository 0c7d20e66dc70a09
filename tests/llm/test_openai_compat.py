"""OpenAICompatProvider against a real fake server on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from chatkiosk.errors import UpstreamError, UpstreamTimeout
from chatkiosk.llm.base import Finish, GenerationOptions, TextDelta, ToolCallDelta, ToolSpec, UsageReport
from tests.fake_upstream import FakeToolCall, Reply
from tests.llm.conftest import USER, assert_no_stray_tasks

ADD_ITEM = ToolSpec("add_item", "Add an item to the order.", {"type": "object", "properties": {"item_id": {"type": "string"}}})


async def collect(stream, into: list | None = None) -> list:
    pieces = [] if into is None else into
    async for piece in stream:
        pieces.append(piece)
    return pieces


async def test_streams_text_then_finish_and_usage(upstream, make_openai):
    upstream.queue(Reply(text="Hello, world!", chunks=4, usage=(12, 5)))
    provider = make_openai(upstream)
    options = GenerationOptions(temperature=0.2, max_tokens=50, stop=["\n\n"])

    pieces = await collect(provider.stream(USER, options=options))

    texts = [p.text for p in pieces if isinstance(p, TextDelta)]
    assert len(texts) == 4 and "".join(texts) == "Hello, world!"
    assert Finish("stop") in pieces
    assert pieces[-1] == UsageReport(pieces[-1].usage) and pieces[-1].usage.total_tokens == 17
    body = upstream.requests[0].json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "fake-model" and body["messages"] == USER
    assert body["temperature"] == 0.2 and body["max_tokens"] == 50 and body["stop"] == ["\n\n"]
    assert "top_p" not in body  # unset options are left to the upstream's defaults


async def test_streams_tool_call_arguments_in_pieces(upstream, make_openai):
    call = FakeToolCall("add_item", {"item_id": "cola", "quantity": 2}, id="call_1", pieces=4)
    upstream.queue(Reply(text="", tool_calls=(call,)))
    provider = make_openai(upstream)

    pieces = await collect(provider.stream(USER, tools=[ADD_ITEM]))

    deltas = [p for p in pieces if isinstance(p, ToolCallDelta)]
    assert deltas[0].id == "call_1" and deltas[0].name == "add_item"
    assert len([d for d in deltas if d.arguments]) == 4  # arguments really arrived in pieces
    assert json.loads("".join(d.arguments for d in deltas)) == {"item_id": "cola", "quantity": 2}
    assert Finish("tool_calls") in pieces
    sent_tools = upstream.requests[0].json["tools"]
    assert sent_tools == [{"type": "function", "function": {"name": "add_item", "description": ADD_ITEM.description, "parameters": ADD_ITEM.parameters}}]


async def test_complete_without_streaming(upstream, make_openai):
    upstream.queue(Reply(text="Sure.", tool_calls=(FakeToolCall("add_item", {"item_id": "cola"}, id="c9"),), usage=(3, 4)))
    provider = make_openai(upstream)

    result = await provider.complete(USER, tools=[ADD_ITEM], options=GenerationOptions(model="other-model"))

    assert result.text == "Sure." and result.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [("c9", "add_item", {"item_id": "cola"})]
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (3, 4)
    body = upstream.requests[0].json
    assert "stream" not in body and body["model"] == "other-model"


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (500, True), (503, True), (400, False), (401, False), (404, False)])
async def test_http_errors_are_mapped(upstream, make_openai, status, retryable):
    upstream.script(Reply.error(status, "the upstream's own words"))
    provider = make_openai(upstream)

    with pytest.raises(UpstreamError) as streamed:
        await collect(provider.stream(USER))
    with pytest.raises(UpstreamError) as completed:
        await provider.complete(USER)

    for error in (streamed.value, completed.value):
        assert error.retryable is retryable and error.upstream_status == status
        assert "the upstream's own words" in error.message and not isinstance(error, UpstreamTimeout)


async def test_unreachable_upstream_is_a_retryable_error(make_openai, upstream):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = make_openai(upstream, base_url=f"http://127.0.0.1:{port}/v1")

    with pytest.raises(UpstreamError) as info:
        await collect(provider.stream(USER))

    assert info.value.retryable and info.value.code == "upstream_unreachable"
    assert await provider.check() is False


async def test_mid_stream_drop_raises_after_partial_text(upstream, make_openai):
    upstream.queue(Reply(text="abcdefgh", chunks=4, drop_after=3))  # role chunk + 2 text chunks
    provider = make_openai(upstream)
    pieces: list = []

    with pytest.raises(UpstreamError) as info:
        await collect(provider.stream(USER), pieces)

    assert [p.text for p in pieces] == ["ab", "cd"]
    assert info.value.retryable and info.value.code == "upstream_disconnected"


async def test_body_ending_before_finish_is_an_error(upstream, make_openai):
    upstream.queue(Reply(text="abc", chunks=1, end_after=2))  # valid HTTP end, no finish, no [DONE]
    provider = make_openai(upstream)
    pieces: list = []

    with pytest.raises(UpstreamError) as info:
        await collect(provider.stream(USER), pieces)

    assert [p.text for p in pieces] == ["abc"] and info.value.code == "upstream_disconnected"


async def test_missing_done_is_tolerated_after_a_finish(upstream, make_openai):
    upstream.queue(Reply(text="abc", done=False))  # some servers never send [DONE]
    provider = make_openai(upstream)

    pieces = await collect(provider.stream(USER))

    assert Finish("stop") in pieces


async def test_hang_before_headers_ends_at_first_token_deadline(upstream, make_openai):
    upstream.queue(Reply(hang=True))
    provider = make_openai(upstream, first_token_timeout=0.3, total_timeout=5)

    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as info:
        await collect(provider.stream(USER))
    elapsed = time.monotonic() - started

    assert 0.25 <= elapsed < 1.5, elapsed
    assert info.value.retryable and "first-token" in info.value.message
    await assert_no_stray_tasks()
    assert await upstream.requests[0].wait_cancelled_async(2)  # the hung request was dropped


async def test_silence_after_first_token_ends_at_total_deadline(upstream, make_openai):
    upstream.queue(Reply(text="abcd", chunks=2, hang_after=2))  # role chunk + "ab", then silence
    provider = make_openai(upstream, first_token_timeout=0.3, total_timeout=0.8)
    pieces: list = []

    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as info:
        await collect(provider.stream(USER), pieces)
    elapsed = time.monotonic() - started

    assert [p.text for p in pieces] == ["ab"]
    assert 0.7 <= elapsed < 2.0, elapsed
    assert "total timeout" in info.value.message
    await assert_no_stray_tasks()


async def test_trickle_ends_at_total_deadline(upstream, make_openai):
    # One byte every 20 ms never trips a read timeout, only the deadline can stop it.
    upstream.queue(Reply(text="x" * 200, chunks=50, trickle=0.02))
    provider = make_openai(upstream, first_token_timeout=0.6, total_timeout=0.9)

    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await collect(provider.stream(USER))
    elapsed = time.monotonic() - started

    assert 0.55 <= elapsed < 2.0, elapsed
    await assert_no_stray_tasks()
    assert await upstream.requests[0].wait_cancelled_async(2)


async def test_complete_respects_total_deadline(upstream, make_openai):
    upstream.queue(Reply(hang=True))
    provider = make_openai(upstream, first_token_timeout=0.2, total_timeout=0.5)

    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await provider.complete(USER)
    assert 0.45 <= time.monotonic() - started < 1.5


async def test_closing_the_stream_cancels_the_upstream_request(upstream, make_openai):
    upstream.queue(Reply(text="x" * 100, chunks=50, delay=0.05))
    provider = make_openai(upstream)

    stream = provider.stream(USER)
    first = await anext(stream)
    closed_at = time.monotonic()
    await stream.aclose()

    assert isinstance(first, TextDelta)
    request = upstream.requests[0]
    assert await request.wait_cancelled_async(2), "the upstream never saw the client leave"
    assert request.cancelled_at - closed_at < 2
    await assert_no_stray_tasks()


async def test_cancelling_the_consumer_task_cancels_the_upstream_request(upstream, make_openai):
    upstream.queue(Reply(text="x" * 100, chunks=50, delay=0.05))
    provider = make_openai(upstream)
    got_first = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.stream(USER):
            got_first.set()

    task = asyncio.create_task(consume())
    await got_first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await upstream.requests[0].wait_cancelled_async(2)


async def test_api_key_goes_only_to_the_configured_host(upstream, other_upstream, make_openai):
    # The configured host redirects to another one: the client must not follow (with the key).
    upstream.queue(Reply(redirect_to=f"{other_upstream.base_url}/chat/completions"))
    provider = make_openai(upstream, api_key="sk-secret-123")

    with pytest.raises(UpstreamError) as info:
        await collect(provider.stream(USER))
    assert await provider.check() is True

    assert info.value.upstream_status == 307 and not info.value.retryable
    assert "sk-secret-123" not in str(info.value)
    assert [r.headers["authorization"] for r in upstream.requests] == ["Bearer sk-secret-123"] * 2
    assert other_upstream.requests == []


async def test_check_asks_for_models(upstream, make_openai):
    provider = make_openai(upstream)

    assert await provider.check() is True
    assert [(r.method, r.path) for r in upstream.requests] == [("GET", "/v1/models")]


async def test_count_tokens_is_an_estimate(upstream, make_openai):
    provider = make_openai(upstream)

    assert provider.count_tokens("abcdefgh") == 2
    assert provider.count_tokens("안녕하세요") == 5
