"""SECURITY 27: 50 concurrent writers, no "database is locked", on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from chatkiosk.store import conversations, messages


async def test_fifty_concurrent_writers(api):
    users = [await api.signup() for _ in range(5)]
    convs = [(await api.client.post("/api/conversations", headers=u["headers"], json={})).json() for u in users]

    async def writer(i: int) -> None:
        user, conv = users[i % 5], convs[i % 5]
        for j in range(4):
            async with api.runtime.db.write() as session:
                # Read then write in one transaction: the pattern that deadlocks deferred SQLite transactions.
                found = await conversations.get(session, conv["id"], user["id"])
                assert found is not None
                await messages.add(session, conversation_id=conv["id"], user_id=user["id"], role="user", content=f"{i}-{j}")
                await conversations.touch(session, conv["id"])

    await asyncio.gather(*(writer(i) for i in range(50)))
    total = 0
    for user, conv in zip(users, convs):
        async with api.runtime.db.read() as session:
            total += len(await messages.recent(session, conv["id"], limit=1000))
    assert total == 200


async def test_fifty_concurrent_http_creates(api):
    user = await api.signup()
    results = await asyncio.gather(
        *(api.client.post("/api/conversations", headers=user["headers"], json={"title": str(i)}) for i in range(50))
    )
    assert [r.status_code for r in results] == [201] * 50
    page = (await api.client.get("/api/conversations?limit=100", headers=user["headers"])).json()
    assert len(page["data"]) == 50
