"""`pydantic-ai-slim` against a live server: chat, stream, a client tool on `assistant`, `output_type`, errors."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelHTTPError
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from chatkiosk.llm.fake import ScriptedProvider, tool_call


def _model(server, key, name="assistant"):
    return OpenAIChatModel(name, provider=OpenAIProvider(base_url=f"{server.base}/v1", api_key=key))


class City(BaseModel):
    name: str


def test_chat_and_stream(live):
    server = live(providers={"scripted": ScriptedProvider(["Hello.", ["str", "eamed"]])})
    agent = Agent(_model(server, server.user().key))
    assert agent.run_sync("hi").output == "Hello."

    async def streamed() -> str:
        async with agent.run_stream("hi") as run:
            return "".join([d async for d in run.stream_text(delta=True)])

    import asyncio
    assert asyncio.run(streamed()) == "streamed"


def test_a_client_tool_runs_in_the_client_and_the_agent_goes_on(live):
    llm = ScriptedProvider([tool_call("get_weather", {"city": "Seoul"}), "Seoul is sunny."])
    server = live(providers={"scripted": llm})
    agent = Agent(_model(server, server.user().key))
    ran: list[str] = []

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The weather in a city."""
        ran.append(city)
        return "sunny"

    assert agent.run_sync("Weather in Seoul?").output == "Seoul is sunny."
    assert ran == ["Seoul"] and llm.calls[1].messages[-1]["role"] == "tool"


def test_output_type_on_an_agent(live):
    # pydantic-ai asks for its output through a tool (`final_result`), which comes back to it.
    llm = ScriptedProvider([tool_call("final_result", {"name": "Busan"})])
    server = live(providers={"scripted": llm})
    result = Agent(_model(server, server.user().key), output_type=City).run_sync("Which city has Haeundae?")
    assert result.output == City(name="Busan")


def test_errors(live):
    server = live(providers={"scripted": ScriptedProvider()})
    with pytest.raises(ModelHTTPError) as caught:
        Agent(_model(server, "ck-wrong")).run_sync("hi")
    assert caught.value.status_code == 401
