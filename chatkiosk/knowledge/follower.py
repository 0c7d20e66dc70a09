"""Keeping one worker's in-memory index equal to the database, reading only what changed.

Chunk ids only grow, so new chunks are those above the highest id already indexed: a refresh
reads just them and appends them to their scopes. The fingerprint (count, highest id, sum of
ids) tells whether anything else happened — a deletion, a replacement, or a chunk committed
late with an id below ones already seen (two PostgreSQL transactions can commit out of id
order): then the ids are compared with the index's, bucket by bucket (a count and a sum per
4,096 ids, computed by the database), and only the ids of the buckets that differ are read.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from chatkiosk.knowledge.index import IndexedChunk, IndexSnapshot, ScopeKey, Vocabulary, empty_snapshot
from chatkiosk.knowledge.tokenize import tokenize
from chatkiosk.store import knowledge as store
from chatkiosk.store.db import Database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

READ_BATCH = 5000
# Ids per bucket when the index's ids are compared with the database's.
BUCKET = 4096


@dataclass(slots=True)
class RefreshReport:
    """What one refresh did: chunks added and removed, whether ids were compared, how long it took."""

    added: int = 0
    removed: int = 0
    compared_ids: bool = False
    seconds: float = 0.0


def _vector(blob: bytes | None) -> np.ndarray | None:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32) if blob else None


def _scope(owner_id: str | None, visibility: str) -> ScopeKey:
    return None if visibility == store.SHARED else str(owner_id)


class IndexFollower:
    """The index of one worker and what it knows of the database's chunks."""

    def __init__(self, dimension: int | None) -> None:
        self._lock = asyncio.Lock()
        self._reset(dimension)

    def _reset(self, dimension: int | None) -> None:
        self.snapshot: IndexSnapshot = empty_snapshot(dimension)
        self.vocabulary = Vocabulary()
        self._scope_of: dict[int, ScopeKey] = {}  # every indexed chunk id → its scope
        self._id_sum = 0
        self._highest = 0
        self._fingerprint: tuple[int, int, int] | None = None

    async def refresh(self, db: Database, dimension: int | None) -> RefreshReport | None:
        """Bring the index up to the database; None when nothing changed."""
        async with self._lock:
            started = time.perf_counter()
            if dimension != self.snapshot.dimension:  # the embedding model's size became known or changed
                self._reset(dimension)
            async with db.read() as session:
                fingerprint = await store.chunk_fingerprint(session)
                if fingerprint == self._fingerprint:
                    return None
                count, highest, total = fingerprint
                rows: list[store.IndexRow] = []
                after = self._highest
                while True:
                    batch = await store.chunks_after(session, after, highest, READ_BATCH)
                    rows.extend(r for r in batch if r[0] not in self._scope_of)
                    if len(batch) < READ_BATCH:
                        break
                    after = batch[-1][0]
                removed: dict[ScopeKey, list[int]] = {}
                compared = len(self._scope_of) + len(rows) != count or self._id_sum + sum(r[0] for r in rows) != total
                if compared:
                    gone, late = await self._differences(session, {r[0] for r in rows}, highest)
                    for chunk_id in gone:
                        removed.setdefault(self._scope_of[chunk_id], []).append(chunk_id)
                    if late:
                        rows.extend(await store.chunks_by_id(session, late))
            self.snapshot = await asyncio.to_thread(self._apply, rows, removed)
            self._highest = max(self._highest, highest)
            self._fingerprint = fingerprint
            return RefreshReport(len(rows), sum(len(v) for v in removed.values()), compared, time.perf_counter() - started)

    async def _differences(self, session: AsyncSession, new: set[int], highest: int) -> tuple[list[int], list[int]]:
        """(indexed chunks no longer in the database, chunks in it up to `highest` not indexed nor in `new`).

        Ids are compared bucket by bucket (count and sum per `BUCKET` ids, computed by the
        database): only the ids of buckets that differ are read.
        """
        known = np.fromiter(self._scope_of.keys(), dtype=np.int64, count=len(self._scope_of))
        if new:
            known = np.concatenate([known, np.fromiter(new, dtype=np.int64, count=len(new))])
        buckets = known // BUCKET
        counts = np.bincount(buckets) if len(known) else np.zeros(0, np.int64)
        sums = np.bincount(buckets, weights=known) if len(known) else np.zeros(0)
        ours = {int(b): (int(counts[b]), int(sums[b])) for b in np.flatnonzero(counts)}
        theirs = await store.chunk_id_buckets(session, BUCKET)
        gone: list[int] = []
        late: list[int] = []
        for bucket in sorted(ours.keys() | theirs.keys()):
            if ours.get(bucket) == theirs.get(bucket):
                continue
            in_db = set(await store.chunk_ids(session, bucket * BUCKET, (bucket + 1) * BUCKET))
            indexed = set(known[buckets == bucket].tolist())
            gone.extend(i for i in indexed - in_db if i in self._scope_of)
            late.extend(i for i in in_db - indexed if i <= highest)
        return gone, sorted(late)

    def _apply(self, rows: list[store.IndexRow], removed: dict[ScopeKey, list[int]]) -> IndexSnapshot:
        counts = self.vocabulary.counts
        added = [
            IndexedChunk(chunk_id, _scope(owner_id, visibility), counts(tokenize(f"{title}\n{heading}\n{text}")), _vector(blob))
            for chunk_id, owner_id, visibility, title, heading, text, blob in sorted(rows, key=lambda r: r[0])
        ]
        snapshot = self.snapshot.changed(added, removed, len(self.vocabulary.ids))
        for ids in removed.values():
            for chunk_id in ids:
                if chunk_id in self._scope_of:
                    del self._scope_of[chunk_id]
                    self._id_sum -= chunk_id
        for chunk in added:
            self._scope_of[chunk.chunk_id] = chunk.scope
            self._id_sum += chunk.chunk_id
        return snapshot
