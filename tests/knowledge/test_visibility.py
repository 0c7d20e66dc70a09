"""SECURITY 15: retrieval for B never returns text from a document only A can see (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

SECRET = b"# Alice's notes\n\nThe vault code for the refund office is 4471-zebra. Refund vault opens on Mondays."


async def test_private_documents_stay_private(api, upload):
    alice, bob = await api.signup(), await api.signup()
    doc = (await upload(api, alice, "notes.md", SECRET)).json()
    for query in ("vault code refund office", "4471-zebra", "Alice's notes", "refund"):
        for top_k in (1, 50):
            r = await api.client.get("/api/knowledge/search", params={"q": query, "top_k": top_k}, headers=bob["headers"])
            assert r.status_code == 200 and r.json()["data"] == [], query
        hits = (await api.client.get("/api/knowledge/search", params={"q": query}, headers=alice["headers"])).json()["data"]
        assert hits and hits[0]["document"]["id"] == doc["id"]
    assert (await api.client.get("/api/knowledge/documents", headers=bob["headers"])).json()["data"] == []
    for method in ("get", "delete"):
        r = await getattr(api.client, method)(f"/api/knowledge/documents/{doc['id']}", headers=bob["headers"])
        assert r.status_code == 404 and r.json()["error"]["code"] == "document_not_found"
    # Bob's document of the same title is his own; it replaces nothing of Alice's.
    assert (await upload(api, bob, "mine.md", b"Bob's page about lunch.", title="Alice's notes")).status_code == 201
    assert (await api.client.get(f"/api/knowledge/documents/{doc['id']}", headers=alice["headers"])).status_code == 200


async def test_the_service_itself_filters_in_the_query(api, upload):
    """Even asked directly (as the tools and the shop agent do), another user's chunks never come back."""
    alice, bob = await api.signup(), await api.signup()
    await upload(api, alice, "notes.md", SECRET)
    await upload(api, bob, "bob.md", b"# Bob\n\nBob keeps the refund forms in the grey drawer.")
    kb = api.runtime.knowledge
    hits = await kb.search(bob["id"], "refund vault code 4471-zebra", 50)
    assert hits and {h.document_title for h in hits} == {"Bob"}
    assert all("4471" not in h.text for h in hits)
    assert await kb.search("user_nobody", "refund vault", 50) == []
    # The index ranks only visible chunks: Alice's chunk is not even in the rows Bob's search scans.
    snapshot = kb.snapshot
    as_bob, as_alice = snapshot.view(bob["id"]), snapshot.view(alice["id"])
    assert as_bob.live == 1 and as_alice.live == 1
    assert [s.key for s in as_bob.scopes] == [bob["id"]] and [s.key for s in as_alice.scopes] == [alice["id"]]


async def test_shared_documents_are_for_admins_to_add_and_everyone_to_search(api, upload):
    admin, alice = await api.signup(admin=True), await api.signup()
    r = await upload(api, alice, "policy.md", b"# Policy\n\nShared text.", visibility="shared")
    assert r.status_code == 403 and r.json()["error"]["param"] == "visibility"
    doc = (await upload(api, admin, "policy.md", b"# Store policy\n\nReturns are accepted within 14 days.", visibility="shared")).json()
    assert doc["visibility"] == "shared"
    hits = (await api.client.get("/api/knowledge/search", params={"q": "returns accepted days"}, headers=alice["headers"])).json()["data"]
    assert hits[0]["document"]["id"] == doc["id"]
    assert [d["id"] for d in (await api.client.get("/api/knowledge/documents", headers=alice["headers"])).json()["data"]] == [doc["id"]]
    assert (await api.client.delete(f"/api/knowledge/documents/{doc['id']}", headers=alice["headers"])).status_code == 403
    assert (await api.client.delete(f"/api/knowledge/documents/{doc['id']}", headers=admin["headers"])).status_code == 204


@pytest.mark.parametrize("injection", ["' OR '1'='1", "%' OR visibility LIKE '%", "\\x00; DROP TABLE knowledge_chunks; --"])
async def test_hostile_queries_are_just_text(api, upload, injection):
    alice, bob = await api.signup(), await api.signup()
    await upload(api, alice, "notes.md", SECRET)
    r = await api.client.get("/api/knowledge/search", params={"q": injection, "top_k": 50}, headers=bob["headers"])
    assert r.status_code == 200 and r.json()["data"] == []
