"""The database confirmation store: exact round trip, scoping, and one consume among many."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from chatkiosk.agents.confirm import Confirmation, sign
from chatkiosk.store import conversations
from chatkiosk.store.confirmations import DatabaseConfirmationStore


async def _setup(make_api):
    api = await make_api()
    alice, bob = await api.signup(), await api.signup()
    async with api.runtime.db.write() as session:
        conv = await conversations.create(session, user_id=alice["id"], agent="assistant", title="", metadata={})
    return api, alice, bob, conv.id


def _confirmation(user_id: str, conversation_id: str, cid: str = "cf_test1") -> Confirmation:
    unsigned = Confirmation(
        id=cid, user_id=user_id, conversation_id=conversation_id, agent="ops", tool="cancel_order",
        arguments={"order_id": "o-1", "reason": "주문 취소"}, arguments_hash="0" * 64, summary="Cancel o-1",
        created_at=1767225600.123456, expires_at=1767225900.987654321, signature="",
    )
    return replace(unsigned, signature=sign(b"k" * 32, unsigned))


async def test_round_trip_keeps_every_signed_field(make_api):
    api, alice, _bob, cid = await _setup(make_api)
    store = DatabaseConfirmationStore(api.runtime.db)
    original = _confirmation(alice["id"], cid)
    await store.create(original)
    loaded = await store.get(original.id, alice["id"])
    assert loaded == original
    assert sign(b"k" * 32, loaded) == original.signature  # the float expiry survives exactly


async def test_another_users_id_neither_reads_nor_uses_it_up(make_api):
    api, alice, bob, cid = await _setup(make_api)
    store = DatabaseConfirmationStore(api.runtime.db)
    await store.create(_confirmation(alice["id"], cid))
    assert await store.get("cf_test1", bob["id"]) is None
    assert await store.consume("cf_test1", bob["id"]) is None
    claimed = await store.consume("cf_test1", alice["id"])
    assert claimed is not None and claimed.used is False
    assert (await store.get("cf_test1", alice["id"])).used is True
    assert await store.consume("cf_test1", alice["id"]) is None


async def test_exactly_one_of_many_concurrent_consumes_wins(make_api):
    api, alice, _bob, cid = await _setup(make_api)
    # Two stores on one database: like two workers.
    stores = [DatabaseConfirmationStore(api.runtime.db), DatabaseConfirmationStore(api.runtime.db)]
    for n in range(3):
        await stores[0].create(_confirmation(alice["id"], cid, f"cf_race{n}"))
        results = await asyncio.gather(*(stores[i % 2].consume(f"cf_race{n}", alice["id"]) for i in range(12)))
        assert sum(r is not None for r in results) == 1


async def test_deleting_the_conversation_deletes_its_confirmations(make_api):
    api, alice, _bob, cid = await _setup(make_api)
    store = DatabaseConfirmationStore(api.runtime.db)
    await store.create(_confirmation(alice["id"], cid))
    r = await api.client.delete(f"/api/conversations/{cid}", headers=alice["headers"])
    assert r.status_code == 204
    assert await store.get("cf_test1", alice["id"]) is None
