"""Issue 16: SQLite writes are group-committed (a burst costs a handful of commits), a failing
write rolls back alone, a returned write is committed, and a lock held by another process is
waited for off the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import event, text

from chatkiosk.store import conversations, messages, users
from chatkiosk.store.db import Database


@pytest.fixture
async def db(sqlite_template, tmp_path):
    path = tmp_path / "chatkiosk.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.close()


def count_commits(db: Database) -> list[int]:
    commits: list[int] = []
    assert db.sqlite is not None
    event.listen(db.sqlite.write_engine, "commit", lambda conn: commits.append(1))
    return commits


async def new_user(db: Database, name: str) -> str:
    async with db.write() as session:
        return (await users.create(session, username=name, password_hash="x", email=None)).id


async def test_a_burst_of_writes_costs_a_handful_of_commits(db):
    user_id = await new_user(db, "burst")
    async with db.write() as session:
        conv = await conversations.create(session, user_id=user_id, agent="assistant", title=None, metadata=None)
    commits = count_commits(db)

    async def turn(i: int) -> None:
        async with db.write() as session:
            await messages.add(session, conversation_id=conv.id, user_id=user_id, role="user", content=f"m{i}")
            await conversations.touch(session, conv.id)

    await asyncio.gather(*(turn(i) for i in range(100)))
    assert 1 <= len(commits) <= 5, len(commits)
    async with db.read() as session:
        assert len(await messages.recent(session, conv.id, limit=1000)) == 100


async def test_a_failing_write_rolls_back_alone_and_its_caller_gets_the_error(db):
    user_id = await new_user(db, "mixed")

    async def write(i: int) -> None:
        async with db.write() as session:
            await conversations.create(session, user_id=user_id, agent="assistant", title=f"t{i}", metadata=None)
            if i % 3 == 0:
                raise ValueError(f"job {i} fails")

    results = await asyncio.gather(*(write(i) for i in range(12)), return_exceptions=True)
    failed = [i for i, r in enumerate(results) if isinstance(r, ValueError)]
    assert failed == [0, 3, 6, 9]
    async with db.read() as session:
        titles = {row[0] for row in await session.execute(text("SELECT title FROM conversations"))}
    assert titles == {f"t{i}" for i in range(12) if i % 3}


async def test_a_returned_write_is_committed_for_everyone(db):
    user_id = await new_user(db, "durable")
    outside = sqlite3.connect(db.sqlite.path)
    try:
        assert outside.execute("SELECT count(*) FROM users WHERE id = ?", (user_id,)).fetchone()[0] == 1
    finally:
        outside.close()


async def test_a_lock_held_elsewhere_is_waited_for_off_the_loop(db):
    await new_user(db, "first")
    other = sqlite3.connect(db.sqlite.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(new_user(db, "second"))
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.5:
            await asyncio.sleep(0.01)
            ticks += 1
        assert not write.done()
        assert ticks >= 20  # the loop kept running while the write waited for the lock
    finally:
        other.execute("COMMIT")
        other.close()
    assert (await asyncio.wait_for(write, 10)).startswith("user_")


async def test_plain_sqlite3_writes_share_commits_roll_back_alone_and_wait_for_a_lock(db):
    """Issue 16: a chat turn's statements (`write_raw`) ride the same batches: with ORM writers
    or without them (a batch of raw bodies begins and commits on the raw connection)."""
    user_id = await new_user(db, "raw")
    commits: list[int] = []

    async def raw_write(i: int) -> None:
        async with db.sqlite.write_raw() as raw:
            raw.execute("UPDATE users SET email = ? WHERE id = ?", (f"r{i}@example.com", user_id))
            if i % 5 == 0:
                raise ValueError(f"raw job {i} fails")

    async def orm_write(i: int) -> None:
        async with db.write() as session:
            await conversations.create(session, user_id=user_id, agent="assistant", title=f"o{i}", metadata=None)

    event.listen(db.sqlite.write_engine, "commit", lambda conn: commits.append(1))
    writes = [raw_write(i) for i in range(1, 30)] + [orm_write(i) for i in range(10)]
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert [i + 1 for i, r in enumerate(results[:29]) if isinstance(r, ValueError)] == [5, 10, 15, 20, 25]
    assert not any(isinstance(r, Exception) for r in results[29:])
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM conversations"))).scalar_one() == 10
        email = (await session.execute(text("SELECT email FROM users WHERE id = :id"), {"id": user_id})).scalar_one()
    assert email == "r29@example.com"  # the last body that did not fail
    assert 1 <= len(commits) <= 5  # the batches with an ORM writer; raw-only ones commit on their own

    # A raw-only batch waits for a lock held by another process off the loop, then commits.
    other = sqlite3.connect(db.sqlite.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(raw_write(1))
        await asyncio.sleep(0.2)
        assert not write.done()
    finally:
        other.execute("COMMIT")
        other.close()
    await asyncio.wait_for(write, 10)
    outside = sqlite3.connect(db.sqlite.path)
    try:
        assert outside.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()[0] == "r1@example.com"
    finally:
        outside.close()
