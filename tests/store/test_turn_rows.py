"""Issue 16: a chat turn's statements skip the ORM (store/turn_rows.py) but store exactly what
the ORM stored — the same column values, JSON `null` for a `None` JSON field, the title hook
of store/titles.py — and read back the conversation and its window, scoped to the owner."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chatkiosk.store import conversations, messages, users
from chatkiosk.store.db import Database
from chatkiosk.store.turn_rows import TurnRows, draft

COLUMNS = "role, content, status, usage, tool_calls, tool_call_id, error, guardrail"


@pytest.fixture
async def db(backend, settings_factory):
    database = Database(settings_factory().resolved_database_url)
    yield database
    await database.close()


async def conversation(db: Database, name: str, title: str = "") -> tuple[str, str]:
    async with db.write() as session:
        user = await users.create(session, username=name, password_hash="x", email=None)
        conv = await conversations.create(session, user_id=user.id, agent="assistant", title=title, metadata={})
    return user.id, conv.id


async def stored(db: Database, message_id: str) -> tuple:
    # The raw column text (JSON as stored), not what a JSON type would decode it to.
    cast = "CAST({} AS TEXT)" if db.dialect == "postgresql" else "{}"
    columns = ", ".join(cast.format(c.strip()) for c in COLUMNS.split(","))
    async with db.read() as session:
        return tuple((await session.execute(text(f"SELECT {columns} FROM messages WHERE id = :id"), {"id": message_id})).one())


async def title_of(db: Database, conversation_id: str) -> str:
    async with db.read() as session:
        return (await session.execute(text("SELECT title FROM conversations WHERE id = :id"), {"id": conversation_id})).scalar_one()


async def test_a_turn_stores_what_the_orm_stored(db):
    rows = TurnRows(db)
    user_id, fast_conv = await conversation(db, "fast")
    _, orm_conv = await conversation(db, "orm")
    pairs = []
    for conv, build in ((fast_conv, draft), (orm_conv, messages.build)):  # the turn writes drafts; the ORM its rows
        user = build(conversation_id=conv, user_id=user_id, role="user", content="  Two cheeseburgers,\n please  ",
                     guardrail={"check": "pii", "action": "mask", "source": "input"})
        assistant = build(conversation_id=conv, user_id=user_id, role="assistant", content="", status="streaming")
        pairs.append((user, assistant))
    (fast_user, fast_answer), (orm_user, orm_answer) = pairs

    await rows.open(fast_user, fast_answer)
    async with db.write() as session:
        session.add_all([orm_user, orm_answer])
        await conversations.touch(session, orm_conv)
    assert await stored(db, fast_user.id) == await stored(db, orm_user.id)
    assert await stored(db, fast_answer.id) == await stored(db, orm_answer.id)
    assert await title_of(db, fast_conv) == await title_of(db, orm_conv) == "Two cheeseburgers, please"

    await rows.save_partial(fast_answer.id, "Two chee")
    async with db.write() as session:
        await messages.save_partial(session, orm_answer.id, "Two chee")
    assert await stored(db, fast_answer.id) == await stored(db, orm_answer.id)

    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5, "context_truncated": False, "llm": True}
    for m in (fast_answer, orm_answer):
        m.status, m.usage, m.tool_calls, m.error = "complete", usage, [{"id": "c1", "name": "add_item", "arguments": {"q": "한"}}], None
    await rows.finish(fast_answer, "Two cheeseburgers: 12,000원")
    async with db.write() as session:
        await messages.finish(session, orm_answer.id, status="complete", content="Two cheeseburgers: 12,000원", usage=usage,
                              tool_calls=orm_answer.tool_calls, error=None, guardrail=None)
    assert await stored(db, fast_answer.id) == await stored(db, orm_answer.id)
    # A partial save never reopens a finished message.
    await rows.save_partial(fast_answer.id, "late")
    assert (await stored(db, fast_answer.id))[1] == "Two cheeseburgers: 12,000원"


async def test_a_given_title_is_kept_and_the_window_is_read_oldest_first(db):
    rows = TurnRows(db)
    user_id, conv = await conversation(db, "titled", title="My order")
    for i in range(5):
        await rows.open(
            messages.build(conversation_id=conv, user_id=user_id, role="user", content=f"q{i}"),
            messages.build(conversation_id=conv, user_id=user_id, role="assistant", content="", status="streaming"),
        )
    assert await title_of(db, conv) == "My order"
    asked: list[str] = []
    found, history = await rows.load(conv, user_id, lambda agent: asked.append(agent) or 3)
    assert asked == ["assistant"] and found is not None and found.agent == "assistant" and found.state == {}
    assert [(m.role, m.content) for m in history] == [("assistant", ""), ("user", "q4"), ("assistant", "")]
    # Another user's conversation is not found, and nothing of it is read.
    other, _ = await conversation(db, "other")
    assert await rows.load(conv, other, lambda agent: 3) == (None, [])


async def test_the_running_summary_is_read_for_its_owner_and_written(db):
    rows = TurnRows(db)
    user_id, conv = await conversation(db, "summarised")
    assert await rows.summary(conv, user_id) == (None, None)
    await rows.set_summary(conv, "They ordered two burgers.", "msg_0001")
    assert await rows.summary(conv, user_id) == ("They ordered two burgers.", "msg_0001")
    other, _ = await conversation(db, "not-the-owner")
    assert await rows.summary(conv, other) is None
    async with db.read() as session:
        stored = await conversations.get(session, conv, user_id)
    assert (stored.summary, stored.summary_through) == ("They ordered two burgers.", "msg_0001")
