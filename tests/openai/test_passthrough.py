"""Passthrough models: the client's tools go to the upstream, its tool calls come back (SECURITY 17, 22)."""

from __future__ import annotations

import json

import openai
import pytest

from chatkiosk.llm.fake import ScriptedProvider
from chatkiosk.llm.openai_compat import OpenAICompatProvider

from ..fake_upstream import FakeToolCall, FakeUpstream, Reply
from .conftest import UPSTREAM_KEY, passthrough_config

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CALL = FakeToolCall("get_weather", {"city": "Seoul", "unit": "celsius"}, id="call_w1", pieces=4)


def _server(live, upstream, **changes):
    return live(providers={"scripted": ScriptedProvider(), "up": OpenAICompatProvider(passthrough_config(upstream, **changes))})


def test_streamed_tool_call_arguments_come_back_in_pieces(live, upstream):
    upstream.queue(Reply(text="", tool_calls=(CALL,), usage=(30, 12)))
    server = _server(live, upstream)
    stream = server.client(server.user()).chat.completions.create(
        model="up-model", messages=[{"role": "user", "content": "weather in Seoul?"}],
        tools=[WEATHER], tool_choice="auto", stream=True, stream_options={"include_usage": True},
    )
    chunks = list(stream)
    pieces = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert len(pieces) >= 4  # the arguments arrive in several chunks, as the upstream sent them
    assert pieces[0].id == "call_w1" and pieces[0].function.name == "get_weather" and pieces[0].type == "function"
    assert json.loads("".join(p.function.arguments or "" for p in pieces)) == {"city": "Seoul", "unit": "celsius"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage.prompt_tokens == 30 and chunks[-1].usage.completion_tokens == 12
    sent = upstream.chat_requests()[0].json
    assert sent["model"] == "up-model" and sent["tools"] == [WEATHER] and sent["tool_choice"] == "auto"


async def test_async_stream_of_tool_call(live, upstream):
    upstream.queue(Reply(text="", tool_calls=(CALL,)))
    server = _server(live, upstream)
    async with server.async_client(server.user()) as client:
        stream = await client.chat.completions.create(
            model="up-model-large", messages=[{"role": "user", "content": "weather?"}], tools=[WEATHER], stream=True,
        )
        arguments = [tc.function.arguments or "" async for c in stream if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert json.loads("".join(arguments))["city"] == "Seoul"
    assert upstream.chat_requests()[0].json["model"] == "up-model-large"


def test_non_streamed_tool_call_and_the_result_round_trip(live, upstream):
    upstream.queue(Reply(text="", tool_calls=(CALL,)), Reply(text="It is sunny in Seoul."))
    server = _server(live, upstream)
    client = server.client(server.user())
    messages = [{"role": "user", "content": "weather in Seoul?"}]
    first = client.chat.completions.create(model="up-model", messages=messages, tools=[WEATHER],
                                           tool_choice={"type": "function", "function": {"name": "get_weather"}})
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    # The client runs its tool and sends the result back; the server relays it unchanged.
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "sunny"}'}]
    second = client.chat.completions.create(model="up-model", messages=messages, tools=[WEATHER])
    assert second.choices[0].message.content == "It is sunny in Seoul."
    requests = upstream.chat_requests()
    assert requests[0].json["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    relayed = requests[1].json["messages"]
    assert relayed[1]["tool_calls"][0]["id"] == call.id and relayed[2] == {"role": "tool", "content": '{"sky": "sunny"}', "tool_call_id": call.id}


def test_passthrough_text_stream(live, upstream):
    upstream.queue(Reply(text="plain text answer", chunks=4))
    server = _server(live, upstream)
    chunks = list(server.client(server.user()).chat.completions.create(
        model="up-model", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "plain text answer"


def test_upstream_failure_is_502(live, upstream):
    upstream.queue(Reply.error(500))
    server = _server(live, upstream)
    with pytest.raises(openai.InternalServerError) as caught:
        server.client(server.user()).chat.completions.create(model="up-model", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502 and caught.value.body["type"] == "upstream_error"


def test_upstream_url_in_the_body_is_refused_and_the_key_stays_home(live, upstream):
    """SECURITY 17: no client-chosen upstream; the provider key reaches only the configured one."""
    with FakeUpstream() as elsewhere:
        server = _server(live, upstream)
        client = server.client(server.user())
        for field in ("base_url", "api_base", "apiBase", "endpoint", "api_key"):
            with pytest.raises(openai.BadRequestError) as caught:
                client.chat.completions.create(
                    model="up-model", messages=[{"role": "user", "content": "hi"}], extra_body={field: elsewhere.base_url},
                )
            assert caught.value.body["code"] == "upstream_not_allowed" and caught.value.body["param"] == field
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}],
                                           metadata={"base_url": elsewhere.base_url})
        # A URL in the message text is only text.
        client.chat.completions.create(model="up-model", messages=[{"role": "user", "content": f"call {elsewhere.base_url}"}])
        assert elsewhere.requests == []
        assert [r.headers.get("authorization") for r in upstream.requests] == [f"Bearer {UPSTREAM_KEY}"]


def test_a_redirecting_upstream_does_not_carry_the_key_away(live, upstream):
    """SECURITY 17: the provider client never follows a redirect to another host."""
    with FakeUpstream() as elsewhere:
        upstream.queue(Reply(redirect_to=f"{elsewhere.base_url}/chat/completions"))
        server = _server(live, upstream)
        with pytest.raises(openai.APIStatusError):
            server.client(server.user()).chat.completions.create(model="up-model", messages=[{"role": "user", "content": "hi"}])
        assert elsewhere.requests == []


def test_a_model_no_provider_serves_is_404_even_with_passthrough(live, upstream):
    server = _server(live, upstream)
    with pytest.raises(openai.NotFoundError):
        server.client(server.user()).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert upstream.requests == []
