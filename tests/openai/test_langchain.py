"""`langchain-openai` against a live server: chat, stream, client tools on `assistant`, structured output, errors, a bound kiosk order."""

from __future__ import annotations

import openai
import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from chatkiosk.llm.fake import ScriptedProvider, tool_call


def _chat(server, key, model="assistant", **kwargs):
    return ChatOpenAI(base_url=f"{server.base}/v1", api_key=key, model=model, max_retries=0, timeout=20, **kwargs)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


class City(BaseModel):
    name: str


def test_chat_and_stream(live):
    server = live(providers={"scripted": ScriptedProvider(["Hello from the agent.", ["str", "eamed"]])})
    chat = _chat(server, server.user().key)
    assert chat.invoke("hi").content == "Hello from the agent."
    assert "".join(str(c.content) for c in chat.stream("hi")) == "streamed"


def test_bind_tools_on_an_agent_and_the_result_continues(live):
    llm = ScriptedProvider([tool_call("get_weather", {"city": "Seoul"}, id="call_1"), "Seoul is sunny."])
    server = live(providers={"scripted": llm})
    chat = _chat(server, server.user().key).bind_tools([get_weather])
    asked = HumanMessage("Weather in Seoul?")
    first = chat.invoke([asked])
    assert first.tool_calls == [{"name": "get_weather", "args": {"city": "Seoul"}, "id": "call_1", "type": "tool_call"}]
    assert first.response_metadata["finish_reason"] == "tool_calls"
    second = chat.invoke([asked, first, ToolMessage("sunny", tool_call_id="call_1")])
    assert second.content == "Seoul is sunny."


def test_with_structured_output_on_an_agent(live):
    llm = ScriptedProvider(['{"name": "Busan"}'])
    server = live(providers={"scripted": llm})
    structured = _chat(server, server.user().key).with_structured_output(City, method="json_schema")
    assert structured.invoke("Which city has Haeundae?") == City(name="Busan")
    assert llm.calls[0].options.response_format["type"] == "json_schema"


def test_errors_are_the_openai_exceptions(live):
    server = live(providers={"scripted": ScriptedProvider()})
    with pytest.raises(openai.AuthenticationError):
        _chat(server, "ck-wrong").invoke("hi")
    with pytest.raises(openai.NotFoundError):
        _chat(server, server.user().key, model="gpt-nope").invoke("hi")


def test_a_kiosk_order_across_two_calls_bound_by_a_chosen_id(live):
    server = live(providers={"scripted": ScriptedProvider()})
    user = server.user()
    kiosk = _chat(server, user.key, model="kiosk", default_headers={"X-Conversation-Id": "lc-table-3"})
    assert kiosk.invoke("cheeseburger 2").content and kiosk.invoke("and one cola").content
    conv = next(c for c in server.http.get("/api/conversations", headers=user.headers).json()["data"]
                if c["metadata"].get("external_id") == "lc-table-3")
    order = server.http.get(f"/api/conversations/{conv['id']}/order", headers=user.headers).json()
    assert {i["item_id"]: i["quantity"] for i in order["items"]} == {"cheeseburger": 2, "cola": 1}
