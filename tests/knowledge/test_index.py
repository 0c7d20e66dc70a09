"""The in-memory index: visibility masks inside the ranking, RRF fusion, the 1-bit vector prefilter."""

from __future__ import annotations

import numpy as np

from chatkiosk.knowledge import index as index_module
from chatkiosk.knowledge.index import IndexedChunk, IndexSnapshot, Vocabulary, binary_codes
from chatkiosk.knowledge.tokenize import tokenize


def _snapshot(texts_owners, vectors, monkeypatch=None):
    vocabulary = Vocabulary()
    chunks = [
        IndexedChunk(i + 1, owner, owner is None, vocabulary.encode(tokenize(text)), vectors[i])
        for i, (text, owner) in enumerate(texts_owners)
    ]
    return IndexSnapshot(chunks, len(vocabulary.ids), vectors.shape[1]), vocabulary


def test_rankings_only_hold_visible_chunks():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(4, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    snapshot, vocabulary = _snapshot([("refund policy shared", None), ("alice refund secret", "alice"),
                                      ("bob refund note", "bob"), ("unrelated words", None)], vectors)
    ids = vocabulary.lookup(tokenize("refund secret"))
    as_bob = snapshot.search("bob", ids, vectors[1], 10)  # Alice's vector is the query, even so
    assert {chunk_id for chunk_id, _ in as_bob} <= {1, 3, 4} and 2 not in dict(as_bob)
    as_alice = snapshot.search("alice", ids, vectors[1], 1)
    assert as_alice[0][0] == 2
    assert snapshot.search("stranger", ids, None, 10) and all(c in (1, 4) for c, _ in snapshot.search("stranger", ids, None, 10))
    # Fusion: a chunk first in both lists beats one first in only one.
    scores = dict(snapshot.search("alice", ids, vectors[1], 10))
    assert scores[2] == max(scores.values()) and abs(scores[2] - 2 / 61) < 1e-9


def test_tokens_newer_than_the_snapshot_match_nothing():
    vectors = np.eye(2, dtype=np.float32)
    snapshot, vocabulary = _snapshot([("alpha", None), ("beta", None)], vectors)
    vocabulary.encode(["gamma"])  # seen by a later refresh only
    assert snapshot.lexical(vocabulary.lookup(["gamma", "alpha"]), snapshot.visible_mask(None)).tolist() == [0]


def test_binary_prefilter_finds_the_exact_neighbours(monkeypatch):
    monkeypatch.setattr(index_module, "EXACT_UP_TO", 100)
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(50, 64)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, 3000)] + rng.normal(0, 0.3, (3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owners = [(f"chunk {i}", None if i % 3 else "alice") for i in range(3000)]
    snapshot, _ = _snapshot(owners, vectors)
    assert snapshot.codes is not None and snapshot.codes.shape == (3000, 1)
    mask = snapshot.visible_mask("bob")  # only shared chunks
    found = agreed = 0
    for q in range(20):
        query = vectors[q * 7] + rng.normal(0, 0.1, 64).astype(np.float32)
        query /= np.linalg.norm(query)
        approximate = snapshot.semantic(query, mask, 10)
        assert mask[approximate].all()
        exact = np.where(mask, vectors @ query, -np.inf).argsort()[::-1][:10]
        agreed += len(set(approximate.tolist()) & set(exact.tolist()))
        found += 10
    assert agreed / found >= 0.9
    assert binary_codes(np.ones((1, 70), np.float32)).shape == (1, 2)
