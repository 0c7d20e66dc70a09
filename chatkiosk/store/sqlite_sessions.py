"""SQLite sessions without a thread hop per statement: group commit for writes, in-loop reads.

SQLite is a library, and a small indexed statement costs a few microseconds, less than the
hop to a driver thread and back (aiosqlite makes one hop per statement, BEGIN, fetch, COMMIT
and pool reset included: ~40 hops per stored turn). So sessions here run their statements
on the event loop through plain `sqlite3`, and only what can wait on the disk or on another
process's lock runs in one writer thread:

- **Writes** share one connection and are grouped: the writer thread opens a batch
  (`BEGIN IMMEDIATE`: this may wait for another process), every `write()` waiting then runs
  its body on the loop as one SAVEPOINT (so a failing body rolls back alone, and its caller
  gets the error at once), and when the last body is done the thread commits the batch — and
  opens the next one in the same hop when writers are waiting. A burst of turns costs a
  handful of commits and one hop each; a `write()` returns only after its batch committed, so
  nothing acknowledged can be lost (WAL, `synchronous=NORMAL`: durable across a process kill).
- **Reads** take one of a few connections and run their transaction on the loop: no hop. In
  WAL mode a reader never waits for the writer.

The session handed out is a normal `AsyncSession`; only its statements complete without
suspending. A body that awaits something else (the network) still works: it keeps the writer
(or its read connection) until it ends, as it kept a pooled connection before.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import RootTransaction
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import NullPool

BUSY_TIMEOUT_MS = 30_000
MAX_BATCH = 64  # writes per commit at most, so a batch's last writer does not wait too long
READERS = 4


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        # AsyncSession closes a cursor result this way; a sqlite3 cursor needs nothing.
        return None


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


def sync_engine(path: str, *, immediate: bool) -> Engine:
    """A plain-`sqlite3` engine on `path` with WAL, a busy timeout, foreign keys and our BEGIN."""
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        poolclass=NullPool,
        connect_args={"check_same_thread": False, "factory": _Connection, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _session(conn: Connection, **options: Any) -> AsyncSession:
    session = AsyncSession(expire_on_commit=False, **options)
    session.sync_session.bind = conn
    return session


class _Batch:
    """Writers that commit together."""

    def __init__(self) -> None:
        self.size = 0  # writers that joined
        self.members = 0  # writers that joined and have not finished their body
        self.opened = asyncio.Event()
        self.idle = asyncio.Event()
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def join(self) -> None:
        self.size += 1
        self.members += 1
        self.idle.clear()

    def leave(self) -> None:
        self.members -= 1
        if self.members == 0:
            self.idle.set()


class SqliteSessions:
    """The write and read sessions of one SQLite file (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.write_engine = sync_engine(path, immediate=True)
        self.read_engine = sync_engine(path, immediate=False)
        self._executor: ThreadPoolExecutor | None = None
        self._writer: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._body = asyncio.Lock()  # one body at a time on the writer connection
        self._open: _Batch | None = None  # accepting writers, bodies running
        self._next: _Batch | None = None  # writers waiting for the next batch
        self._driver: asyncio.Task[None] | None = None
        self._readers: list[Connection] = []
        self._idle_readers: asyncio.Queue[Connection] | None = None

    # --- writes

    def _join(self) -> _Batch:
        batch = self._open
        if batch is None or batch.size >= MAX_BATCH:
            if self._next is None:
                self._next = _Batch()
            batch = self._next
        batch.join()
        if self._driver is None or self._driver.done():
            self._driver = asyncio.get_running_loop().create_task(self._drive(), name="sqlite-group-commit")
        return batch

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits with its batch; returns once committed, raises at once on error."""
        batch = self._join()
        error: Exception | None = None
        try:
            await batch.opened.wait()
            if batch.committed.done():
                batch.committed.result()  # the batch could not be opened: raise why
            async with self._body:
                assert self._writer is not None
                session = _session(self._writer, join_transaction_mode="create_savepoint")
                try:
                    async with session.begin():  # SAVEPOINT … RELEASE, or ROLLBACK TO on error
                        yield session
                finally:
                    await session.close()
        except Exception as exc:
            error = exc
        finally:
            batch.leave()
        # A failed body also waits for its batch, so failing and succeeding writes take the same
        # time (a taken username must not answer faster than a fresh one: SECURITY 1).
        try:
            await asyncio.shield(batch.committed)
        except Exception:
            if error is None:
                raise
        if error is not None:
            raise error

    async def _in_thread(self, fn: Callable[[], Any]) -> Any:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _begin(self) -> None:
        if self._writer is None:
            self._writer = self.write_engine.connect()
        self._transaction = self._writer.begin()

    def _commit(self, begin_next: bool) -> BaseException | None:
        """Commit the open batch (rolled back if the commit fails), then open the next one."""
        assert self._transaction is not None
        error: BaseException | None = None
        try:
            self._transaction.commit()
        except Exception as exc:  # the whole batch is lost: its writers get the error
            error = exc
            try:
                self._transaction.rollback()
            except Exception:
                pass
        self._transaction = None
        if begin_next:
            self._begin()
        return error

    async def _drive(self) -> None:
        """Open batches, wait for their bodies, commit them; until no writer waits."""
        batch: _Batch | None = None
        try:
            while True:
                if batch is None:
                    batch, self._next = self._next, None
                    if batch is None:
                        return
                    await self._in_thread(self._begin)
                self._open = batch
                batch.opened.set()
                while batch.members:
                    await batch.idle.wait()
                self._open = None
                following, self._next = self._next, None
                error = await self._in_thread(lambda: self._commit(following is not None))
                if error is None:
                    batch.committed.set_result(None)
                else:
                    batch.committed.set_exception(error)
                batch = following
        except BaseException as exc:
            for pending in (batch, self._open, self._next):
                if pending is not None and not pending.committed.done():
                    pending.committed.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the database is closing"))
                    pending.opened.set()
            self._open = self._next = None
            raise

    # --- reads

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session on a reader connection, its transaction run on the loop."""
        if self._idle_readers is None:
            self._idle_readers = asyncio.Queue()
        if self._idle_readers.empty() and len(self._readers) < READERS:
            conn = self.read_engine.connect()
            self._readers.append(conn)
        else:
            conn = await self._idle_readers.get()
        try:
            session = _session(conn)
            try:
                async with session.begin():
                    yield session
            finally:
                await session.close()
        finally:
            self._idle_readers.put_nowait(conn)

    # --- closing

    async def close(self) -> None:
        """Let the last batch commit, then close the connections and the writer thread."""
        if self._driver is not None and not self._driver.done():
            try:
                await self._driver
            except Exception:
                pass
        for conn in self._readers:
            conn.close()
        self._readers.clear()
        self._idle_readers = None
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await self._in_thread(writer.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.write_engine.dispose()
        self.read_engine.dispose()
