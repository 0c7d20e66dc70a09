"""Tools act only for the caller: ids of another user are "not found" (SECURITY 14)."""

from __future__ import annotations

import json

from chatkiosk.agents.base import Agent
from chatkiosk.agents.tools import ToolContext, ToolRegistry, tool
from chatkiosk.errors import NotFound
from chatkiosk.llm.fake import ScriptedProvider, tool_call
from chatkiosk.store import conversations, messages


@tool
async def read_conversation(ctx: ToolContext, conversation_id: str) -> dict:
    """Read the last messages of one of the user's conversations.

    Args:
        conversation_id: The conversation to read.
    """
    db = ctx.deps.db
    async with db.read() as session:
        conv = await conversations.get(session, conversation_id, ctx.user_id)
        if conv is None:
            raise NotFound("no such conversation")
        rows = await messages.recent(session, conv.id, limit=5)
    return {"messages": [m.content for m in rows]}


@tool
async def cancel_conversation(ctx: ToolContext, conversation_id: str) -> dict:
    """Delete one of the user's conversations.

    Args:
        conversation_id: The conversation to delete.
    """
    async with ctx.deps.db.write() as session:
        if not await conversations.remove(session, conversation_id, ctx.user_id):
            raise NotFound("no such conversation")
    return {"deleted": conversation_id}


def test_a_tool_called_with_another_users_ids_finds_nothing(live):
    llm = ScriptedProvider()
    server = live(providers={"scripted": llm})
    server.runtime.agents.register(Agent(
        name="records", description="reads records", system_prompt="You read records.",
        tools=ToolRegistry([read_conversation, cancel_conversation]),
    ))
    alice, bob = server.user(), server.user()
    secret_cid = server.conversation(alice)
    server.http.post(f"/api/conversations/{secret_cid}/messages", headers=alice.headers, json={"content": "alice's secret"})
    llm.turns.clear()
    before = server.history(alice, secret_cid)
    # The model (say, injected) calls the tools with Alice's id while Bob is the caller.
    llm.add(
        [tool_call("read_conversation", {"conversation_id": secret_cid}), tool_call("cancel_conversation", {"conversation_id": secret_cid})],
        "done",
    )
    answer = server.client(bob).chat.completions.create(model="records", messages=[{"role": "user", "content": "read it"}])
    assert answer.choices[0].message.content == "done"
    results = [json.loads(m["content"]) for m in llm.calls[-1].messages if m["role"] == "tool"]
    assert [r["error"]["code"] for r in results] == ["not_found", "not_found"]
    assert "secret" not in json.dumps(results)
    assert server.history(alice, secret_cid) == before


def test_no_tool_schema_sent_to_a_model_names_a_user(live):
    llm = ScriptedProvider()
    server = live(providers={"scripted": llm})
    alice = server.user()
    cid = server.conversation(alice, agent="kiosk")
    llm.add("hello", "안녕하세요")
    client = server.client(alice)
    client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}])
    client.chat.completions.create(model="kiosk", messages=[{"role": "user", "content": "what do you recommend today?"}],
                                   metadata={"conversation_id": cid})
    offered = [t for call in llm.calls for t in (call.tools or [])]
    assert {"calculator", "add_item", "pay"} <= {t.name for t in offered}
    for spec in offered:
        text = json.dumps({"name": spec.name, "description": spec.description, "parameters": spec.parameters})
        assert alice.id not in text and cid not in text
        names = set(_property_names(spec.parameters))
        assert not names & {"user", "user_id", "userId", "owner", "owner_id", "account_id", "customer_id"}, (spec.name, names)


def _property_names(schema):
    if isinstance(schema, dict):
        yield from (schema.get("properties") or {})
        for value in schema.values():
            yield from _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _property_names(item)
