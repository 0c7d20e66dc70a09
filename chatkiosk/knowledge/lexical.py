"""BM25 postings that new chunks are appended to, scored at query time.

A `Postings` segment is immutable: for each token, the rows that hold it and how often.
Rows are appended as new small segments and segments are merged like a binary counter
(a segment is merged into the one before it while it is at least half that one's size), so a
scope of N rows has at most ~log2(N) segments and a new document costs work in proportion to
its own size, not to the corpus.

Scores are BM25 as `bm25s` computes them by default (Lucene's idf, k1 = 1.5, b = 0.75), but
from statistics taken at query time — document frequency, number of chunks, average length —
over exactly the chunks the user may see. `bm25s` bakes the idf into its matrix when it
indexes, which is why it cannot take a new document without indexing everything again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K1 = 1.5
B = 0.75


@dataclass(frozen=True, slots=True)
class TermCounts:
    """One chunk's distinct token ids, how often each occurs, and its length in tokens."""

    ids: np.ndarray  # int32, distinct
    counts: np.ndarray  # uint16, same length
    length: int


def term_counts(tokens: list[str], ids: dict[str, int]) -> TermCounts:
    """The `TermCounts` of a token list, adding unseen tokens to the vocabulary `ids`."""
    counter = Counter(tokens)
    # New tokens get the next ids in order of appearance, so ids are reproducible. (Not
    # `counter.keys() - ids.keys()`: that walks the whole vocabulary.)
    for token in [t for t in counter if t not in ids]:
        ids[token] = len(ids)
    token_ids = np.fromiter(map(ids.__getitem__, counter), dtype=np.int32, count=len(counter))
    counts = np.fromiter(counter.values(), dtype=np.uint16, count=len(counter))
    return TermCounts(token_ids, counts, len(tokens))


@dataclass(frozen=True, slots=True)
class Postings:
    """Postings of consecutive rows [first_row, first_row + rows), grouped by token id.

    6 bytes a posting: the row (int32) and the term count (uint16); token `distinct[i]`'s
    postings are `row_of[starts[i]:starts[i + 1]]`.
    """

    first_row: int
    rows: int
    distinct: np.ndarray  # int32, the tokens present, ascending
    starts: np.ndarray  # int64, where each distinct token's postings start (len(distinct) + 1)
    row_of: np.ndarray  # int32, the row of each posting (scope-wide row number)
    counts: np.ndarray  # uint16, the term count of each posting

    @classmethod
    def build(cls, first_row: int, chunks: Sequence[TermCounts]) -> Postings:
        """A segment holding `chunks` as rows first_row, first_row + 1, …"""
        sizes = np.fromiter((len(c.ids) for c in chunks), dtype=np.int64, count=len(chunks))
        if len(chunks):
            tokens = np.concatenate([c.ids for c in chunks])
            counts = np.concatenate([c.counts for c in chunks])
        else:
            tokens, counts = np.zeros(0, np.int32), np.zeros(0, np.uint16)
        row_of = np.repeat(np.arange(first_row, first_row + len(chunks), dtype=np.int32), sizes)
        return cls.from_arrays(first_row, len(chunks), tokens, row_of, counts)

    @classmethod
    def from_arrays(cls, first_row: int, rows: int, tokens: np.ndarray, row_of: np.ndarray, counts: np.ndarray) -> Postings:
        """A segment of postings given one by one (token, row, count), in any order."""
        order = np.argsort(tokens, kind="stable")
        tokens = tokens[order]
        distinct, starts = np.unique(tokens, return_index=True)
        starts = np.append(starts, len(tokens)).astype(np.int64)
        return cls(first_row, rows, distinct.astype(np.int32), starts, row_of[order].astype(np.int32, copy=False),
                   np.minimum(counts[order], np.iinfo(np.uint16).max).astype(np.uint16, copy=False))

    @property
    def tokens(self) -> np.ndarray:
        """The token of each posting."""
        return np.repeat(self.distinct, np.diff(self.starts))

    def merged(self, later: Postings, alive: np.ndarray | None = None) -> Postings:
        """One segment holding this one's rows and `later`'s (which must follow them); postings of dead rows dropped."""
        tokens = np.concatenate([self.tokens, later.tokens])
        row_of = np.concatenate([self.row_of, later.row_of])
        counts = np.concatenate([self.counts, later.counts])
        if alive is not None:
            keep = alive[row_of]
            tokens, row_of, counts = tokens[keep], row_of[keep], counts[keep]
        return Postings.from_arrays(self.first_row, self.rows + later.rows, tokens, row_of, counts)

    def gather(self, query: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, count, query weight) of every posting of the tokens in `query` (sorted), whose weights are `weights`."""
        at = np.searchsorted(self.distinct, query)
        found = at < len(self.distinct)
        found[found] = self.distinct[at[found]] == query[found]
        if not found.any():
            return _NO_POSTINGS
        at = at[found]
        spans = [slice(int(self.starts[i]), int(self.starts[i + 1])) for i in at.tolist()]
        weight = np.repeat(weights[found], self.starts[at + 1] - self.starts[at])
        if len(spans) == 1:
            return self.row_of[spans[0]], self.counts[spans[0]], weight
        return np.concatenate([self.row_of[s] for s in spans]), np.concatenate([self.counts[s] for s in spans]), weight


_NO_POSTINGS = (np.zeros(0, np.int32), np.zeros(0, np.uint16), np.zeros(0, np.float64))


def append_segment(segments: tuple[Postings, ...], new: Postings, alive: np.ndarray) -> tuple[Postings, ...]:
    """`segments` with `new` added, merging from the end while the newer one is at least half the older."""
    out = list(segments)
    out.append(new)
    while len(out) > 1 and out[-1].rows * 2 >= out[-2].rows:
        later = out.pop()
        out[-1] = out[-1].merged(later, alive)
    return tuple(out)


def document_frequencies(segments: Sequence[Postings], alive: np.ndarray, size: int) -> np.ndarray:
    """How many live rows hold each token id (an array of `size` ids)."""
    df = np.zeros(size, dtype=np.int64)
    for segment in segments:
        if len(segment.distinct):
            live = np.add.reduceat(alive[segment.row_of].astype(np.int64), segment.starts[:-1])
            df[segment.distinct] += live
    return df


def idf(document_frequency: np.ndarray, documents: int) -> np.ndarray:
    """Lucene's idf, as bm25s computes it: log(1 + (N - df + 0.5) / (df + 0.5))."""
    df = document_frequency.astype(np.float64)
    return np.log1p((documents - df + 0.5) / (df + 0.5))


def scores(segments: Sequence[Postings], query: np.ndarray, weights: np.ndarray, lengths: np.ndarray, average: float, rows: int) -> np.ndarray:
    """BM25 score of each of `rows` rows for the sorted distinct token ids `query` with idf `weights`.

    `lengths` are the rows' lengths in tokens and `average` the average over the chunks searched.
    """
    if not len(query) or not segments:
        return np.zeros(rows, dtype=np.float64)
    parts = [segment.gather(query, weights) for segment in segments]
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return np.zeros(rows, dtype=np.float64)
    row_of = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts]).astype(np.float64)
    idf_of = np.concatenate([p[2] for p in parts])
    norms = K1 * ((1 - B) + B * lengths[row_of] / max(average, 1e-9))
    return np.bincount(row_of, weights=idf_of * counts / (counts + norms), minlength=rows)[:rows]
