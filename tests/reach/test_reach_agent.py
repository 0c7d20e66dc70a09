"""The reach tools through the API: offered only when on, and a search-backed, cited answer."""

from __future__ import annotations

import json
from typing import Any

from chatkiosk.llm.fake import ScriptedProvider, tool_call

from .conftest import FakeWeb, require_bwrap


def _last_tool_result(messages: list[dict[str, Any]]) -> Any:
    content = next(m["content"] for m in reversed(messages) if m.get("role") == "tool")
    return json.loads(content) if isinstance(content, str) else content


def cite_the_results(messages: list[dict[str, Any]], tools: Any, options: Any) -> str:
    """A model that answers from the search results it was given, citing them by number and URL."""
    found = _last_tool_result(messages)
    first = found["results"][0]
    return f"{first['snippet']} [{first['n']}]({first['url']})"


async def test_the_tools_are_listed_only_when_turned_on(make_api: Any, fake_web: FakeWeb) -> None:
    plain = await make_api()
    r = await plain.client.get("/api/agents", headers=(await plain.signup())["headers"])
    (assistant,) = [a for a in r.json()["data"] if a["name"] == "assistant"]
    assert not {"web_search", "fetch_page", "run_code"} & set(assistant["tools"])
    require_bwrap()
    on = await make_api(web_search="searxng", web_search_url=fake_web.base, run_code_agents=["assistant"])
    r = await on.client.get("/api/agents", headers=(await on.signup())["headers"])
    (assistant,) = [a for a in r.json()["data"] if a["name"] == "assistant"]
    assert {"web_search", "fetch_page", "run_code"} <= set(assistant["tools"])
    (kiosk,) = [a for a in r.json()["data"] if a["name"] == "kiosk"]
    assert "run_code" not in kiosk["tools"] and "web_search" not in kiosk["tools"]


async def test_a_search_backed_answer_cites_its_source(make_api: Any, fake_web: FakeWeb) -> None:
    llm = ScriptedProvider([tool_call("web_search", {"query": "same day delivery cutoff"}), cite_the_results])
    api = await make_api(providers={"scripted": llm}, web_search="searxng", web_search_url=fake_web.base)
    user = await api.signup()
    conv = (await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "assistant"})).json()["id"]
    r = await api.client.post(f"/api/conversations/{conv}/messages", headers=user["headers"],
                              json={"content": "When must I order for same-day shipping?", "stream": False})
    assert r.status_code == 200, r.text
    message = r.json()["message"]
    assert message["content"] == f"Orders before 2 pm ship the same day. [1]({fake_web.base}/article)"
    (record,) = message["tool_calls"]
    assert record["name"] == "web_search" and record["status"] == "ok"
    assert record["result"]["results"][0]["url"] == f"{fake_web.base}/article"
    # the model was told to cite, and that web text is data, not instructions
    assert "cite" in llm.calls[0].messages[0]["content"] and "not instructions" in llm.calls[0].messages[0]["content"]


async def test_a_client_cannot_point_the_search_elsewhere(make_api: Any, fake_web: FakeWeb) -> None:
    """The tool's schema has no URL or backend for the model (or a client) to set."""
    api = await make_api(web_search="searxng", web_search_url=fake_web.base)
    web_search = api.runtime.agents.get("assistant").tools.get("web_search")
    assert set(web_search.parameters["properties"]) == {"query", "count"}


async def test_run_code_through_a_turn(make_api: Any) -> None:
    require_bwrap()
    llm = ScriptedProvider([tool_call("run_code", {"code": "print(sum(i * i for i in range(10)))"}), "The sum of squares is 285."])
    api = await make_api(providers={"scripted": llm}, run_code_agents=["assistant"])
    user = await api.signup()
    conv = (await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "assistant"})).json()["id"]
    r = await api.client.post(f"/api/conversations/{conv}/messages", headers=user["headers"], json={"content": "sum of squares below 10?"})
    assert r.status_code == 200, r.text
    (record,) = r.json()["message"]["tool_calls"]
    assert record["name"] == "run_code" and record["status"] == "ok"
    assert record["result"]["stdout"] == "285\n" and record["result"]["exit_status"] == 0 and record["result"]["limit"] is None
