"""`litellm` against a live server: chat, stream, a client tool on `assistant`, passthrough tools, structured output, errors."""

from __future__ import annotations

import json
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch of the price list (loopback only)

import litellm  # noqa: E402
import pytest  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from chatkiosk.llm.fake import ScriptedProvider, tool_call  # noqa: E402
from chatkiosk.llm.openai_compat import OpenAICompatProvider  # noqa: E402

from ..fake_upstream import FakeToolCall, Reply  # noqa: E402
from .conftest import passthrough_config  # noqa: E402

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}}
HI = [{"role": "user", "content": "hi"}]


class City(BaseModel):
    name: str


def _ask(server, key, model="assistant", **kwargs):
    return litellm.completion(model=f"openai/{model}", api_base=f"{server.base}/v1", api_key=key, num_retries=0, timeout=20, **kwargs)


def test_chat_stream_and_client_tool(live):
    llm = ScriptedProvider(["Hello.", ["str", "eamed"], tool_call("get_weather", {"city": "Seoul"}, id="call_1")])
    server = live(providers={"scripted": llm})
    key = server.user().key
    assert _ask(server, key, messages=HI).choices[0].message.content == "Hello."
    assert "".join(c.choices[0].delta.content or "" for c in _ask(server, key, messages=HI, stream=True)) == "streamed"
    called = _ask(server, key, messages=[{"role": "user", "content": "Weather in Seoul?"}], tools=[WEATHER])
    assert called.choices[0].finish_reason == "tool_calls"
    assert json.loads(called.choices[0].message.tool_calls[0].function.arguments) == {"city": "Seoul"}


def test_passthrough_tools_and_structured_output(live, upstream):
    upstream.queue(Reply(text="", tool_calls=(FakeToolCall("get_weather", {"city": "Busan"}, id="call_p"),)))
    llm = ScriptedProvider(['{"name": "Busan"}'])
    server = live(providers={"scripted": llm, "up": OpenAICompatProvider(passthrough_config(upstream))})
    key = server.user().key
    relayed = _ask(server, key, model="up-model", messages=HI, tools=[WEATHER])
    assert relayed.choices[0].message.tool_calls[0].id == "call_p"
    assert upstream.chat_requests()[0].json["tools"] == [WEATHER]
    shaped = _ask(server, key, messages=HI, response_format=City)
    assert City.model_validate_json(shaped.choices[0].message.content) == City(name="Busan")
    assert llm.calls[0].options.response_format["type"] == "json_schema"


def test_errors(live):
    server = live(providers={"scripted": ScriptedProvider()})
    with pytest.raises(litellm.AuthenticationError):
        _ask(server, "ck-wrong", messages=HI)
    with pytest.raises(litellm.BadRequestError):
        _ask(server, server.user().key, messages=HI, n=2)
