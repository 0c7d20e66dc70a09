"""Incremental refresh on SQLite and PostgreSQL: worker two reads only what worker one changed,
late commits and deletions are caught by the fingerprint, and a search's rows stay those the
user may see (SECURITY 15) after every kind of change."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from chatkiosk.store import knowledge as store
from chatkiosk.store.ids import new_id

NOTES = b"# Alice's notes\n\nThe vault code for the refund office is 4471-zebra.\n\n## Hours\n\nThe vault opens on Mondays."
POLICY = b"# Store policy\n\nReturns are accepted within 14 days of delivery."
BOB = b"# Bob\n\nBob keeps the refund forms in the grey drawer."


async def _workers(make_api):
    # Polling effectively off: each refresh below is the one being tested.
    return await make_api(knowledge_refresh_interval=3600), await make_api(knowledge_refresh_interval=3600)


async def _refresh(api):
    kb = api.runtime.knowledge
    assert await kb.refresh()
    return kb.last_refresh


async def _visible_in_sql(kb, user_id, chunk_ids):
    async with kb.db.read() as session:
        return set(await store.visible_chunks(session, user_id, chunk_ids))


async def _assert_views_are_visible(kb, *users):
    """Every live row a user's search scans is one SQL's visibility condition lets them read, and vice versa."""
    for user in users:
        view = kb.snapshot.view(user["id"])
        assert {s.key for s in view.scopes} <= {None, user["id"]}
        scanned = view.chunk_ids(view.alive.nonzero()[0])
        async with kb.db.read() as session:
            everything = await store.chunk_ids(session)
        assert await _visible_in_sql(kb, user["id"], everything) == set(scanned)


async def test_worker_two_reads_only_what_changed(make_api, upload):
    one, two = await _workers(make_api)
    admin, alice, bob = await one.signup(admin=True), await one.signup(), await one.signup()
    notes = (await upload(one, alice, "notes.md", NOTES)).json()
    await upload(one, admin, "policy.md", POLICY, visibility="shared")
    report = await _refresh(two)
    assert report.added == notes["chunks"] + 1 and report.removed == 0 and not report.compared_ids
    kb = two.runtime.knowledge

    bobs = (await upload(one, bob, "bob.md", BOB)).json()
    report = await _refresh(two)
    assert (report.added, report.removed, report.compared_ids) == (bobs["chunks"], 0, False)  # only the new document
    assert [h.document_title for h in await kb.search(bob["id"], "refund forms drawer", 5)][0] == "Bob"
    assert all("4471" not in h.text for h in await kb.search(bob["id"], "vault code 4471-zebra refund", 50))
    assert any("4471" in h.text for h in await kb.search(alice["id"], "vault code 4471-zebra", 5))
    await _assert_views_are_visible(kb, alice, bob, admin)

    # Replaced (same title): the old chunks go, the new ones come, in one refresh.
    await upload(one, alice, "notes.txt", b"The vault code changed to 9902-lynx.", title="Alice's notes")
    report = await _refresh(two)
    assert (report.added, report.removed, report.compared_ids) == (1, notes["chunks"], True)
    assert [h.text for h in await kb.search(alice["id"], "vault code", 5) if "vault" in h.text] == ["The vault code changed to 9902-lynx."]
    await _assert_views_are_visible(kb, alice, bob, admin)

    assert (await one.client.delete(f"/api/knowledge/documents/{bobs['id']}", headers=bob["headers"])).status_code == 204
    report = await _refresh(two)
    assert (report.added, report.removed, report.compared_ids) == (0, bobs["chunks"], True)
    assert [h.document_title for h in await kb.search(bob["id"], "refund forms drawer", 5)] == ["Store policy"]
    assert bob["id"] not in kb.snapshot.scopes
    assert not await kb.refresh()  # nothing changed since
    await _assert_views_are_visible(kb, alice, bob, admin)


async def test_a_chunk_committed_after_higher_ids_is_found(make_api, upload):
    """Two transactions can commit out of id order on PostgreSQL: the fingerprint still catches the late one."""
    one, two = await _workers(make_api)
    alice, bob = await one.signup(), await one.signup()
    await upload(one, alice, "notes.md", NOTES)
    kb = two.runtime.knowledge
    async with kb.db.read() as session:
        highest = (await session.execute(select(func.max(store.KnowledgeChunk.id)))).scalar_one()
    doc_id = new_id("doc")
    async with kb.db.write() as session:
        await session.execute(insert(store.KnowledgeDocument).values(
            id=doc_id, owner_id=bob["id"], scope=bob["id"], visibility="private", title="Bob's late page", format="markdown",
            filename="", size_bytes=0, chunk_count=2))
        await session.execute(insert(store.KnowledgeChunk).values(
            id=highest + 1000, document_id=doc_id, chunk_index=1, heading="", text="Parcels wait at the porter's lodge.", embedding=None))
    await _refresh(two)
    async with kb.db.write() as session:  # committed later, with a lower id
        await session.execute(insert(store.KnowledgeChunk).values(
            id=highest + 500, document_id=doc_id, chunk_index=0, heading="", text="The lighthouse keeper signs for deliveries.", embedding=None))
    report = await _refresh(two)
    assert (report.added, report.compared_ids) == (1, True)
    hits = await kb.search(bob["id"], "lighthouse keeper deliveries", 5)
    assert hits and hits[0].text == "The lighthouse keeper signs for deliveries."
    assert {h.document_title for h in await kb.search(alice["id"], "lighthouse keeper porter", 50)} == {"Alice's notes"}
    await _assert_views_are_visible(kb, alice, bob)


async def test_a_repeated_question_reuses_its_vector(api, upload):
    alice = await api.signup()
    await upload(api, alice, "notes.md", NOTES)
    kb = api.runtime.knowledge
    first = await kb.search(alice["id"], "when does the vault open", 5)
    cached = kb._query_vectors["when does the vault open"]
    assert await kb.search(alice["id"], "when does the vault open", 5) == first
    assert kb._query_vectors["when does the vault open"] is cached and not cached.flags.writeable
    # The vector computed on the caller's thread is the one a worker thread computes.
    thread = (await kb.embedder.embed(["when does the vault open"]))[0]
    assert abs(float(thread @ cached) - 1.0) < 1e-5
