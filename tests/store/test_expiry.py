"""Conversation expiry: idle conversations deleted by a sweep, safe with several workers (issue 14, item 11)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from chatkiosk.store import conversations, messages
from chatkiosk.store.db import Database
from chatkiosk.store.expiry import ExpirySweeper, delete_idle
from chatkiosk.store.tables import Conversation, KioskOrder, Message, ToolCallRecord


async def _seed(api, count: int, idle_hours: float) -> tuple[str, list[str]]:
    user = await api.signup()
    async with api.runtime.db.write() as session:
        ids = []
        for i in range(count):
            conv = await conversations.create(session, user_id=user["id"], agent="assistant", title=f"c{i}", metadata={})
            await messages.add(session, conversation_id=conv.id, user_id=user["id"], role="user", content=f"hello {i}")
            await messages.add_tool_call(session, call_id="c1", message_id=None, conversation_id=conv.id, user_id=user["id"],
                                         name="current_time", arguments={}, result="now", status="ok", duration_ms=1)
            ids.append(conv.id)
        then = datetime.now(UTC) - timedelta(hours=idle_hours)
        await session.execute(update(Conversation).where(Conversation.id.in_(ids)).values(updated_at=then))
    return user["id"], ids


async def _count(db: Database, model, column, ids) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(model).where(column.in_(ids)))).scalar_one()


async def test_off_by_default(make_api):
    api = await make_api()
    assert api.runtime.settings.conversation_expiry_hours == 0


async def test_idle_conversations_go_with_their_messages_and_fresh_ones_stay(make_api):
    api = await make_api()
    _, old = await _seed(api, 3, idle_hours=30)
    _, fresh = await _seed(api, 2, idle_hours=1)
    db = api.runtime.db
    async with db.write() as session:
        session.add(KioskOrder(id="ko_1", user_id=(await session.get(Conversation, old[0])).user_id, conversation_id=old[0],
                               business_day="2026-01-01", order_number=1, items=[], dine="takeout", payment="card", total=0))
    sweeper = ExpirySweeper(db, hours=24, every=300)
    assert await sweeper.sweep() == 3
    assert await _count(db, Conversation, Conversation.id, old) == 0
    assert await _count(db, Message, Message.conversation_id, old) == 0
    assert await _count(db, ToolCallRecord, ToolCallRecord.conversation_id, old) == 0
    assert await _count(db, Conversation, Conversation.id, fresh) == 2
    assert await _count(db, Message, Message.conversation_id, fresh) == 2
    assert await _count(db, KioskOrder, KioskOrder.conversation_id, old) == 1  # a placed order is the shop's record
    assert await sweeper.sweep() == 0


async def test_a_conversation_in_use_is_not_idle(make_api):
    api = await make_api()
    user_id, [conv] = await _seed(api, 1, idle_hours=30)
    h = (await api.client.post("/api/auth/login", json={"username": (await _username(api, user_id)), "password": "correct-horse-battery"})).json()
    r = await api.client.patch(f"/api/conversations/{conv}", headers={"Authorization": f"Bearer {h['access_token']}"}, json={"title": "still here"})
    assert r.status_code == 200
    assert await delete_idle(api.runtime.db, datetime.now(UTC) - timedelta(hours=24)) == 0


async def _username(api, user_id: str) -> str:
    from chatkiosk.store import users

    async with api.runtime.db.read() as session:
        return (await users.get(session, user_id)).username


async def test_several_workers_sweeping_at_once_delete_each_conversation_once(make_api):
    """Four sweepers, each with its own connection pool (as four workers have), over one database."""
    api = await make_api()
    _, old = await _seed(api, 120, idle_hours=48)
    _, fresh = await _seed(api, 5, idle_hours=0)
    url = api.runtime.settings.resolved_database_url
    workers = [Database(url) for _ in range(4)]
    try:
        cutoff = datetime.now(UTC) - timedelta(hours=24)
        counts = await asyncio.gather(*(delete_idle(db, cutoff, batch=10) for db in workers))
    finally:
        for db in workers:
            await db.close()
    assert sum(counts) == 120
    assert await _count(api.runtime.db, Conversation, Conversation.id, old) == 0
    assert await _count(api.runtime.db, Message, Message.conversation_id, old) == 0
    assert await _count(api.runtime.db, Conversation, Conversation.id, fresh) == 5


async def test_the_server_sweeps_in_the_background(make_api):
    api = await make_api(conversation_expiry_hours=24, conversation_expiry_sweep_seconds=0.2)
    _, old = await _seed(api, 2, idle_hours=25)
    for _ in range(50):
        if await _count(api.runtime.db, Conversation, Conversation.id, old) == 0:
            break
        await asyncio.sleep(0.1)
    assert await _count(api.runtime.db, Conversation, Conversation.id, old) == 0
