"""The database: sessions for SQLite (embedded default) and PostgreSQL (scale-out).

`write()` is one write transaction, `read()` a read-only one; both yield an `AsyncSession`.

On SQLite the sessions of `store/sqlite_sessions.py` run statements on the event loop through
plain `sqlite3`: writes are group-committed by one writer thread (a SAVEPOINT per `write()`,
one commit and one thread hop per batch), reads run on a few reader connections with no hop.
Write transactions start with `BEGIN IMMEDIATE`: a deferred transaction that reads and then
writes can fail with "database is locked" without waiting, because SQLite cannot upgrade its
lock safely. An aiosqlite engine remains for the migrations (Alembic's async runner).

On PostgreSQL, asyncpg's pool under SQLAlchemy, and a plain asyncpg pool beside it for the
statements every chat turn runs (`pg_pool`, store/turn_rows.py). Every session ends its transaction itself, so a connection
going back to a pool is not reset with a ROLLBACK round trip (`pool_reset_on_return=None`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from chatkiosk.store.sqlite_sessions import BUSY_TIMEOUT_MS, SqliteSessions

SQLITE_BUSY_TIMEOUT_MS = BUSY_TIMEOUT_MS
PG_POOL_SIZE = 10  # connections of the turn's own asyncpg pool


def _migration_engine(url: str) -> AsyncEngine:
    """An aiosqlite engine for Alembic (one connection, WAL, our BEGIN IMMEDIATE)."""
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, pool_size=1, max_overflow=0)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The engines and sessions of one database. Built by the app, closed at exit."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self.sqlite: SqliteSessions | None = None
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if not database or database == ":memory:":
                raise ValueError("SQLite needs a file (an in-memory database is one per connection)")
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.sqlite = SqliteSessions(database)
            self.write_engine = _migration_engine(url)
        else:
            self.write_engine = create_async_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_reset_on_return=None
            )
            self._sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._pg_pool: asyncio.Future[Any] | None = None

    @property
    def engines(self) -> list[Engine]:
        """The sync engines that run this database's statements (for instrumentation)."""
        if self.sqlite is not None:
            return [self.sqlite.write_engine, self.sqlite.read_engine, self.write_engine.sync_engine]
        return [self.write_engine.sync_engine]

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one write transaction: committed on exit (and durable when this
        returns), rolled back on error."""
        if self.sqlite is not None:
            async with self.sqlite.write() as session:
                yield session
            return
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only."""
        if self.sqlite is not None:
            async with self.sqlite.read() as session:
                yield session
            return
        async with self._sessions() as session, session.begin():
            yield session

    async def pg_pool(self) -> Any:
        """A plain asyncpg pool beside SQLAlchemy's (PostgreSQL only), made on first use: for
        the few statements every chat turn runs (store/turn_rows.py), which cost a third of the
        CPU there without SQLAlchemy's session, greenlet hop and pre-ping round trip."""
        assert self.dialect == "postgresql"
        if self._pg_pool is None or (self._pg_pool.done() and self._pg_pool.exception() is not None):
            import asyncpg

            dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
            self._pg_pool = asyncio.ensure_future(asyncpg.create_pool(dsn, min_size=1, max_size=PG_POOL_SIZE))
        return await asyncio.shield(self._pg_pool)

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        async with self.read() as session:
            await session.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Finish pending writes and close every connection."""
        if self.sqlite is not None:
            await self.sqlite.close()
        if self._pg_pool is not None:
            pool, self._pg_pool = self._pg_pool, None
            with contextlib.suppress(Exception):
                await (await pool).close()
        await self.write_engine.dispose()
