"""The knowledge base's tables and queries: documents and their chunks (text + embedding).

Visibility lives in the queries: `visible_to(user_id)` is the one condition every read of a
document or chunk on behalf of a user carries — a user's own documents and the shared ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from chatkiosk.store.ids import new_id
from chatkiosk.store.paging import Page, newest_first
from chatkiosk.store.tables import Base, utcnow

SHARED = "shared"
PRIVATE = "private"


class KnowledgeDocument(Base):
    """One uploaded document. `scope` is "shared" or the owner's id: a title is unique per scope."""

    __tablename__ = "knowledge_documents"
    __table_args__ = (UniqueConstraint("scope", "title", name="uq_knowledge_documents_scope_title"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(40))
    visibility: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(300), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeChunk(Base):
    """One chunk of a document: its heading path, text and embedding (float32 bytes).

    The integer id only grows (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so a
    worker learns that the chunks changed from their count and highest id.
    """

    __tablename__ = "knowledge_chunks"
    __table_args__ = (Index("ix_knowledge_chunks_document_id", "document_id", "chunk_index"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("knowledge_documents.id", ondelete="CASCADE"))
    chunk_index: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)


def visible_to(user_id: str | None) -> Any:
    """The SQL condition "this user may read this document": shared, or their own."""
    if user_id is None:
        return KnowledgeDocument.visibility == SHARED
    return or_(KnowledgeDocument.visibility == SHARED, KnowledgeDocument.owner_id == str(user_id))


def scope_of(owner_id: str | None, visibility: str) -> str:
    """The namespace a title is unique in: all shared documents, or one user's private ones."""
    return SHARED if visibility == SHARED else str(owner_id)


async def replace_document(
    session: AsyncSession, *, owner_id: str | None, visibility: str, title: str, fmt: str, filename: str,
    size_bytes: int, chunks: Sequence[tuple[str, str, bytes | None]],
) -> KnowledgeDocument:
    """Store a document and its chunks `(heading, text, embedding)`, replacing one of the same title in its scope."""
    scope = scope_of(owner_id, visibility)
    await session.execute(delete(KnowledgeDocument).where(KnowledgeDocument.scope == scope, KnowledgeDocument.title == title))
    await session.flush()
    document = KnowledgeDocument(
        id=new_id("doc"), owner_id=owner_id, scope=scope, visibility=visibility, title=title, format=fmt,
        filename=filename[:300], size_bytes=size_bytes, chunk_count=len(chunks), created_at=utcnow(),
    )
    session.add(document)
    await session.flush()
    session.add_all(
        KnowledgeChunk(document_id=document.id, chunk_index=i, heading=heading, text=text, embedding=embedding)
        for i, (heading, text, embedding) in enumerate(chunks)
    )
    return document


async def visible_document(session: AsyncSession, user_id: str, document_id: str) -> KnowledgeDocument | None:
    """The document if this user may read it, else None."""
    return (await session.execute(
        select(KnowledgeDocument).where(KnowledgeDocument.id == document_id, visible_to(user_id))
    )).scalar_one_or_none()


async def visible_documents(session: AsyncSession, user_id: str, *, limit: int, before: str | None) -> Page[KnowledgeDocument]:
    """A page of the documents this user may read, newest first."""
    query = select(KnowledgeDocument).where(visible_to(user_id))
    return await newest_first(session, query, KnowledgeDocument.id, limit=limit, before=before)


async def delete_document(session: AsyncSession, document_id: str) -> bool:
    """Delete a document and its chunks; False when it did not exist."""
    # Chunks first: SQLite enforces ON DELETE CASCADE only with its foreign-keys pragma.
    await session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.document_id == document_id))
    result = await session.execute(delete(KnowledgeDocument).where(KnowledgeDocument.id == document_id))
    return bool(result.rowcount)


async def chunk_fingerprint(session: AsyncSession) -> tuple[int, int, int]:
    """(number of chunks, highest chunk id, sum of chunk ids): changes whenever chunks are added or removed."""
    count, highest, total = (await session.execute(
        select(func.count(KnowledgeChunk.id), func.max(KnowledgeChunk.id), func.sum(KnowledgeChunk.id))
    )).one()
    return int(count or 0), int(highest or 0), int(total or 0)


IndexRow = tuple[int, str | None, str, str, str, str, bytes | None]
"""(chunk id, owner id, visibility, document title, heading, text, embedding): what the in-memory index reads."""

_INDEX_COLUMNS = (KnowledgeChunk.id, KnowledgeDocument.owner_id, KnowledgeDocument.visibility, KnowledgeDocument.title,
                  KnowledgeChunk.heading, KnowledgeChunk.text, KnowledgeChunk.embedding)


async def chunks_after(session: AsyncSession, after: int, upto: int, limit: int) -> list[IndexRow]:
    """Up to `limit` chunks with after < id <= upto, by id, with what the index needs of their document."""
    rows = await session.execute(
        select(*_INDEX_COLUMNS).join(KnowledgeDocument, KnowledgeDocument.id == KnowledgeChunk.document_id)
        .where(KnowledgeChunk.id > after, KnowledgeChunk.id <= upto).order_by(KnowledgeChunk.id).limit(limit)
    )
    return [(int(i), o, v, t, h, x, e) for i, o, v, t, h, x, e in rows]


async def chunks_by_id(session: AsyncSession, ids: Sequence[int]) -> list[IndexRow]:
    """These chunks (those that exist), with what the index needs of their document."""
    out: list[IndexRow] = []
    for i in range(0, len(ids), 500):
        rows = await session.execute(
            select(*_INDEX_COLUMNS).join(KnowledgeDocument, KnowledgeDocument.id == KnowledgeChunk.document_id)
            .where(KnowledgeChunk.id.in_(list(ids[i : i + 500])))
        )
        out.extend((int(a), o, v, t, h, x, e) for a, o, v, t, h, x, e in rows)
    return out


async def chunk_id_buckets(session: AsyncSession, width: int) -> dict[int, tuple[int, int]]:
    """For each bucket of `width` consecutive ids that holds chunks: (how many, sum of their ids).

    Computed by the database in one pass over the id index, so a worker compares a few dozen
    rows instead of reading every id.
    """
    # Integer division in SQL on both SQLite and PostgreSQL (the width is an int, never user input).
    width = int(width)
    rows = await session.execute(text(f"SELECT id / {width}, count(id), sum(id) FROM knowledge_chunks GROUP BY id / {width}"))
    return {int(b): (int(n), int(total)) for b, n, total in rows}


async def chunk_ids(session: AsyncSession, low: int = 0, high: int | None = None) -> list[int]:
    """The ids of the chunks with low <= id < high (every chunk by default)."""
    query = select(KnowledgeChunk.id).where(KnowledgeChunk.id >= low)
    if high is not None:
        query = query.where(KnowledgeChunk.id < high)
    return [int(i) for (i,) in await session.execute(query)]


class VisibleChunk(NamedTuple):
    """A chunk as a search returns it, with its document's id and title."""

    id: int
    index: int
    heading: str
    text: str
    document_id: str
    document_title: str


async def visible_chunks(session: AsyncSession, user_id: str, ids: Sequence[int]) -> dict[int, VisibleChunk]:
    """The chunks among `ids` this user may read, with their documents; others are simply absent."""
    if not ids:
        return {}
    rows = await session.execute(
        select(KnowledgeChunk.id, KnowledgeChunk.chunk_index, KnowledgeChunk.heading, KnowledgeChunk.text,
               KnowledgeDocument.id, KnowledgeDocument.title)
        .join(KnowledgeDocument, KnowledgeDocument.id == KnowledgeChunk.document_id)
        .where(KnowledgeChunk.id.in_(list(ids)), visible_to(user_id))
    )
    return {int(row[0]): VisibleChunk(int(row[0]), *row[1:]) for row in rows}
