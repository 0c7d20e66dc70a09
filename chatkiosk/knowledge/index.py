"""The in-memory hybrid index: BM25 (bm25s) and vectors over every chunk, fused by RRF.

An `IndexSnapshot` is immutable: a refresh builds a new one off the event loop and swaps it
in, so searches never wait for one. Visibility is part of the ranking itself: each search
builds the mask "shared, or owned by this user" and both rankings are computed only over
chunks inside it, so another user's chunk can never take a place in the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bm25s
import numpy as np

RRF_K = 60
# How deep each ranking is read before fusing.
CANDIDATES = 50
# Up to this many chunks vectors are compared exactly; beyond it, 1-bit codes (the signs of
# the 512 dimensions, 64 bytes a chunk) pick `RERANK` candidates by Hamming distance first,
# and only those are compared exactly: ~8x less memory to scan per query.
EXACT_UP_TO = 20_000
RERANK = 1000


@dataclass(slots=True)
class IndexedChunk:
    """What the index keeps of one chunk: who may see it, its token ids, its vector."""

    chunk_id: int
    owner_id: str | None
    shared: bool
    token_ids: np.ndarray
    vector: np.ndarray | None


@dataclass(slots=True)
class Vocabulary:
    """Token → id, growing as new chunks arrive (ids are never reused)."""

    ids: dict[str, int] = field(default_factory=dict)

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Ids of `tokens`, adding unseen ones."""
        ids = self.ids
        return np.fromiter((ids.setdefault(t, len(ids)) for t in tokens), dtype=np.int32, count=len(tokens))

    def lookup(self, tokens: list[str]) -> list[int]:
        """Ids of the known tokens among `tokens` (unknown ones cannot match anything)."""
        return [self.ids[t] for t in dict.fromkeys(tokens) if t in self.ids]


class IndexSnapshot:
    """Every chunk's BM25 postings and vector at one moment, searchable per user."""

    def __init__(self, chunks: list[IndexedChunk], vocabulary_size: int, dimension: int | None) -> None:
        self.size = len(chunks)
        self.vocabulary_size = vocabulary_size
        self.chunk_ids = np.fromiter((c.chunk_id for c in chunks), dtype=np.int64, count=len(chunks))
        self.shared = np.fromiter((c.shared for c in chunks), dtype=bool, count=len(chunks))
        owners: dict[str, int] = {}
        self.owner_codes = np.fromiter(
            ((owners.setdefault(c.owner_id, len(owners)) if c.owner_id is not None else -1) for c in chunks),
            dtype=np.int32, count=len(chunks),
        )
        self.owners = owners
        self.bm25: bm25s.BM25 | None = None
        if chunks:
            self.bm25 = bm25s.BM25()
            vocab = {str(i): i for i in range(max(vocabulary_size, 1))}
            # bm25s adds its own empty token to the vocabulary it is given: give it a copy.
            self.bm25.index(bm25s.tokenization.Tokenized(ids=[c.token_ids.tolist() for c in chunks], vocab=dict(vocab)),
                            show_progress=False)
        self.vectors: np.ndarray | None = None
        if dimension and chunks:
            # A chunk embedded by another model (the setting changed) has no usable vector: zeros.
            zero = np.zeros(dimension, dtype=np.float32)
            self.vectors = np.vstack([c.vector if c.vector is not None and c.vector.shape == (dimension,) else zero for c in chunks])
        self.codes: np.ndarray | None = None
        if self.vectors is not None and self.size > EXACT_UP_TO:
            self.codes = binary_codes(self.vectors)

    def visible_mask(self, user_id: str | None) -> np.ndarray:
        """True for each chunk this user may see: shared ones and their own."""
        code = self.owners.get(str(user_id)) if user_id is not None else None
        if code is None:
            return self.shared
        return self.shared | (self.owner_codes == code)

    def _top(self, scores: np.ndarray, mask: np.ndarray, depth: int) -> np.ndarray:
        scores = np.where(mask, scores, -np.inf)
        depth = min(depth, int(mask.sum()))
        if depth <= 0:
            return np.zeros(0, dtype=np.int64)
        top = np.argpartition(-scores, depth - 1)[:depth]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top[np.isfinite(scores[top])]

    def lexical(self, token_ids: list[int], mask: np.ndarray, depth: int = CANDIDATES) -> np.ndarray:
        """Row numbers of the best BM25 matches inside `mask`, best first (positive scores only)."""
        # Tokens first seen after this snapshot was built cannot match anything in it.
        token_ids = [t for t in token_ids if t < self.vocabulary_size]
        if self.bm25 is None or not token_ids:
            return np.zeros(0, dtype=np.int64)
        scores = np.asarray(self.bm25.get_scores_from_ids(token_ids), dtype=np.float32)
        return self._top(np.where(scores > 0, scores, -np.inf), mask, depth)

    def semantic(self, query: np.ndarray | None, mask: np.ndarray, depth: int = CANDIDATES) -> np.ndarray:
        """Row numbers of the nearest vectors (cosine) inside `mask`, best first."""
        if self.vectors is None or query is None or query.shape[-1] != self.vectors.shape[1]:
            return np.zeros(0, dtype=np.int64)
        query = query.reshape(-1).astype(np.float32, copy=False)
        if self.codes is None:
            return self._top(self.vectors @ query, mask, depth)
        # Hamming distance of the sign codes, invisible chunks pushed past every visible one.
        distance = np.bitwise_count(self.codes ^ binary_codes(query[None, :])).sum(axis=1, dtype=np.int32)
        distance = np.where(mask, distance, np.iinfo(np.int32).max)
        pool = min(max(RERANK, depth), int(mask.sum()))
        if pool <= 0:
            return np.zeros(0, dtype=np.int64)
        candidates = np.argpartition(distance, pool - 1)[:pool]
        scores = self.vectors[candidates] @ query
        order = np.argsort(-scores, kind="stable")[:depth]
        return candidates[order]

    def search(self, user_id: str | None, token_ids: list[int], query: np.ndarray | None, top_k: int) -> list[tuple[int, float]]:
        """(chunk id, fused score) of the best `top_k` chunks this user may see."""
        if self.size == 0:
            return []
        mask = self.visible_mask(user_id)
        if not mask.any():
            return []
        depth = max(CANDIDATES, top_k * 2)
        fused: dict[int, float] = {}
        for ranking in (self.lexical(token_ids, mask, depth), self.semantic(query, mask, depth)):
            for rank, row in enumerate(ranking.tolist()):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        return [(int(self.chunk_ids[row]), score) for row, score in best]


def binary_codes(vectors: np.ndarray) -> np.ndarray:
    """1-bit codes of vectors (the sign of each dimension), as rows of uint64 words."""
    packed = np.packbits(vectors > 0, axis=1)
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return packed.view(np.uint64)


EMPTY = IndexSnapshot([], 0, None)
