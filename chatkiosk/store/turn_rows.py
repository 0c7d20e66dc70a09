"""The statements every chat turn runs, without the ORM: the context read, the turn's two
messages (and the photos sent with the user's, when there are any), the partial text, the end.

A turn runs these on every message (and, in a conversation longer than its window, the running
summary's read and write), so they are written once and run bare: on SQLite as plain
`sqlite3` statements (prepared once and cached by the driver) inside the group-commit writer's
batch or a reader's transaction; on PostgreSQL as plain asyncpg statements (prepared and
cached per connection) on a pool of their own (`Database.pg_pool`). The ORM path did the same work at
3-5x the CPU (its unit of work, identity map and
statement building per call; see benchmarks/README.md). What they store is exactly what the
ORM stored (JSON `null` for a `None` JSON field, SQLAlchemy's SQLite timestamp text), so every
other reader sees the same rows; the conversation's title from its first message (the ORM
hook of `store/titles.py`) is set here too, in the same UPDATE as its `updated_at`.

Rows come back as small read-only values with the attributes the turn reads, and the turn's
messages go in as `MessageDraft`s: plain values with the ORM `Message`'s attributes (which this
module also takes), without its instrumented attributes (~50 µs to build one, on every turn).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any


from chatkiosk.store.attachments import TicketAttachment
from chatkiosk.store.ids import new_id
from chatkiosk.store.tables import Message, utcnow
from chatkiosk.store.titles import title_from

if TYPE_CHECKING:
    from chatkiosk.store.db import Database


@dataclass(frozen=True, slots=True)
class TurnConversation:
    """The conversation as a turn reads it."""

    id: str
    user_id: str
    agent: str
    summary: str | None
    summary_through: str | None
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A stored message as the context window reads it."""

    id: str
    role: str
    content: str
    status: str
    tool_call_id: str | None
    attachments: list[dict[str, Any]] | None = None  # photos sent with it, by reference


@dataclass(slots=True)
class MessageDraft:
    """A message of a turn as the turn builds, changes and writes it (a stored `Message`'s attributes)."""

    id: str
    conversation_id: str  # "" for an ephemeral turn's, never stored
    user_id: str
    role: str
    content: str
    status: str
    created_at: datetime
    updated_at: datetime
    usage: dict[str, Any] | None = None
    tool_calls: list[Any] | None = None
    tool_call_id: str | None = None
    error: dict[str, Any] | None = None
    guardrail: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None


def draft(
    *, conversation_id: str, user_id: str, role: str, content: str, status: str = "complete",
    tool_call_id: str | None = None, guardrail: dict[str, Any] | None = None, attachments: list[dict[str, Any]] | None = None,
) -> MessageDraft:
    """A new message of a turn, with its id and timestamps (as `messages.build` makes an ORM row)."""
    now = utcnow()
    return MessageDraft(
        new_id("msg"), conversation_id, user_id, role, content, status, now, now,
        tool_call_id=tool_call_id, guardrail=guardrail, attachments=attachments,
    )


AnyMessage = Message | MessageDraft
"""What the statements below write: a turn's drafts, or ORM rows (the same attributes)."""


# --- SQLite: plain sqlite3 ----------------------------------------------------------------

_CONV_SQL = "SELECT id, user_id, agent, summary, summary_through, state FROM conversations WHERE id = ? AND user_id = ?"
_RECENT_SQL = (
    "SELECT id, role, content, status, tool_call_id, attachments FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ?"
)
_INSERT_SQL = (
    "INSERT INTO messages (id, conversation_id, user_id, role, content, status, usage, tool_calls, tool_call_id, error, "
    "guardrail, attachments, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_PHOTO_COLUMNS = ("id", "ticket_id", "user_id", "conversation_id", "message_id", "content_type", "size", "width", "height",
                  "sha256", "data", "created_at")
_PHOTO_SQL = f"INSERT INTO ticket_attachments ({', '.join(_PHOTO_COLUMNS)}) VALUES ({', '.join('?' * len(_PHOTO_COLUMNS))})"
_TOUCH_SQL = "UPDATE conversations SET updated_at = ? WHERE id = ?"
_TOUCH_TITLE_SQL = "UPDATE conversations SET updated_at = ?, title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?"
_FINISH_SQL = (
    "UPDATE messages SET status = ?, content = ?, usage = ?, tool_calls = ?, error = ?, guardrail = ?, updated_at = ? WHERE id = ?"
)
_PARTIAL_SQL = "UPDATE messages SET content = ?, updated_at = ? WHERE id = ? AND status = 'streaming'"
_SUMMARY_SQL = "SELECT summary, summary_through FROM conversations WHERE id = ? AND user_id = ?"
_SET_SUMMARY_SQL = "UPDATE conversations SET summary = ?, summary_through = ? WHERE id = ?"


def _stamp(value: datetime) -> str:
    """A timestamp as SQLAlchemy's SQLite type writes it (UTC, no zone, microseconds)."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _json(value: Any) -> str:
    """A JSON column's value as SQLAlchemy's JSON type writes it (None is JSON `null`)."""
    return "null" if value is None else json.dumps(value)


def _title(message: AnyMessage) -> str | None:
    """The title an untitled conversation takes from this message (its first user message)."""
    if message.role != "user" or not message.content.strip():
        return None
    return title_from(message.content)


def _message_params(m: AnyMessage) -> tuple[Any, ...]:
    return (
        m.id, m.conversation_id, m.user_id, m.role, m.content, m.status, _json(m.usage), _json(m.tool_calls), m.tool_call_id,
        _json(m.error), _json(m.guardrail), _json(m.attachments), _stamp(m.created_at), _stamp(m.updated_at),
    )


def _photo_params(photo: TicketAttachment) -> tuple[Any, ...]:
    return tuple(_stamp(photo.created_at) if k == "created_at" else getattr(photo, k) for k in _PHOTO_COLUMNS)


def _history_row(r: Any, attachments: Any) -> HistoryRow:
    return HistoryRow(r[0], r[1], r[2], r[3], r[4], attachments)


class _SqliteRows:
    def __init__(self, db: Database) -> None:
        assert db.sqlite is not None
        self.sessions = db.sqlite

    async def load(self, conversation_id: str, user_id: str, window: Callable[[str], int]) -> tuple[TurnConversation | None, list[HistoryRow]]:
        async with self.sessions.read_raw() as raw:
            row = raw.execute(_CONV_SQL, (conversation_id, user_id)).fetchone()
            if row is None:
                return None, []
            conv = TurnConversation(row[0], row[1], row[2], row[3], row[4], (json.loads(row[5]) if row[5] is not None else None) or {})
            rows = raw.execute(_RECENT_SQL, (conversation_id, window(conv.agent))).fetchall()
        return conv, [_history_row(r, json.loads(r[5]) if r[5] is not None else None) for r in reversed(rows)]

    async def open(self, said: tuple[AnyMessage, ...], photos: Sequence[TicketAttachment]) -> None:
        title = _title(said[0])
        async with self.sessions.write_raw() as raw:
            raw.executemany(_INSERT_SQL, [_message_params(m) for m in said])
            if photos:
                raw.executemany(_PHOTO_SQL, [_photo_params(p) for p in photos])
            now = _stamp(utcnow())
            if title is None:
                raw.execute(_TOUCH_SQL, (now, said[0].conversation_id))
            else:
                raw.execute(_TOUCH_TITLE_SQL, (now, title, said[0].conversation_id))

    async def finish(self, m: AnyMessage, content: str) -> None:
        async with self.sessions.write_raw() as raw:
            raw.execute(_FINISH_SQL, (
                m.status, content, _json(m.usage), _json(m.tool_calls), _json(m.error), _json(m.guardrail), _stamp(utcnow()), m.id,
            ))

    async def save_partial(self, message_id: str, content: str) -> None:
        async with self.sessions.write_raw() as raw:
            raw.execute(_PARTIAL_SQL, (content, _stamp(utcnow()), message_id))

    async def summary(self, conversation_id: str, user_id: str) -> tuple[str | None, str | None] | None:
        async with self.sessions.read_raw() as raw:
            row = raw.execute(_SUMMARY_SQL, (conversation_id, user_id)).fetchone()
        return (row[0], row[1]) if row is not None else None

    async def set_summary(self, conversation_id: str, summary: str, through: str) -> None:
        async with self.sessions.write_raw() as raw:
            raw.execute(_SET_SUMMARY_SQL, (summary, through, conversation_id))


# --- PostgreSQL: plain asyncpg -------------------------------------------------------------


def _numbered(sql: str) -> str:
    """The SQLite statement with PostgreSQL's numbered parameters."""
    parts = sql.split("?")
    return "".join(f"{part}${i}" if i < len(parts) else part for i, part in enumerate(parts, start=1))


_PG_CONV = _numbered(_CONV_SQL)
_PG_RECENT = _numbered(_RECENT_SQL)
_PG_INSERT = _numbered(_INSERT_SQL)
_PG_PHOTO = _numbered(_PHOTO_SQL)
_PG_TOUCH = _numbered(_TOUCH_SQL)
_PG_TOUCH_TITLE = _numbered(_TOUCH_TITLE_SQL)
_PG_FINISH = _numbered(_FINISH_SQL)
_PG_PARTIAL = _numbered(_PARTIAL_SQL)
_PG_SUMMARY = _numbered(_SUMMARY_SQL)
_PG_SET_SUMMARY = _numbered(_SET_SUMMARY_SQL)


def _pg_message(m: AnyMessage) -> tuple[Any, ...]:
    # JSON columns take their text (asyncpg's default), timestamps the aware datetime.
    return (
        m.id, m.conversation_id, m.user_id, m.role, m.content, m.status, _json(m.usage), _json(m.tool_calls), m.tool_call_id,
        _json(m.error), _json(m.guardrail), _json(m.attachments), m.created_at, m.updated_at,
    )


def _loads(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


class _PgRows:
    """One pooled asyncpg connection per call: the reads in one round trip each, the open in
    one transaction, the end and the partial text as single (autocommitted) statements."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, conversation_id: str, user_id: str, window: Callable[[str], int]) -> tuple[TurnConversation | None, list[HistoryRow]]:
        pool = await self.db.pg_pool()
        async with pool.acquire() as conn:
            row = await conn.fetchrow(_PG_CONV, conversation_id, user_id)
            if row is None:
                return None, []
            conv = TurnConversation(row[0], row[1], row[2], row[3], row[4], _loads(row[5]) or {})
            rows = await conn.fetch(_PG_RECENT, conversation_id, window(conv.agent))
        return conv, [_history_row(r, _loads(r[5])) for r in reversed(rows)]

    async def open(self, said: tuple[AnyMessage, ...], photos: Sequence[TicketAttachment]) -> None:
        title = _title(said[0])
        pool = await self.db.pg_pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(_PG_INSERT, [_pg_message(m) for m in said])
            if photos:
                await conn.executemany(_PG_PHOTO, [tuple(getattr(p, k) for k in _PHOTO_COLUMNS) for p in photos])
            if title is None:
                await conn.execute(_PG_TOUCH, utcnow(), said[0].conversation_id)
            else:
                await conn.execute(_PG_TOUCH_TITLE, utcnow(), title, said[0].conversation_id)

    async def finish(self, m: AnyMessage, content: str) -> None:
        pool = await self.db.pg_pool()
        await pool.execute(
            _PG_FINISH, m.status, content, _json(m.usage), _json(m.tool_calls), _json(m.error), _json(m.guardrail), utcnow(), m.id,
        )

    async def save_partial(self, message_id: str, content: str) -> None:
        pool = await self.db.pg_pool()
        await pool.execute(_PG_PARTIAL, content, utcnow(), message_id)

    async def summary(self, conversation_id: str, user_id: str) -> tuple[str | None, str | None] | None:
        pool = await self.db.pg_pool()
        row = await pool.fetchrow(_PG_SUMMARY, conversation_id, user_id)
        return (row[0], row[1]) if row is not None else None

    async def set_summary(self, conversation_id: str, summary: str, through: str) -> None:
        pool = await self.db.pg_pool()
        await pool.execute(_PG_SET_SUMMARY, summary, through, conversation_id)


class TurnRows:
    """The turn's statements on one database (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._impl: _SqliteRows | _PgRows
        if db.sqlite is not None:
            self._impl = _SqliteRows(db)
        elif db.dialect == "postgresql":
            self._impl = _PgRows(db)
        else:  # the settings only ever name SQLite or PostgreSQL
            raise ValueError(f"chat turns run on SQLite or PostgreSQL, not {db.dialect}")

    async def load(self, conversation_id: str, user_id: str, window: Callable[[str], int]) -> tuple[TurnConversation | None, list[HistoryRow]]:
        """The user's conversation (None: not theirs, or none) and its last `window(agent)` messages, oldest first."""
        return await self._impl.load(conversation_id, user_id, window)

    async def open(self, *said: AnyMessage, photos: Sequence[TicketAttachment] = ()) -> None:
        """Insert the turn's messages — its user message (or the client's tool results) and its
        `streaming` assistant message, last — and the photos sent with the user message, and touch
        (and, when untitled, title from the first) the conversation: one transaction."""
        await self._impl.open(said, photos)

    async def finish(self, assistant: AnyMessage, content: str) -> None:
        """Close the assistant message in its final status (`assistant`'s fields) with `content`."""
        await self._impl.finish(assistant, content)

    async def save_partial(self, message_id: str, content: str) -> None:
        """Save the text a message streamed so far (only while it is still `streaming`)."""
        await self._impl.save_partial(message_id, content)

    async def summary(self, conversation_id: str, user_id: str) -> tuple[str | None, str | None] | None:
        """The user's conversation's running summary and the newest message id it covers (None: not theirs)."""
        return await self._impl.summary(conversation_id, user_id)

    async def set_summary(self, conversation_id: str, summary: str, through: str) -> None:
        """Store the running summary and the id of the newest message it covers."""
        await self._impl.set_summary(conversation_id, summary, through)
