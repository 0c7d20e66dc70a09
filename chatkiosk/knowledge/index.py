"""The in-memory hybrid index: BM25 and vectors over chunks, kept per scope, fused by RRF.

Chunks are held in `Scope`s: one for the shared documents and one per user for their private
ones. A search for a user is run over a `VisibleView` made of exactly two scopes, the shared
one and that user's own — another user's rows are not in the arrays it scans, so they can
never take a place in a ranking (SECURITY 15), and BM25's statistics (document frequencies,
average length) are those of the chunks this user may see.

An `IndexSnapshot` is immutable: `changed` returns a new one with chunks added and removed,
reusing every scope it does not touch and appending to those it does (see `lexical` and
`vectors`), so a new document costs work in proportion to its own size, not the corpus's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from chatkiosk.knowledge import lexical
from chatkiosk.knowledge.lexical import Postings, TermCounts, term_counts
from chatkiosk.knowledge.vectors import VectorRows, nearest

RRF_K = 60
# How deep each ranking is read before fusing.
CANDIDATES = 50
# A scope at least this big is compacted when more than half its rows are deleted.
COMPACT_FROM = 64

ScopeKey = str | None  # None: the shared documents; else the owner's user id


@dataclass(slots=True)
class IndexedChunk:
    """What the index keeps of one chunk: whose scope it is in, its term counts, its vector."""

    chunk_id: int
    scope: ScopeKey
    terms: TermCounts
    vector: np.ndarray | None


@dataclass(slots=True)
class Vocabulary:
    """Token → id, growing as new chunks arrive (ids are never reused)."""

    ids: dict[str, int] = field(default_factory=dict)

    def counts(self, tokens: list[str]) -> TermCounts:
        """The term counts of a chunk's tokens, adding unseen ones."""
        return term_counts(tokens, self.ids)

    def lookup(self, tokens: list[str]) -> list[int]:
        """Ids of the known tokens among `tokens`, each once (unknown ones cannot match anything)."""
        return [self.ids[t] for t in dict.fromkeys(tokens) if t in self.ids]


@dataclass(frozen=True, slots=True)
class Scope:
    """The chunks of one scope: ids, lengths, which rows are live, postings, vectors."""

    key: ScopeKey
    chunk_ids: np.ndarray  # int64, one per row
    lengths: np.ndarray  # int32, tokens per row
    alive: np.ndarray  # bool, False for deleted rows
    segments: tuple[Postings, ...]
    df: np.ndarray  # int64 per token id: live rows holding it
    live: int
    live_length: int
    vectors: VectorRows | None

    @property
    def rows(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def empty(cls, key: ScopeKey, dimension: int | None) -> Scope:
        return cls(key, np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, bool), (), np.zeros(0, np.int64), 0, 0,
                   VectorRows(dimension) if dimension else None)

    def appended(self, chunks: Sequence[IndexedChunk], vocabulary_size: int) -> Scope:
        """This scope with `chunks` as new rows at its end."""
        first = self.rows
        alive = np.concatenate([self.alive, np.ones(len(chunks), bool)])
        segments = lexical.append_segment(self.segments, Postings.build(first, [c.terms for c in chunks]), alive)
        df = np.zeros(max(vocabulary_size, len(self.df)), np.int64)
        df[: len(self.df)] = self.df
        new_ids = np.concatenate([c.terms.ids for c in chunks]) if chunks else np.zeros(0, np.int32)
        df += np.bincount(new_ids, minlength=len(df))[: len(df)]
        lengths = np.fromiter((c.terms.length for c in chunks), dtype=np.int32, count=len(chunks))
        vectors = self.vectors
        if vectors is not None:
            dimension, zero = vectors.dimension, np.zeros(vectors.dimension, np.float32)
            # A chunk embedded by another model (the setting changed) has no usable vector: zeros.
            vectors = vectors.appended(np.vstack([c.vector if c.vector is not None and c.vector.shape == (dimension,) else zero
                                                  for c in chunks]))
        return Scope(
            self.key, np.concatenate([self.chunk_ids, np.fromiter((c.chunk_id for c in chunks), np.int64, len(chunks))]),
            np.concatenate([self.lengths, lengths]), alive, segments, df, self.live + len(chunks),
            self.live_length + int(lengths.sum()), vectors,
        )

    def without(self, chunk_ids: Iterable[int]) -> Scope:
        """This scope with these chunks' rows dead (compacted when most rows are)."""
        rows = np.flatnonzero(np.isin(self.chunk_ids, np.fromiter(chunk_ids, np.int64)) & self.alive)
        if not len(rows):
            return self
        alive = self.alive.copy()
        alive[rows] = False
        live, live_length = self.live - len(rows), self.live_length - int(self.lengths[rows].sum())
        if self.rows >= COMPACT_FROM and live * 2 < self.rows:
            return self._compacted(alive, live_length)
        df = lexical.document_frequencies(self.segments, alive, len(self.df))
        return replace(self, alive=alive, df=df, live=live, live_length=live_length)

    def _compacted(self, alive: np.ndarray, live_length: int) -> Scope:
        keep = np.flatnonzero(alive)
        renumber = np.full(self.rows, -1, np.int32)
        renumber[keep] = np.arange(len(keep), dtype=np.int32)
        segments: tuple[Postings, ...] = ()
        if self.segments:
            tokens = np.concatenate([p.tokens for p in self.segments])
            row_of = np.concatenate([p.row_of for p in self.segments])
            counts = np.concatenate([p.counts for p in self.segments])
            live = alive[row_of]
            segments = (Postings.from_arrays(0, len(keep), tokens[live], renumber[row_of[live]], counts[live]),)
        df = lexical.document_frequencies(segments, np.ones(len(keep), bool), len(self.df))
        return Scope(self.key, self.chunk_ids[keep], self.lengths[keep], np.ones(len(keep), bool), segments, df,
                     len(keep), live_length, self.vectors.kept(keep) if self.vectors is not None else None)


class VisibleView:
    """The scopes one user may search — the shared one and their own — as one row space."""

    def __init__(self, scopes: Sequence[Scope]) -> None:
        self.scopes = list(scopes)
        self.offsets = np.cumsum([0] + [s.rows for s in self.scopes])
        self.rows = int(self.offsets[-1])
        self.live = sum(s.live for s in self.scopes)
        self.alive = np.concatenate([s.alive for s in self.scopes]) if len(self.scopes) > 1 else (
            self.scopes[0].alive if self.scopes else np.zeros(0, bool))

    def chunk_ids(self, rows: np.ndarray) -> list[int]:
        """The chunk ids of these view rows."""
        ids = np.concatenate([s.chunk_ids for s in self.scopes]) if len(self.scopes) > 1 else self.scopes[0].chunk_ids
        return [int(i) for i in ids[rows]]

    def lexical(self, token_ids: Sequence[int], depth: int = CANDIDATES) -> np.ndarray:
        """View rows of the best BM25 matches, best first (positive scores only)."""
        if not self.live or not token_ids:
            return np.zeros(0, dtype=np.int64)
        scores = self.bm25(token_ids)
        return _top(np.where(self.alive & (scores > 0), scores, -np.inf), depth)

    def bm25(self, token_ids: Sequence[int]) -> np.ndarray:
        """The BM25 score of every view row (dead rows' are meaningless), with this view's statistics."""
        query = np.asarray(sorted(set(token_ids)), dtype=np.int32)
        df = np.zeros(len(query), np.int64)
        for scope in self.scopes:
            known = query < len(scope.df)
            df[known] += scope.df[query[known]]
        weights = lexical.idf(df, self.live)
        average = sum(s.live_length for s in self.scopes) / self.live
        parts = [lexical.scores(s.segments, query, weights, s.lengths, average, s.rows) for s in self.scopes]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def semantic(self, query: np.ndarray | None, depth: int = CANDIDATES) -> np.ndarray:
        """View rows of the nearest live vectors (cosine), best first."""
        blocks = [s.vectors for s in self.scopes if s.vectors is not None]
        if query is None or len(blocks) != len(self.scopes) or not blocks or query.shape[-1] != blocks[0].dimension:
            return np.zeros(0, dtype=np.int64)
        return nearest(blocks, self.alive, query, depth)

    def search(self, token_ids: Sequence[int], query: np.ndarray | None, top_k: int) -> list[tuple[int, float]]:
        """(chunk id, fused score) of the best `top_k` chunks of the view."""
        if not self.live:
            return []
        depth = max(CANDIDATES, top_k * 2)
        fused: dict[int, float] = {}
        for ranking in (self.lexical(token_ids, depth), self.semantic(query, depth)):
            for rank, row in enumerate(ranking.tolist()):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        ids = self.chunk_ids(np.fromiter((row for row, _ in best), np.int64, len(best)))
        return [(chunk_id, score) for chunk_id, (_, score) in zip(ids, best)]


def _top(scores: np.ndarray, depth: int) -> np.ndarray:
    depth = min(depth, int(np.isfinite(scores).sum()))
    if depth <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, depth - 1)[:depth]
    return top[np.argsort(-scores[top], kind="stable")]


class IndexSnapshot:
    """Every scope's chunks at one moment, searchable per user."""

    def __init__(self, scopes: dict[ScopeKey, Scope], vocabulary_size: int, dimension: int | None) -> None:
        self.scopes = scopes
        self.vocabulary_size = vocabulary_size
        self.dimension = dimension
        self.size = sum(s.live for s in scopes.values())

    def view(self, user_id: str | None) -> VisibleView:
        """What `user_id` may search: the shared scope and their own, nothing else."""
        keys: list[ScopeKey] = [None] if user_id is None else [None, str(user_id)]
        return VisibleView([self.scopes[k] for k in keys if k in self.scopes])

    def search(self, user_id: str | None, token_ids: Sequence[int], query: np.ndarray | None, top_k: int) -> list[tuple[int, float]]:
        """(chunk id, fused score) of the best `top_k` chunks this user may see."""
        return self.view(user_id).search(token_ids, query, top_k)

    def changed(self, added: Sequence[IndexedChunk], removed: dict[ScopeKey, list[int]], vocabulary_size: int) -> IndexSnapshot:
        """A new snapshot with `added` appended to their scopes and the `removed` chunk ids gone."""
        scopes = dict(self.scopes)
        for key, chunk_ids in removed.items():
            if key in scopes:
                scopes[key] = scopes[key].without(chunk_ids)
        by_scope: dict[ScopeKey, list[IndexedChunk]] = {}
        for chunk in added:
            by_scope.setdefault(chunk.scope, []).append(chunk)
        for key, chunks in by_scope.items():
            scope = scopes.get(key) or Scope.empty(key, self.dimension)
            scopes[key] = scope.appended(chunks, vocabulary_size)
        return IndexSnapshot({k: s for k, s in scopes.items() if s.live}, vocabulary_size, self.dimension)


def empty_snapshot(dimension: int | None) -> IndexSnapshot:
    """An index with nothing in it, for vectors of `dimension` (None: no vectors)."""
    return IndexSnapshot({}, 0, dimension)


EMPTY = empty_snapshot(None)
