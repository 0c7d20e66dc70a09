"""Chunk vectors in memory: one contiguous float32 matrix per scope, rows appended in place.

`VectorRows` is a view of the first `size` rows of a buffer with spare capacity: appending
writes the new rows after them (or into a bigger copy) and returns a new view, so a search
still holding the old view reads exactly the rows it had. Next to the unit vectors sit their
1-bit codes (the sign of each dimension, 64 bytes for 512 dimensions).

`nearest` ranks the rows of the scopes a user may see (and only those) by cosine: exactly,
one matrix-vector product per scope, up to `EXACT_UP_TO` rows; beyond that the codes' Hamming
distance picks `RERANK` candidates (or 1/16 of the rows) first and only they are compared
exactly (~8x less memory read per query). The codes are stored word by word (one contiguous column of every row's first
64 bits, then the second…), so the distance is a few whole-array XOR + popcount + add passes.

Products run on one BLAS thread (`one_blas_thread`): OpenBLAS's own threads spin against each
other and the event loop on a busy machine (re-ranking 1,000 candidates: 8-34 ms with them,
0.1-0.7 ms without, on 2 cores at load 8-11).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

EXACT_UP_TO = 20_000
# Candidates the codes pick for the exact comparison: at least RERANK, and more for more rows
# (at 34k visible rows of the benchmark, 2,000 hold 95% of the exact top 50, 1,000 only 89%).
RERANK = 2000
RERANK_SHARE = 16  # ... at least 1/16 of the rows
GROWTH = 1.5


@functools.cache
def one_blas_thread() -> None:
    """Limit BLAS to one thread in this process (once)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def binary_codes(vectors: np.ndarray) -> np.ndarray:
    """1-bit codes of vectors (the sign of each dimension), as rows of uint64 words."""
    packed = np.packbits(vectors > 0, axis=1)
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return packed.view(np.uint64)


class VectorRows:
    """The first `size` rows of a growing matrix of unit vectors, and their 1-bit codes."""

    __slots__ = ("_buffer", "_codes", "_filled", "size")

    def __init__(self, dimension: int, *, _buffer: np.ndarray | None = None, _codes: np.ndarray | None = None,
                 _filled: list[int] | None = None, size: int = 0) -> None:
        self._buffer = _buffer if _buffer is not None else np.zeros((0, dimension), np.float32)
        self._codes = _codes if _codes is not None else np.zeros(((dimension + 63) // 64, 0), np.uint64)
        # How many rows of the buffer are written, shared by every view of it: a view that is
        # not the newest must copy before appending, or it would overwrite a newer view's rows.
        self._filled = _filled if _filled is not None else [0]
        self.size = size

    @property
    def dimension(self) -> int:
        return int(self._buffer.shape[1])

    @property
    def matrix(self) -> np.ndarray:
        """The rows, (size, dimension) float32, C-contiguous."""
        return self._buffer[: self.size]

    @property
    def codes(self) -> np.ndarray:
        """The rows' 1-bit codes, word by word: (words, size) uint64."""
        return self._codes[:, : self.size]

    def appended(self, vectors: np.ndarray) -> VectorRows:
        """A view with `vectors` (n, dimension) added after these rows."""
        n, size = len(vectors), self.size
        buffer, codes, filled = self._buffer, self._codes, self._filled
        if size + n > len(buffer) or filled[0] != size:
            capacity = max(size + n, int(len(buffer) * GROWTH))
            buffer = np.zeros((capacity, self.dimension), np.float32)
            codes = np.zeros((self._codes.shape[0], capacity), np.uint64)
            buffer[:size], codes[:, :size] = self.matrix, self.codes
            filled = [size]
        buffer[size : size + n] = vectors
        codes[:, size : size + n] = binary_codes(vectors).T
        filled[0] = size + n
        return VectorRows(self.dimension, _buffer=buffer, _codes=codes, _filled=filled, size=size + n)

    def kept(self, rows: np.ndarray) -> VectorRows:
        """A new matrix of only these rows (compaction)."""
        return VectorRows(self.dimension, _buffer=np.ascontiguousarray(self.matrix[rows]),
                          _codes=np.ascontiguousarray(self.codes[:, rows]), _filled=[len(rows)], size=len(rows))


def _top(scores: np.ndarray, depth: int) -> np.ndarray:
    """Indices of the `depth` highest finite scores, best first (ties keep index order)."""
    depth = min(depth, len(scores))
    if depth <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top[np.isfinite(scores[top])]


def hamming(codes: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Bits differing between each row's code (`codes` word by word, (words, n)) and `code` (words,)."""
    # int16: at most 8,192 dimensions (the setting's limit), so a distance fits.
    distance = np.bitwise_count(codes[0] ^ code[0]).astype(np.int16)
    for word in range(1, len(code)):
        distance += np.bitwise_count(codes[word] ^ code[word])
    return distance


def nearest(blocks: Sequence[VectorRows], alive: np.ndarray, query: np.ndarray, depth: int) -> np.ndarray:
    """Rows (numbered across `blocks` in order) of the `depth` live rows nearest `query`, best first."""
    total = sum(b.size for b in blocks)
    live = int(alive.sum())
    if not total or not live:
        return np.zeros(0, dtype=np.int64)
    one_blas_thread()
    query = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
    if live <= EXACT_UP_TO:
        scores = np.concatenate([b.matrix @ query for b in blocks]) if len(blocks) > 1 else blocks[0].matrix @ query
        return _top(np.where(alive, scores, -np.inf), depth)
    code = binary_codes(query[None, :])[0]
    distance = np.concatenate([hamming(b.codes, code) for b in blocks]) if len(blocks) > 1 else hamming(blocks[0].codes, code)
    distance[~alive] = np.iinfo(distance.dtype).max
    pool = min(max(RERANK, live // RERANK_SHARE, depth), live)
    candidates = np.sort(np.argpartition(distance, pool - 1)[:pool])
    scores = np.empty(pool, dtype=np.float32)
    start = 0
    for block in blocks:
        lo, hi = np.searchsorted(candidates, [start, start + block.size])
        if hi > lo:
            scores[lo:hi] = block.matrix[candidates[lo:hi] - start] @ query
        start += block.size
    order = _top(scores, depth)
    return candidates[order]
