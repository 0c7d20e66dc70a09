"""The knowledge base a runtime holds (`runtime.knowledge`): ingest, list, delete, search.

Documents and chunks (with their embeddings) live in the database; each worker keeps an
in-memory `IndexSnapshot` that follows it (`follower`): a worker refreshes at once after its
own writes and polls a cheap fingerprint every `refresh_interval` seconds for the others', reading
only the chunks that changed, so a document added through any worker is searchable through all
within seconds however large the index.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from pathlib import PurePath

import numpy as np

from chatkiosk.errors import NotFound, PermissionDenied, UpstreamError, ValidationFailed
from chatkiosk.knowledge.chunking import chunk_paragraphs
from chatkiosk.knowledge.embedders import Embedder
from chatkiosk.knowledge.formats import detect_format, extract
from chatkiosk.knowledge.hits import DocumentInfo, SearchHit
from chatkiosk.knowledge.follower import IndexFollower, RefreshReport
from chatkiosk.knowledge.index import IndexSnapshot
from chatkiosk.knowledge.tokenize import tokenize
from chatkiosk.store import knowledge as store
from chatkiosk.store.db import Database
from chatkiosk.store.paging import Page

log = logging.getLogger("chatkiosk.knowledge")

MAX_CHUNKS_PER_DOCUMENT = 5000
MAX_TITLE = 300
MAX_TOP_K = 50
# Query vectors kept for repeated questions (2 KiB each at 512 dimensions).
QUERY_CACHE = 1024


def _info(document: store.KnowledgeDocument) -> DocumentInfo:
    return DocumentInfo(
        id=document.id, title=document.title, format=document.format, visibility=document.visibility,
        chunks=document.chunk_count, created_at=document.created_at, owner_id=document.owner_id,
        filename=document.filename, size_bytes=document.size_bytes,
    )


class KnowledgeBase:
    """Documents in, cited passages out, for one database and one embedding model."""

    def __init__(self, db: Database, embedder: Embedder, *, refresh_interval: float = 1.0) -> None:
        self.db = db
        self.embedder = embedder
        self.refresh_interval = refresh_interval
        self.follower = IndexFollower(embedder.dimension or None)
        self.last_refresh: RefreshReport | None = None
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._poller: asyncio.Task[None] | None = None

    @property
    def snapshot(self) -> IndexSnapshot:
        """The index as of the last refresh."""
        return self.follower.snapshot

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the index from the database and start following it."""
        await self.refresh()
        self._poller = asyncio.create_task(self._follow(), name="knowledge-refresh")

    async def close(self) -> None:
        """Stop following the database and release the embedder."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self.embedder.close()

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup: try again next tick
                log.warning("knowledge index refresh failed", extra={"error": type(exc).__name__})

    # --- following the database -------------------------------------------------------------

    async def refresh(self) -> bool:
        """Bring the in-memory index up to the database; True when it changed."""
        report = await self.follower.refresh(self.db, self.embedder.dimension or None)
        if report is not None:
            self.last_refresh = report
        return report is not None

    # --- documents --------------------------------------------------------------------------

    async def ingest(
        self, data: bytes, *, filename: str | None, content_type: str | None = None, owner_id: str | None,
        visibility: str = store.PRIVATE, title: str | None = None, refresh: bool = True,
    ) -> DocumentInfo:
        """Read, chunk, embed and store a document (replacing one of the same title in its scope).

        `refresh=False` leaves this worker's index to its next poll (bulk loads).

        `UnsupportedFormat` (415) for unknown types, `UnreadableDocument` (422) for broken files.
        """
        if visibility not in (store.PRIVATE, store.SHARED):
            raise ValidationFailed("visibility must be 'private' or 'shared'", param="visibility")
        if visibility == store.PRIVATE and owner_id is None:
            raise ValidationFailed("a private document needs an owner", param="visibility")
        fmt = detect_format(filename, content_type)
        extracted = await asyncio.to_thread(extract, data, fmt)
        name = (title or "").strip() or (extracted.title or "").strip() or PurePath(filename or "").stem.strip() or "untitled"
        name = name[:MAX_TITLE]
        chunks = chunk_paragraphs(extracted.paragraphs)
        if len(chunks) > MAX_CHUNKS_PER_DOCUMENT:
            raise ValidationFailed(f"the document is too long ({len(chunks)} chunks; at most {MAX_CHUNKS_PER_DOCUMENT})", param="file")
        vectors = await self.embedder.embed([f"{name}\n{c.heading}\n{c.text}" for c in chunks])
        rows = [(c.heading, c.text, vectors[i].astype("<f4").tobytes()) for i, c in enumerate(chunks)]
        async with self.db.write() as session:
            document = await store.replace_document(
                session, owner_id=owner_id, visibility=visibility, title=name, fmt=fmt, filename=filename or "",
                size_bytes=len(data), chunks=rows,
            )
            info = _info(document)
        if refresh:
            await self.refresh()
        return info

    async def documents(self, user_id: str, *, limit: int = 20, before: str | None = None) -> Page[DocumentInfo]:
        """A page of the documents this user may read (their own and the shared ones), newest first."""
        async with self.db.read() as session:
            page = await store.visible_documents(session, user_id, limit=limit, before=before)
        return Page([_info(d) for d in page.data], page.has_more)

    async def document(self, user_id: str, document_id: str) -> DocumentInfo:
        """One document this user may read; `NotFound` otherwise."""
        async with self.db.read() as session:
            document = await store.visible_document(session, user_id, document_id)
        if document is None:
            raise NotFound("no such document", code="document_not_found")
        return _info(document)

    async def delete(self, user_id: str, document_id: str, *, is_admin: bool = False) -> None:
        """Delete a document: your own, or (admins) a shared one. Another user's is `NotFound`."""
        async with self.db.write() as session:
            document = await store.visible_document(session, user_id, document_id)
            if document is None:
                raise NotFound("no such document", code="document_not_found")
            if document.visibility == store.SHARED and not is_admin:
                raise PermissionDenied("only administrators delete shared documents")
            await store.delete_document(session, document_id)
        await self.refresh()

    # --- search -----------------------------------------------------------------------------

    async def _query_vector(self, query: str) -> np.ndarray | None:
        cached = self._query_vectors.get(query)
        if cached is not None:
            self._query_vectors.move_to_end(query)
            return cached
        embed_now = getattr(self.embedder, "embed_now", None)
        vector = embed_now(query) if embed_now is not None else None
        try:
            if vector is None:
                vector = (await self.embedder.embed([query]))[0]
        except UpstreamError as exc:  # the embedding upstream is down: BM25 alone still answers
            log.warning("query embedding failed; lexical search only", extra={"error": exc.code})
            return None
        vector.flags.writeable = False
        self._query_vectors[query] = vector
        if len(self._query_vectors) > QUERY_CACHE:
            self._query_vectors.popitem(last=False)
        return vector

    async def search(self, user_id: str, query: str, top_k: int = 5) -> list[SearchHit]:
        """The chunks best matching `query` among the documents `user_id` may read, best first."""
        top_k = max(1, min(int(top_k), MAX_TOP_K))
        query = query.strip()
        if not query:
            return []
        snapshot = self.snapshot
        token_ids = self.follower.vocabulary.lookup(tokenize(query))
        vector = await self._query_vector(query)
        ranked = snapshot.search(user_id, token_ids, vector, top_k)
        if not ranked:
            return []
        async with self.db.read() as session:
            rows = await store.visible_chunks(session, user_id, [chunk_id for chunk_id, _ in ranked])
        hits: list[SearchHit] = []
        for chunk_id, score in ranked:
            found = rows.get(chunk_id)
            if found is None:  # deleted since the snapshot (or, never, not this user's)
                continue
            hits.append(SearchHit(
                document_id=found.document_id, document_title=found.document_title, chunk_id=f"chunk_{found.id}",
                chunk_index=found.index, heading=found.heading, text=found.text, score=round(score, 6),
            ))
        return hits
