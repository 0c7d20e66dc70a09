"""Conversations and history (SPEC 4 routes; SECURITY 11)."""

from __future__ import annotations

from chatkiosk.store import messages


async def test_create_list_get_rename_delete(api):
    user = await api.signup()
    h = user["headers"]
    r = await api.client.post("/api/conversations", headers=h, json={"title": "first", "metadata": {"k": "v"}})
    assert r.status_code == 201
    conv = r.json()
    assert conv["agent"] == "assistant" and conv["title"] == "first" and conv["metadata"] == {"k": "v"}
    assert set(conv) == {"id", "agent", "title", "created_at", "updated_at", "metadata", "summary"}
    assert (await api.client.get(f"/api/conversations/{conv['id']}", headers=h)).json()["id"] == conv["id"]
    r = await api.client.patch(f"/api/conversations/{conv['id']}", headers=h, json={"title": "renamed"})
    assert r.status_code == 200 and r.json()["title"] == "renamed"
    listed = (await api.client.get("/api/conversations", headers=h)).json()
    assert [c["id"] for c in listed["data"]] == [conv["id"]] and listed["has_more"] is False
    assert (await api.client.delete(f"/api/conversations/{conv['id']}", headers=h)).status_code == 204
    assert (await api.client.get(f"/api/conversations/{conv['id']}", headers=h)).status_code == 404


async def test_unknown_agent_is_422(api):
    user = await api.signup()
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "hal9000"})
    assert r.status_code == 422 and r.json()["error"]["param"] == "agent"


async def test_paging_newest_first(api):
    user = await api.signup()
    h = user["headers"]
    ids = [(await api.client.post("/api/conversations", headers=h, json={"title": str(i)})).json()["id"] for i in range(5)]
    page1 = (await api.client.get("/api/conversations?limit=2", headers=h)).json()
    assert [c["id"] for c in page1["data"]] == ids[::-1][:2] and page1["has_more"]
    page2 = (await api.client.get(f"/api/conversations?limit=2&before={page1['data'][-1]['id']}", headers=h)).json()
    assert [c["id"] for c in page2["data"]] == ids[::-1][2:4] and page2["has_more"]
    page3 = (await api.client.get(f"/api/conversations?limit=2&before={page2['data'][-1]['id']}", headers=h)).json()
    assert [c["id"] for c in page3["data"]] == ids[:1] and not page3["has_more"]
    for bad in ("limit=0", "limit=101", "limit=abc"):
        assert (await api.client.get(f"/api/conversations?{bad}", headers=h)).status_code == 422


async def test_message_history_pages_and_delete_removes_messages(api):
    user = await api.signup()
    h = user["headers"]
    conv = (await api.client.post("/api/conversations", headers=h, json={})).json()
    async with api.runtime.db.write() as session:
        for i in range(25):
            await messages.add(session, conversation_id=conv["id"], user_id=user["id"], role="user" if i % 2 == 0 else "assistant", content=f"m{i}")
    page = (await api.client.get(f"/api/conversations/{conv['id']}/messages", headers=h)).json()
    assert len(page["data"]) == 20 and page["has_more"]
    assert page["data"][0]["content"] == "m24"
    rest = (await api.client.get(f"/api/conversations/{conv['id']}/messages?before={page['data'][-1]['id']}", headers=h)).json()
    assert [m["content"] for m in rest["data"]] == [f"m{i}" for i in range(4, -1, -1)]
    assert (await api.client.delete(f"/api/conversations/{conv['id']}", headers=h)).status_code == 204
    async with api.runtime.db.read() as session:
        assert await messages.recent(session, conv["id"], limit=5) == []


async def test_another_users_conversation_is_404_everywhere(api):
    """SECURITY 11: read, update, delete, history — exactly like a missing one."""
    alice = await api.signup()
    bob = await api.signup()
    conv = (await api.client.post("/api/conversations", headers=alice["headers"], json={"title": "private"})).json()
    missing = "conv_00000000000000000000000000"
    for cid in (conv["id"], missing):
        answers = [
            await api.client.get(f"/api/conversations/{cid}", headers=bob["headers"]),
            await api.client.patch(f"/api/conversations/{cid}", headers=bob["headers"], json={"title": "mine"}),
            await api.client.delete(f"/api/conversations/{cid}", headers=bob["headers"]),
            await api.client.get(f"/api/conversations/{cid}/messages", headers=bob["headers"]),
        ]
        for r in answers:
            assert r.status_code == 404
            assert r.json() == {"error": {"type": "not_found_error", "code": "not_found", "message": "no such conversation", "param": None}}
    assert (await api.client.get("/api/conversations", headers=bob["headers"])).json()["data"] == []
    still = await api.client.get(f"/api/conversations/{conv['id']}", headers=alice["headers"])
    assert still.json()["title"] == "private"


async def test_another_users_keys_and_sessions_are_404(api):
    """SECURITY 11: keys and sessions."""
    alice = await api.signup()
    bob = await api.signup()
    key = (await api.client.post("/api/keys", headers=alice["headers"], json={"name": "a"})).json()
    session_id = (await api.client.get("/api/auth/sessions", headers=alice["headers"])).json()["data"][0]["id"]
    assert (await api.client.delete(f"/api/keys/{key['id']}", headers=bob["headers"])).status_code == 404
    assert (await api.client.delete(f"/api/auth/sessions/{session_id}", headers=bob["headers"])).status_code == 404
    assert (await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {key['key']}"})).status_code == 200
    assert (await api.client.get("/api/auth/me", headers=alice["headers"])).status_code == 200


async def test_deleting_a_conversation_mid_turn_cancels_its_turn(make_api):
    """Issue 13 item 10: the turn stops with its conversation instead of running to its deadline."""
    import asyncio
    import time

    from chatkiosk.llm.fake import ScriptedProvider, delay

    api = await make_api(providers={"s": ScriptedProvider([["first words ", delay(30), "never"]])})
    user = await api.signup()
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={})).json()["id"]
    turn = asyncio.create_task(api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi"}))
    generations = api.runtime.chat.generations
    for _ in range(200):
        generation = generations.get(cid, user["id"])
        if generation is not None and len(generation.events) >= 2:  # the user message and the first delta
            break
        await asyncio.sleep(0.02)
    assert generations.active() == 1
    start = time.monotonic()
    assert (await api.client.delete(f"/api/conversations/{cid}", headers=user["headers"])).status_code == 204
    answered = await asyncio.wait_for(turn, timeout=10)
    assert time.monotonic() - start < 3
    assert generations.active() == 0
    assert answered.status_code == 200 and answered.json()["message"]["status"] == "cancelled"
    assert (await api.client.get(f"/api/conversations/{cid}", headers=user["headers"])).status_code == 404
    assert (await api.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).status_code == 404
