"""The in-memory index: per-scope rows (visibility is what a search scans), RRF fusion,
BM25 equal to bm25s's, appends and deletions equal to a rebuild, the 1-bit vector prefilter."""

from __future__ import annotations

import random

import bm25s
import numpy as np

from chatkiosk.knowledge import lexical, vectors as vectors_module
from chatkiosk.knowledge.demo import demo_files
from chatkiosk.knowledge.index import IndexedChunk, Vocabulary, empty_snapshot
from chatkiosk.knowledge.tokenize import tokenize
from chatkiosk.knowledge.vectors import VectorRows, binary_codes, hamming


def _chunks(texts_owners, vectors, vocabulary):
    return [IndexedChunk(i + 1, owner, vocabulary.counts(tokenize(text)), vectors[i]) for i, (text, owner) in enumerate(texts_owners)]


def _snapshot(texts_owners, vectors):
    vocabulary = Vocabulary()
    chunks = _chunks(texts_owners, vectors, vocabulary)
    return empty_snapshot(vectors.shape[1]).changed(chunks, {}, len(vocabulary.ids)), vocabulary


def _unit(rng, n, d):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_search_scans_only_the_shared_scope_and_the_users_own():
    vectors = _unit(np.random.default_rng(1), 4, 8)
    snapshot, vocabulary = _snapshot([("refund policy shared", None), ("alice refund secret", "alice"),
                                      ("bob refund note", "bob"), ("unrelated words", None)], vectors)
    assert [s.key for s in snapshot.view("bob").scopes] == [None, "bob"]
    assert [s.key for s in snapshot.view("stranger").scopes] == [None] and [s.key for s in snapshot.view(None).scopes] == [None]
    ids = vocabulary.lookup(tokenize("refund secret"))
    as_bob = snapshot.search("bob", ids, vectors[1], 10)  # Alice's vector is the query, even so
    assert {chunk_id for chunk_id, _ in as_bob} == {1, 3, 4}
    as_alice = snapshot.search("alice", ids, vectors[1], 1)
    assert as_alice[0][0] == 2
    assert {c for c, _ in snapshot.search("stranger", ids, None, 10)} == {1}  # BM25 alone: only the shared match
    # Fusion: a chunk first in both lists beats one first in only one.
    scores = dict(snapshot.search("alice", ids, vectors[1], 10))
    assert scores[2] == max(scores.values()) and abs(scores[2] - 2 / 61) < 1e-9


def test_tokens_newer_than_the_snapshot_match_nothing():
    snapshot, vocabulary = _snapshot([("alpha", None), ("beta", None)], np.eye(2, dtype=np.float32))
    vocabulary.counts(["gamma"])  # seen by a later refresh only
    view = snapshot.view(None)
    assert view.lexical(vocabulary.lookup(["gamma", "alpha"])).tolist() == [0]


def _policy_texts(n, seed=1):
    sentences = [line for p in demo_files() for line in p.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    rng = random.Random(seed)
    return [" ".join(rng.sample(sentences, 3)) for _ in range(n)]


QUESTIONS = ["환불은 며칠 안에 돼요?", "how long does delivery take", "退货需要多少天", "can I exchange for another size", "배송비"]


def test_bm25_scores_are_those_of_bm25s_over_the_chunks_searched():
    texts = _policy_texts(300)
    vocabulary = Vocabulary()
    chunks = [IndexedChunk(i + 1, None, vocabulary.counts(tokenize(t)), None) for i, t in enumerate(texts)]
    snapshot = empty_snapshot(None)
    for i in range(0, len(chunks), 23):  # appended a few at a time, as refreshes do
        snapshot = snapshot.changed(chunks[i : i + 23], {}, len(vocabulary.ids))
    scope = snapshot.scopes[None]
    assert 1 < len(scope.segments) <= 9  # merged like a binary counter, not one segment per append
    reference = bm25s.BM25()
    ref_vocab: dict[str, int] = {}
    ref_ids = [[ref_vocab.setdefault(t, len(ref_vocab)) for t in tokenize(t)] for t in texts]
    reference.index(bm25s.tokenization.Tokenized(ids=ref_ids, vocab=dict(ref_vocab)), show_progress=False)
    for question in QUESTIONS:
        tokens = tokenize(question)
        expected = reference.get_scores_from_ids([ref_vocab[t] for t in dict.fromkeys(tokens) if t in ref_vocab])
        query = np.asarray(sorted(set(vocabulary.lookup(tokens))), dtype=np.int32)
        weights = lexical.idf(scope.df[query], scope.live)
        got = lexical.scores(scope.segments, query, weights, scope.lengths, scope.live_length / scope.live, scope.rows)
        assert np.allclose(got, expected, atol=1e-4), question
        top = np.argsort(-expected, kind="stable")[:5]
        assert snapshot.view(None).lexical(vocabulary.lookup(tokens), 5).tolist() == top.tolist()


def test_appending_and_deleting_ranks_as_a_rebuild_does():
    rng = np.random.default_rng(3)
    texts = _policy_texts(400, seed=2)
    owners = [None if i % 3 else ("alice" if i % 2 else "bob") for i in range(400)]
    vectors = _unit(rng, 400, 16)
    vocabulary = Vocabulary()
    chunks = _chunks(list(zip(texts, owners)), vectors, vocabulary)
    grown = empty_snapshot(16)
    for i in range(0, 400, 17):
        grown = grown.changed(chunks[i : i + 17], {}, len(vocabulary.ids))
    gone = [c for c in chunks if c.chunk_id % 5 == 0]
    removed: dict[str | None, list[int]] = {}
    for c in gone:
        removed.setdefault(c.scope, []).append(c.chunk_id)
    grown = grown.changed([], removed, len(vocabulary.ids))
    kept = [c for c in chunks if c.chunk_id % 5]
    rebuilt = empty_snapshot(16).changed(kept, {}, len(vocabulary.ids))
    assert grown.size == rebuilt.size == len(kept)
    for user in (None, "alice", "bob"):
        for n, question in enumerate(QUESTIONS):
            ids = vocabulary.lookup(tokenize(question))
            g, r = grown.view(user), rebuilt.view(user)
            # Every live chunk's BM25 score is the same (chunks of equal score may swap places in a
            # ranking: the sums run in another order), and so is the vector ranking.
            g_scores = dict(zip(g.chunk_ids(np.flatnonzero(g.alive)), g.bm25(ids)[g.alive]))
            r_scores = dict(zip(r.chunk_ids(np.arange(r.rows)), r.bm25(ids)))
            assert g_scores.keys() == r_scores.keys() and np.allclose([g_scores[c] for c in r_scores], list(r_scores.values()))
            assert g.chunk_ids(g.semantic(vectors[n], 20)) == r.chunk_ids(r.semantic(vectors[n], 20))
            found = grown.search(user, ids, vectors[n], 10)
            assert found and all(c % 5 and owners[c - 1] in (None, user) for c, _ in found)


def test_a_scope_mostly_deleted_is_compacted():
    vocabulary = Vocabulary()
    texts = _policy_texts(200, seed=4)
    vectors = _unit(np.random.default_rng(5), 200, 8)
    chunks = _chunks([(t, "carol") for t in texts], vectors, vocabulary)
    snapshot = empty_snapshot(8).changed(chunks, {}, len(vocabulary.ids))
    snapshot = snapshot.changed([], {"carol": [c.chunk_id for c in chunks[:150]]}, len(vocabulary.ids))
    scope = snapshot.scopes["carol"]
    assert scope.rows == 50 and scope.alive.all() and scope.vectors.size == 50
    assert np.array_equal(scope.vectors.matrix, vectors[150:])
    ids = vocabulary.lookup(tokenize("환불"))
    assert all(c > 150 for c, _ in snapshot.search("carol", ids, vectors[160], 20))
    assert snapshot.search("carol", [], vectors[160], 1)[0][0] == 161
    emptied = snapshot.changed([], {"carol": [c.chunk_id for c in chunks[150:]]}, len(vocabulary.ids))
    assert "carol" not in emptied.scopes and emptied.search("carol", ids, vectors[160], 5) == []


def test_vector_rows_append_without_disturbing_an_older_view():
    rng = np.random.default_rng(6)
    first = VectorRows(8).appended(_unit(rng, 3, 8))
    second = first.appended(_unit(rng, 2, 8))
    assert first.size == 3 and second.size == 5 and np.array_equal(second.matrix[:3], first.matrix)
    before = second.matrix.copy()
    branch = first.appended(np.ones((1, 8), np.float32))  # appending to an older view copies
    assert np.array_equal(second.matrix, before) and branch.size == 4 and np.array_equal(branch.matrix[:3], first.matrix)
    assert second.matrix.flags.c_contiguous and second.codes.shape == (1, 5)


def test_binary_prefilter_finds_the_exact_neighbours(monkeypatch):
    monkeypatch.setattr(vectors_module, "EXACT_UP_TO", 100)
    monkeypatch.setattr(vectors_module, "RERANK", 200)  # of the 2,000 shared rows
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(50, 64)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, 3000)] + rng.normal(0, 0.3, (3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owners = [(f"chunk {i}", None if i % 3 else "alice") for i in range(3000)]
    snapshot, _ = _snapshot(owners, vectors)
    shared = np.array([i % 3 != 0 for i in range(3000)])
    view = snapshot.view("bob")  # only shared chunks
    found = agreed = 0
    for q in range(20):
        query = vectors[q * 7] + rng.normal(0, 0.1, 64).astype(np.float32)
        query /= np.linalg.norm(query)
        approximate = [c - 1 for c in view.chunk_ids(view.semantic(query, 10))]
        assert shared[approximate].all()
        exact = np.where(shared, vectors @ query, -np.inf).argsort()[::-1][:10]
        agreed += len(set(approximate) & set(exact.tolist()))
        found += 10
    assert agreed / found >= 0.9
    assert binary_codes(np.ones((1, 70), np.float32)).shape == (1, 2)
    rows = binary_codes(vectors[:50])
    assert np.array_equal(hamming(np.ascontiguousarray(rows.T), rows[3]), np.bitwise_count(rows ^ rows[3]).sum(axis=1))
