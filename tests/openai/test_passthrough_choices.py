"""Passthrough relays every choice a client asks for (`n`) and the upstream's `logprobs` unchanged."""

from __future__ import annotations

import httpx
import pytest

from chatkiosk.llm.fake import ScriptedProvider
from chatkiosk.llm.openai_compat import OpenAICompatProvider

from ..fake_upstream import Reply, choice_text
from .conftest import passthrough_config

ASK = [{"role": "user", "content": "Name a big city."}]
REPLY = Reply(text="Seoul is a big city.", chunks=4, usage=(9, 15))


def _server(live, upstream):
    return live(providers={"scripted": ScriptedProvider(), "up": OpenAICompatProvider(passthrough_config(upstream))})


def _upstream_answer(upstream, **fields) -> dict:
    """What the upstream itself answers to the same request, not streamed (the record to match)."""
    upstream.queue(REPLY)
    body = {"model": "up-model", "messages": ASK, **fields}
    answer = httpx.post(f"{upstream.base_url}/chat/completions", json=body, timeout=5).json()
    upstream.reset()
    return answer


def test_n_choices_with_logprobs_come_back_as_the_upstream_sent_them(live, upstream):
    record = _upstream_answer(upstream, n=3, logprobs=True, top_logprobs=2)
    upstream.queue(REPLY)
    server = _server(live, upstream)
    answer = server.client(server.user()).chat.completions.create(
        model="up-model", messages=ASK, n=3, logprobs=True, top_logprobs=2)
    assert [c.index for c in answer.choices] == [0, 1, 2]
    assert [c.message.content for c in answer.choices] == [choice_text(REPLY, i) for i in range(3)]
    assert [c.finish_reason for c in answer.choices] == ["stop"] * 3
    relayed = [c.logprobs.model_dump() for c in answer.choices]
    assert relayed == [c["logprobs"] for c in record["choices"]]
    assert relayed[1]["content"][0]["top_logprobs"][1]["logprob"] == -2.0  # nested values too, as sent
    assert answer.usage.prompt_tokens == 9 and answer.usage.completion_tokens == 15
    sent = upstream.chat_requests()[0].json
    assert (sent["n"], sent["logprobs"], sent["top_logprobs"]) == (3, True, 2)


@pytest.mark.parametrize("is_async", [False, True])
async def test_streamed_choices_each_carry_their_index_and_logprobs(live, upstream, is_async):
    record = _upstream_answer(upstream, n=2, logprobs=True, top_logprobs=1)
    upstream.queue(REPLY)
    server = _server(live, upstream)
    user = server.user()
    fields = dict(model="up-model", messages=ASK, n=2, logprobs=True, top_logprobs=1, stream=True,
                  stream_options={"include_usage": True})
    if is_async:
        async with server.async_client(user) as client:
            chunks = [c async for c in await client.chat.completions.create(**fields)]
    else:
        chunks = list(server.client(user).chat.completions.create(**fields))
    texts: dict[int, str] = {}
    tokens: dict[int, list[dict]] = {}
    finishes: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
            if choice.logprobs is not None:
                tokens.setdefault(choice.index, []).extend(t.model_dump() for t in choice.logprobs.content or [])
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert texts == {0: choice_text(REPLY, 0), 1: choice_text(REPLY, 1)}
    assert finishes == {0: "stop", 1: "stop"}
    assert tokens == {i: record["choices"][i]["logprobs"]["content"] for i in (0, 1)}
    assert chunks[-1].usage.completion_tokens == 15


def test_one_choice_without_logprobs_is_as_before(live, upstream):
    upstream.queue(REPLY)
    server = _server(live, upstream)
    answer = server.client(server.user()).chat.completions.create(model="up-model", messages=ASK)
    assert len(answer.choices) == 1 and answer.choices[0].logprobs is None
    assert "n" not in upstream.chat_requests()[0].json and "logprobs" not in upstream.chat_requests()[0].json
