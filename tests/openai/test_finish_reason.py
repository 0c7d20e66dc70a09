"""`finish_reason` on agent models tells how the answer ended, and `n > 1` gets one clear sentence."""

from __future__ import annotations

import openai
import pytest

from chatkiosk.llm.base import Finish
from chatkiosk.llm.fake import ScriptedProvider

HI = [{"role": "user", "content": "hi"}]


def test_an_answer_cut_by_max_tokens_is_length(live):
    llm = ScriptedProvider([["cut sho", Finish("length")], ["cut sho", Finish("length")]])
    server = live(providers={"scripted": llm})
    client = server.client(server.user())
    answer = client.chat.completions.create(model="assistant", messages=HI, max_tokens=3)
    assert answer.choices[0].finish_reason == "length" and answer.choices[0].message.content == "cut sho"
    chunks = list(client.chat.completions.create(model="assistant", messages=HI, max_tokens=3, stream=True))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert llm.calls[0].options.max_tokens == 3


def test_a_whole_answer_is_stop(live):
    server = live(providers={"scripted": ScriptedProvider(["done."])})
    answer = server.client(server.user()).chat.completions.create(model="assistant", messages=HI)
    assert answer.choices[0].finish_reason == "stop"


def test_a_filtered_answer_is_content_filter(live):
    server = live(providers={"scripted": ScriptedProvider([["I can't", Finish("content_filter")]])})
    answer = server.client(server.user()).chat.completions.create(model="assistant", messages=HI)
    assert answer.choices[0].finish_reason == "content_filter"


@pytest.mark.parametrize("stream", [False, True])
def test_n_above_one_on_an_agent_is_one_sentence(live, stream):
    llm = ScriptedProvider()
    server = live(providers={"scripted": llm})
    with pytest.raises(openai.BadRequestError) as caught:
        server.client(server.user()).chat.completions.create(model="assistant", messages=HI, n=2, stream=stream)
    body = caught.value.body
    assert body["code"] == "n_not_supported" and body["param"] == "n" and body["type"] == "invalid_request_error"
    assert body["message"] == "n must be 1: the agent 'assistant' gives one answer per turn"
    assert llm.calls == []


@pytest.mark.parametrize("stream", [False, True])
def test_a_blocked_turn_is_content_filter(live, stream):
    llm = ScriptedProvider([["Sure, ", "you fucking genius."]])
    server = live(providers={"scripted": llm}, guardrails={"*": {"profanity": "block"}})
    client = server.client(server.user())
    if stream:
        chunks = list(client.chat.completions.create(model="assistant", messages=HI, stream=True))
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["content_filter"]
        assert "fucking" not in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        answer = client.chat.completions.create(model="assistant", messages=HI)
        assert answer.choices[0].finish_reason == "content_filter" and "fucking" not in (answer.choices[0].message.content or "")
