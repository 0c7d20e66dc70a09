"""Passthrough forwards what the client sent and adds nothing; agents honour or refuse `response_format`."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from chatkiosk.llm.fake import ScriptedProvider
from chatkiosk.llm.openai_compat import OpenAICompatProvider

from ..fake_upstream import Reply
from .conftest import passthrough_config

HI = [{"role": "user", "content": "hi"}]
STRICT_TOOL = {"type": "function", "function": {
    "name": "lookup", "description": "Look a word up.", "strict": True,
    "parameters": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"], "additionalProperties": False},
}}
SCHEMA = {"type": "json_schema", "json_schema": {"name": "city", "strict": True, "schema": {
    "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": False}}}


def _server(live, upstream):
    return live(providers={"scripted": ScriptedProvider(), "up": OpenAICompatProvider(passthrough_config(upstream))})


def test_passthrough_forwards_the_clients_fields_as_sent(live, upstream):
    upstream.queue(Reply(text='{"name": "Seoul"}'))
    server = _server(live, upstream)
    image = {"role": "user", "content": [{"type": "text", "text": "Which city?"},
                                          {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}
    answer = server.client(server.user()).chat.completions.create(
        model="up-model", messages=[image], tools=[STRICT_TOOL], response_format=SCHEMA, seed=7, logprobs=True, top_logprobs=2,
        parallel_tool_calls=False, user="end-user-1", max_completion_tokens=64,
    )
    assert json.loads(answer.choices[0].message.content) == {"name": "Seoul"}
    sent = upstream.chat_requests()[0].json
    assert sent["messages"] == [image] and sent["tools"] == [STRICT_TOOL] and sent["response_format"] == SCHEMA
    assert (sent["seed"], sent["logprobs"], sent["top_logprobs"], sent["parallel_tool_calls"], sent["user"]) == (7, True, 2, False, "end-user-1")
    assert sent["max_completion_tokens"] == 64 and "max_tokens" not in sent


def test_passthrough_adds_no_max_tokens_the_client_did_not_ask_for(live, upstream):
    upstream.queue(Reply(text="a"), Reply(text="b"))
    server = _server(live, upstream)
    client = server.client(server.user())
    client.chat.completions.create(model="up-model", messages=HI)
    client.chat.completions.create(model="up-model", messages=HI, max_tokens=33)
    first, second = (r.json for r in upstream.chat_requests())
    assert "max_tokens" not in first and "max_completion_tokens" not in first
    assert second["max_tokens"] == 33


class City(BaseModel):
    name: str


def test_an_agent_passes_response_format_to_a_model_that_takes_it(live):
    llm = ScriptedProvider(['{"name": "Busan"}'])
    server = live(providers={"scripted": llm})
    parsed = server.client(server.user()).beta.chat.completions.parse(model="assistant", messages=HI, response_format=City)
    assert parsed.choices[0].message.parsed == City(name="Busan")
    sent = llm.calls[0].options.response_format
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"]["properties"] == {"name": {"title": "Name", "type": "string"}}


def test_an_agent_on_a_model_without_structured_output_refuses_it(live):
    llm = ScriptedProvider()
    llm.supports_response_format = False
    server = live(providers={"scripted": llm})
    client = server.client(server.user())
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="assistant", messages=HI, response_format={"type": "json_object"})
    assert caught.value.body["code"] == "response_format_not_supported" and caught.value.body["param"] == "response_format"
    assert llm.calls == []
    llm.turns.append("plain")  # `text` asks for nothing and is fine
    assert client.chat.completions.create(model="assistant", messages=HI, response_format={"type": "text"}).choices[0].message.content == "plain"


def test_images_to_an_agent_are_one_sentence(live):
    server = live(providers={"scripted": ScriptedProvider()})
    with pytest.raises(openai.BadRequestError) as caught:
        server.client(server.user()).chat.completions.create(model="assistant", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}])
    assert caught.value.body["code"] == "images_not_supported" and caught.value.body["param"] == "messages.0"
