"""Two app instances on one database (two workers): each sees the other's documents within seconds."""

from __future__ import annotations

import asyncio
import time


async def _search_until(api, user, query, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        r = await api.client.get("/api/knowledge/search", params={"q": query}, headers=user["headers"])
        assert r.status_code == 200
        data = r.json()["data"]
        if predicate(data) or time.monotonic() > deadline:
            return data, time.monotonic()
        await asyncio.sleep(0.1)


async def test_a_document_added_on_one_worker_is_found_on_the_other(make_api, upload):
    one = await make_api(knowledge_refresh_interval=0.5)
    two = await make_api(knowledge_refresh_interval=0.5)
    alice = await one.signup()
    alice_on_two = {**alice}  # the same tokens work on every worker
    doc = (await upload(one, alice, "hours.md", b"# Hours\n\nThe pharmacy opens at nine and closes at six.")).json()
    started = time.monotonic()
    data, found_at = await _search_until(two, alice_on_two, "when does the pharmacy open", lambda d: bool(d))
    assert data and data[0]["document"]["id"] == doc["id"]
    assert found_at - started < 5.0
    # Replaced and deleted on worker two: worker one follows.
    (await upload(two, alice_on_two, "hours.txt", b"The pharmacy now opens at eight.", title="Hours")).json()
    data, _ = await _search_until(one, alice, "when does the pharmacy open", lambda d: d and "eight" in d[0]["chunk"]["text"])
    assert [h["chunk"]["text"] for h in data] == ["The pharmacy now opens at eight."]
    listed = (await two.client.get("/api/knowledge/documents", headers=alice_on_two["headers"])).json()["data"]
    assert (await two.client.delete(f"/api/knowledge/documents/{listed[0]['id']}", headers=alice_on_two["headers"])).status_code == 204
    data, _ = await _search_until(one, alice, "when does the pharmacy open", lambda d: d == [])
    assert data == []
