"""SQLite sessions without a thread hop per statement: group commit for writes, in-loop reads.

SQLite is a library, and a small indexed statement costs a few microseconds, less than the
hop to a driver thread and back (aiosqlite makes one hop per statement, BEGIN, fetch, COMMIT
and pool reset included: ~40 hops per stored turn; and a hop to a thread that needs the GIL
while the loop is busy waits up to the interpreter's 5 ms switch interval). So sessions here
run their statements on the event loop through plain `sqlite3`, and what can wait on the disk
or on another process runs in one helper thread:

- **Writes** share one connection and are grouped (group commit): a batch opens with
  `BEGIN IMMEDIATE` (tried at once; when another process holds the lock, it waits in the
  thread instead of on the loop), every `write()` waiting then runs its body as one SAVEPOINT
  (so a failing body rolls back alone), and when the last body is done the batch commits once.
  Writers that arrive together share a commit; a `write()` returns only after its batch
  committed, so nothing acknowledged can be lost (WAL with `synchronous=NORMAL`: a commit is
  durable across a process kill and needs no fsync, so it does not block the loop).
- **Checkpoints** (copying the WAL back into the database: the fsyncs) run in the thread on a
  connection of their own every `CHECKPOINT_EVERY` commits, never in a writer's commit.
- **Reads** take one of a few connections and run their transaction on the loop: no hop. In
  WAL mode a reader never waits for the writer.

The session handed out is a normal `AsyncSession`; only its statements complete without
suspending. A body that awaits something else (the network) still works: it keeps the writer
(or its read connection) until it ends, as it kept a pooled connection before.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import RootTransaction
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import NullPool

BUSY_TIMEOUT_MS = 30_000
READERS = 4
CHECKPOINT_EVERY = 100  # commits


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        # AsyncSession closes a cursor result this way; a sqlite3 cursor needs nothing.
        return None


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


def sync_engine(path: str, *, immediate: bool) -> Engine:
    """A plain-`sqlite3` engine on `path` with WAL, foreign keys and our BEGIN.

    The writer (`immediate`) never waits for a lock on the loop (busy timeout 0: see
    `SqliteSessions._open_batch`) and leaves checkpoints to the helper thread.
    """
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        poolclass=NullPool,
        connect_args={"check_same_thread": False, "factory": _Connection, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if immediate:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute("PRAGMA busy_timeout=0")
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
        self.members = 0  # writers that joined and have not finished their body
        self.orm = False  # a member uses a SQLAlchemy session (else: only plain sqlite3 bodies)
        self.opened = asyncio.Event()
        self.idle = asyncio.Event()
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def join(self) -> None:
        self.members += 1
        self.idle.clear()

    def leave(self) -> None:
        self.members -= 1
        if self.members == 0:
            self.idle.set()


class SqliteSessions:
    """The write and read sessions of one SQLite file (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.write_engine = sync_engine(path, immediate=True)
        self.read_engine = sync_engine(path, immediate=False)
        self._executor: ThreadPoolExecutor | None = None
        self._writer: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._raw_open = False  # a plain-sqlite3 batch's transaction is open on the writer
        self._body = asyncio.Lock()  # one body at a time on the writer connection
        self._open: _Batch | None = None  # accepting writers, bodies running
        self._next: _Batch | None = None  # writers waiting for the next batch
        self._driver: asyncio.Task[None] | None = None
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None
        self._readers: list[Connection] = []
        self._idle_readers: asyncio.Queue[Connection] | None = None

    # --- writes

    def _join(self, orm: bool) -> _Batch:
        # Writers that arrive while a batch runs form the next one: a batch is never held
        # open for late arrivals, so under steady load each commit takes what queued meanwhile.
        batch = self._next
        if batch is None:
            batch = self._next = _Batch()
        batch.join()
        batch.orm = batch.orm or orm
        if self._driver is None or self._driver.done():
            self._driver = asyncio.get_running_loop().create_task(self._drive(), name="sqlite-group-commit")
        return batch

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits with its batch; returns once committed, raises at once on error."""
        async with self._member(orm=True) as writer:
            session = _session(writer, join_transaction_mode="create_savepoint")
            try:
                async with session.begin():  # SAVEPOINT … RELEASE, or ROLLBACK TO on error
                    yield session
            finally:
                await session.close()

    @asynccontextmanager
    async def write_raw(self) -> AsyncIterator[sqlite3.Connection]:
        """The writer's own `sqlite3` connection, for statements that skip SQLAlchemy (a chat
        turn's few): the same batch, savepoint and commit as `write()`."""
        async with self._member(orm=False) as writer:
            raw = writer.connection.dbapi_connection
            assert raw is not None
            raw.execute("SAVEPOINT raw_write")
            try:
                yield raw  # type: ignore[misc]
            except BaseException:
                raw.execute("ROLLBACK TO raw_write")
                raw.execute("RELEASE raw_write")
                raise
            raw.execute("RELEASE raw_write")

    @asynccontextmanager
    async def _member(self, orm: bool) -> AsyncIterator[Connection]:
        """Join the next batch and hold the writer connection for one body; returns once the
        batch committed, raises the body's error after that."""
        batch = self._join(orm)
        error: Exception | None = None
        try:
            await batch.opened.wait()
            if batch.committed.done():
                batch.committed.result()  # the batch could not be opened: raise why
            async with self._body:
                assert self._writer is not None
                yield self._writer
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
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-helper")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def _open_batch(self, orm: bool) -> None:
        """BEGIN IMMEDIATE: at once when the lock is free, else waiting for it in the thread.

        A batch of plain-sqlite3 bodies only (the chat turn's statements) begins and commits on
        the raw connection: SQLAlchemy's transaction bookkeeping is only needed by sessions.
        """
        if self._writer is None:
            self._writer = self.write_engine.connect()
        writer = self._writer
        if not orm:
            await self._begin_raw(writer)
            return
        try:
            self._transaction = writer.begin()
            return
        except OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            writer.rollback()

        raw = writer.connection.dbapi_connection
        assert raw is not None

        def wait_for_lock() -> RootTransaction:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            try:
                return writer.begin()
            finally:
                raw.execute("PRAGMA busy_timeout=0")

        self._transaction = await self._in_thread(wait_for_lock)

    async def _begin_raw(self, writer: Connection) -> None:
        raw = writer.connection.dbapi_connection
        assert raw is not None
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise

            def wait_for_lock() -> None:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                try:
                    raw.execute("BEGIN IMMEDIATE")
                finally:
                    raw.execute("PRAGMA busy_timeout=0")

            await self._in_thread(wait_for_lock)
        self._raw_open = True

    def _commit(self) -> Exception | None:
        """Commit the open batch (rolled back if the commit fails); the error, if any."""
        if self._raw_open:
            self._raw_open = False
            assert self._writer is not None
            raw = self._writer.connection.dbapi_connection
            assert raw is not None
            try:
                raw.execute("COMMIT")
            except Exception as exc:  # the whole batch is lost: its writers get the error
                with contextlib.suppress(Exception):
                    raw.execute("ROLLBACK")
                return exc
        else:
            assert self._transaction is not None
            transaction, self._transaction = self._transaction, None
            try:
                transaction.commit()
            except Exception as exc:  # the whole batch is lost: its writers get the error
                with contextlib.suppress(Exception):
                    transaction.rollback()
                return exc
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.ensure_future(self._in_thread(self._run_checkpoint))
        return None

    def _run_checkpoint(self) -> None:
        """In the thread: copy what the WAL holds back into the database (PASSIVE: waits for nobody)."""
        with contextlib.suppress(sqlite3.Error):
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()

    async def _drive(self) -> None:
        """Open batches, wait for their bodies, commit them; until no writer waits."""
        batch: _Batch | None = None
        try:
            while True:
                batch, self._next = self._next, None
                if batch is None:
                    return
                await self._open_batch(batch.orm)
                self._open = batch
                batch.opened.set()
                while batch.members:
                    await batch.idle.wait()
                self._open = None
                error = self._commit()
                if error is None:
                    batch.committed.set_result(None)
                else:
                    batch.committed.set_exception(error)
        except BaseException as exc:
            if self._raw_open and self._writer is not None:  # never leave the writer inside a transaction
                self._raw_open = False
                with contextlib.suppress(Exception):
                    self._writer.connection.dbapi_connection.execute("ROLLBACK")  # type: ignore[union-attr]
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
        conn = await self._reader()
        try:
            session = _session(conn)
            try:
                async with session.begin():
                    yield session
            finally:
                await session.close()
        finally:
            self._idle_readers.put_nowait(conn)  # type: ignore[union-attr]

    @asynccontextmanager
    async def read_raw(self) -> AsyncIterator[sqlite3.Connection]:
        """A reader's own `sqlite3` connection in one read transaction (statements that skip SQLAlchemy)."""
        conn = await self._reader()
        raw = conn.connection.dbapi_connection
        assert raw is not None
        try:
            raw.execute("BEGIN")
            try:
                yield raw  # type: ignore[misc]
            finally:
                raw.execute("COMMIT")
        finally:
            self._idle_readers.put_nowait(conn)  # type: ignore[union-attr]

    async def _reader(self) -> Connection:
        if self._idle_readers is None:
            self._idle_readers = asyncio.Queue()
        if not self._idle_readers.empty():
            return self._idle_readers.get_nowait()
        if len(self._readers) < READERS:
            conn = self.read_engine.connect()
            self._readers.append(conn)
            return conn
        return await self._idle_readers.get()

    # --- closing

    async def close(self) -> None:
        """Let the last batch commit, then close the connections and the writer thread."""
        if self._driver is not None and not self._driver.done():
            with contextlib.suppress(Exception):
                await self._driver
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
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
