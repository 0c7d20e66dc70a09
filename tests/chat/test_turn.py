"""The chat turn over the scripted provider: storage order, statuses, events, options."""

from __future__ import annotations

import asyncio

from chatkiosk.errors import UpstreamError
from chatkiosk.llm.fake import ScriptedProvider, delay, usage
from chatkiosk.store import messages

from ..sse import parse


async def _conv(api, user, agent="assistant"):
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": agent})
    return r.json()["id"]


async def test_non_streamed_turn_stores_both_messages(make_api):
    llm = ScriptedProvider([["Hello ", "there!", usage(12, 3)]])
    api = await make_api(providers={"scripted": llm})
    user = await api.signup()
    cid = await _conv(api, user)
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"]["content"] == "Hello there!" and body["message"]["status"] == "complete"
    assert body["usage"]["prompt_tokens"] == 12 and body["usage"]["completion_tokens"] == 3
    history = (await api.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).json()["data"]
    assert [(m["role"], m["status"]) for m in history] == [("assistant", "complete"), ("user", "complete")]
    assert history[0]["usage"]["total_tokens"] == 15
    assert llm.calls[0].messages[0]["role"] == "system"
    assert llm.calls[0].messages[-1] == {"role": "user", "content": "hi"}
    llm.assert_complete()


async def test_streamed_turn_sends_numbered_events(make_api):
    llm = ScriptedProvider([["a", "b", "c"]])
    api = await make_api(providers={"scripted": llm})
    user = await api.signup()
    cid = await _conv(api, user)
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse(r.text)
    assert [e.event for e in events] == ["message", "delta", "delta", "delta", "done"]
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert events[0].data["message"]["role"] == "user"
    assert "".join(e.data["text"] for e in events if e.event == "delta") == "abc"
    assert events[-1].data["message"]["status"] == "complete"


async def test_user_message_is_committed_before_the_model_is_called(make_api):
    seen = {}
    api = None

    class Probe(ScriptedProvider):
        async def stream(self, messages_, **kwargs):
            async with api.runtime.db.read() as session:
                rows = await messages.recent(session, cid, limit=5)
            seen["rows"] = [(m.role, m.status) for m in rows]
            async for piece in super().stream(messages_, **kwargs):
                yield piece

    llm = Probe(["ok"])
    api = await make_api(providers={"scripted": llm})
    user = await api.signup()
    cid = await _conv(api, user)
    await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi"})
    assert seen["rows"] == [("user", "complete"), ("assistant", "streaming")]


async def test_upstream_error_before_first_token_is_stored_as_error(make_api):
    llm = ScriptedProvider([UpstreamError("down", retryable=False)])
    api = await make_api(providers={"scripted": llm})
    user = await api.signup()
    cid = await _conv(api, user)
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi"})
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"
    history = (await api.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).json()["data"]
    assert history[0]["status"] == "error" and history[0]["error"]["code"] == "upstream_error"


async def test_cancel_stores_cancelled_and_frees_the_slot(make_api):
    llm = ScriptedProvider([["first ", delay(30), "never"], "next"])
    api = await make_api(providers={"scripted": llm}, max_streams_per_user=1)
    user = await api.signup()
    cid = await _conv(api, user)
    task = asyncio.create_task(api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", "stream": True}))
    for _ in range(100):
        gen = api.runtime.chat.generations.get(cid, user["id"])
        if gen and len(gen.events) >= 2:
            break
        await asyncio.sleep(0.02)
    r = await api.client.post(f"/api/conversations/{cid}/cancel", headers=user["headers"])
    assert r.json() == {"cancelled": True}
    events = parse((await asyncio.wait_for(task, 5)).text)
    assert events[-1].event == "done" and events[-1].data["message"]["status"] == "cancelled"
    assert events[-1].data["message"]["content"] == "first "
    # The slot is free again: the next turn is accepted.
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "again"})
    assert r.status_code == 200 and r.json()["message"]["content"] == "next"


async def test_events_rejoin_live_and_replay_finished(make_api):
    llm = ScriptedProvider([["one ", delay(0.3), "two"]])
    api = await make_api(providers={"scripted": llm})
    user = await api.signup()
    cid = await _conv(api, user)
    task = asyncio.create_task(api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", "stream": True}))
    await asyncio.sleep(0.15)
    rejoin = await api.client.get(f"/api/conversations/{cid}/events?after=1", headers=user["headers"])
    live = parse(rejoin.text)
    assert live[0].id == 2 and live[-1].event == "done"
    await task
    replay = parse((await api.client.get(f"/api/conversations/{cid}/events", headers=user["headers"])).text)
    assert [e.event for e in replay][-1] == "done"


async def test_another_users_stream_cannot_be_joined_or_cancelled(make_api):
    """SECURITY 12."""
    llm = ScriptedProvider([["secret ", delay(0.5), "answer"]])
    api = await make_api(providers={"scripted": llm})
    alice = await api.signup()
    bob = await api.signup()
    cid = await _conv(api, alice)
    task = asyncio.create_task(api.client.post(f"/api/conversations/{cid}/messages", headers=alice["headers"], json={"content": "hi", "stream": True}))
    await asyncio.sleep(0.1)
    assert (await api.client.get(f"/api/conversations/{cid}/events", headers=bob["headers"])).status_code == 404
    assert (await api.client.post(f"/api/conversations/{cid}/cancel", headers=bob["headers"])).status_code == 404
    assert (await api.client.post(f"/api/conversations/{cid}/messages", headers=bob["headers"], json={"content": "x"})).status_code == 404
    events = parse((await task).text)
    assert events[-1].data["message"]["status"] == "complete"


async def test_options_are_validated(make_api):
    api = await make_api(providers={"scripted": ScriptedProvider([])})
    user = await api.signup()
    cid = await _conv(api, user)
    for options in ({"temperature": 3}, {"top_p": 0}, {"max_tokens": 0}, {"stop": ["x"] * 5}, {"presence_penalty": 9}, {"seed": 1}, {"model": "gpt-4"}):
        r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", "options": options})
        assert r.status_code == 422, options
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "   "})
    assert r.status_code == 422


async def test_a_second_turn_while_one_runs_is_409(make_api):
    llm = ScriptedProvider([[delay(0.3), "slow"]])
    api = await make_api(providers={"scripted": llm})
    user = await api.signup()
    cid = await _conv(api, user)
    first = asyncio.create_task(api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "1"}))
    await asyncio.sleep(0.05)
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "2"})
    assert r.status_code == 409
    assert (await first).status_code == 200


async def test_restart_marks_unfinished_messages_incomplete(make_api, settings_factory):
    api = await make_api(providers={"scripted": ScriptedProvider([])})
    user = await api.signup()
    cid = await _conv(api, user)
    async with api.runtime.db.write() as session:
        await messages.add(session, conversation_id=cid, user_id=user["id"], role="assistant", content="half", status="streaming")
    again = await make_api(providers={"scripted": ScriptedProvider([])})
    history = (await again.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).json()["data"]
    assert history[0]["status"] == "incomplete" and history[0]["content"] == "half"


async def test_context_is_bounded_and_truncation_reported(make_api):
    llm = ScriptedProvider(["ok"])
    api = await make_api(providers={"scripted": llm}, context_max_messages=4)
    user = await api.signup()
    cid = await _conv(api, user)
    async with api.runtime.db.write() as session:
        for i in range(30):
            await messages.add(session, conversation_id=cid, user_id=user["id"], role="user" if i % 2 == 0 else "assistant", content=f"old {i}")
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "now"})
    assert r.json()["usage"]["context_truncated"] is True
    sent = llm.calls[0].messages
    assert sent[0]["role"] == "system" and sent[-1]["content"] == "now"
    assert len(sent) <= 1 + 4 + 1 and "old 0" not in str(sent)


async def test_cancel_reaches_the_worker_that_generates(make_api, backend):
    """With Redis, a cancel sent to another worker stops the answer where it runs."""
    if backend != "postgres":
        return  # one process: nothing to relay (covered by test_cancel_stores_cancelled_and_frees_the_slot)
    one = await make_api(providers={"s": ScriptedProvider([["first ", delay(30), "never"]])})
    two = await make_api(providers={"s": ScriptedProvider([])})
    user = await one.signup()
    cid = await _conv(one, user)
    task = asyncio.create_task(one.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", "stream": True}))
    for _ in range(100):
        gen = one.runtime.chat.generations.get(cid, user["id"])
        if gen and len(gen.events) >= 2:
            break
        await asyncio.sleep(0.02)
    outsider = await two.signup()
    assert (await two.client.post(f"/api/conversations/{cid}/cancel", headers=outsider["headers"])).status_code == 404
    r = await two.client.post(f"/api/conversations/{cid}/cancel", headers=user["headers"])
    assert r.json() == {"cancelled": True}
    events = parse((await asyncio.wait_for(task, 5)).text)
    assert events[-1].data["message"]["status"] == "cancelled"


async def test_a_model_that_always_calls_a_tool_ends_with_an_error_event(make_api):
    """SECURITY 30: the step limit ends the turn with an `error` event; the budgets hold."""
    from chatkiosk.llm.fake import tool_call

    llm = ScriptedProvider([tool_call("calculator", {"expression": "1+1"}) for _ in range(10)])
    api = await make_api(providers={"s": llm}, agent_step_limit=3)
    user = await api.signup()
    cid = await _conv(api, user)
    events = parse((await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "loop", "stream": True})).text)
    errors = [e for e in events if e.event == "error"]
    assert errors and errors[0].data["error"]["code"] == "step_limit_exceeded"
    assert events[-1].event == "done" and events[-1].data["message"]["status"] == "error"
    assert len(llm.calls) == 3
    assert sum(e.event == "tool_result" for e in events) <= 3
