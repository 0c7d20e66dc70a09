"""Knowledge search latency at 10k and 100k chunks, and ingest throughput, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/knowledge_search.py [--sizes 10000,100000] [--queries 200] [--backends sqlite,postgres]

For each backend, in a fresh database:
1. ingest: real `KnowledgeBase.ingest` of generated Markdown documents (ko/en/zh sentences
   from the demo policies, recombined) — parse, chunk, embed with the bundled encoder, store —
   reported as chunks/s.
2. bulk: chunks are added straight to the tables up to each size (30% shared, the rest private
   to 20 users). Their vectors are the real embeddings of the ingested chunks plus noise, so the
   vector space has the clusters real text has. The worker's index refresh time is printed.
3. search: `KnowledgeBase.search` as one of the users (tokenise, embed the question, BM25 and
   vectors over the visible chunks, RRF, read the chunks back with the visibility condition)
   for the 68 labelled questions and generated ones: p50/p99 in ms. In the same run the
   baseline is the same search with exact vector comparison (no 1-bit prefilter), and the
   BM25-only and vector-only parts are timed alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from chatkiosk.config import Settings  # noqa: E402
from chatkiosk.knowledge import build_knowledge, index as index_module  # noqa: E402
from chatkiosk.knowledge.demo import demo_files  # noqa: E402
from chatkiosk.knowledge.tokenize import tokenize  # noqa: E402
from chatkiosk.store.db import Database  # noqa: E402
from chatkiosk.store.ids import new_id  # noqa: E402
from chatkiosk.store.knowledge import KnowledgeChunk, KnowledgeDocument  # noqa: E402
from chatkiosk.store.migrate import upgrade  # noqa: E402
from chatkiosk.store.tables import User  # noqa: E402

HERE = Path(__file__).parent
USERS = 20
CHUNKS_PER_DOCUMENT = 50


def _sentences() -> list[str]:
    out = []
    for path in demo_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                out.append(line.strip())
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _make_users(db: Database) -> list[str]:
    ids = [new_id("user") for _ in range(USERS)]
    async with db.write() as session:
        await session.execute(insert(User), [{"id": i, "username": f"bench{n}-{uuid.uuid4().hex[:6]}", "password_hash": "x", "role": "user"}
                                             for n, i in enumerate(ids)])
    return ids


async def _ingest(kb, sentences: list[str], rng: random.Random, owner: str, documents: int) -> tuple[float, int, np.ndarray]:
    chunks = 0
    started = time.perf_counter()
    load = os.getloadavg()[0]
    for d in range(documents):
        parts = [f"# Generated policy {d}"]
        for s in range(8):
            parts.append(f"## Section {s}")
            parts.extend(rng.sample(sentences, 4))
        info = await kb.ingest("\n\n".join(parts).encode(), filename=f"gen{d}.md", owner_id=owner, visibility="private", refresh=False)
        chunks += info.chunks
    elapsed = time.perf_counter() - started
    print(f"(load average {load:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs while ingesting)")
    async with kb.db.read() as session:
        blobs = [row[0] for row in await session.execute(text("SELECT embedding FROM knowledge_chunks"))]
    vectors = np.vstack([np.frombuffer(b, dtype="<f4") for b in blobs])
    return chunks / elapsed, chunks, vectors


async def _bulk(db: Database, target: int, current: int, users: list[str], sentences: list[str], vectors: np.ndarray, rng: random.Random) -> None:
    nprng = np.random.default_rng(rng.randrange(1 << 30))
    while current < target:
        batch_docs = []
        batch_chunks = []
        for _ in range(min(100, (target - current) // CHUNKS_PER_DOCUMENT + 1)):
            shared = rng.random() < 0.3
            owner = None if shared else rng.choice(users)
            doc_id = new_id("doc")
            title = f"bulk {doc_id}"
            batch_docs.append({"id": doc_id, "owner_id": owner, "scope": "shared" if shared else owner, "visibility": "shared" if shared else "private",
                               "title": title, "format": "markdown", "filename": "", "size_bytes": 0, "chunk_count": CHUNKS_PER_DOCUMENT})
            for i in range(CHUNKS_PER_DOCUMENT):
                base = vectors[nprng.integers(len(vectors))]
                v = base + nprng.normal(0, 0.04, base.shape).astype(np.float32)
                v /= np.linalg.norm(v)
                batch_chunks.append({"document_id": doc_id, "chunk_index": i, "heading": f"{title} > part {i}",
                                     "text": " ".join(rng.sample(sentences, 3)), "embedding": v.astype("<f4").tobytes()})
            current += CHUNKS_PER_DOCUMENT
            if current >= target:
                break
        async with db.write() as session:
            await session.execute(insert(KnowledgeDocument), batch_docs)
            await session.execute(insert(KnowledgeChunk), batch_chunks)


async def _time_search(kb, user: str, questions: list[str]) -> list[float]:
    times = []
    for q in questions:
        started = time.perf_counter()
        await kb.search(user, q, 5)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _time_parts(kb, user: str, questions: list[str], vectors: list[np.ndarray]) -> tuple[list[float], list[float]]:
    snapshot = kb.snapshot
    lexical, semantic = [], []
    for q, v in zip(questions, vectors):
        mask = snapshot.visible_mask(user)
        started = time.perf_counter()
        snapshot.lexical(kb._vocabulary.lookup(tokenize(q)), mask)
        lexical.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        snapshot.semantic(v, mask)
        semantic.append((time.perf_counter() - started) * 1000)
    return lexical, semantic


def _line(label: str, values: list[float]) -> str:
    return f"{label:<34} p50 {statistics.median(values):7.2f} ms   p99 {_percentile(values, 0.99):7.2f} ms"


async def run_backend(name: str, url: str, sizes: list[int], n_queries: int, ingest_docs: int) -> None:
    rng = random.Random(7)
    db = Database(url)
    await upgrade(db)
    settings = Settings(environment="test", database_url=url, data_dir=Path(tempfile.mkdtemp()))
    kb = build_knowledge(settings, db)
    users = await _make_users(db)
    sentences = _sentences()
    labelled = [json.loads(line)["q"] for line in (HERE / "knowledge_questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = (labelled + [" ".join(rng.sample(sentences, 1))[:60] for _ in range(n_queries)])[:n_queries]
    print(f"\n== {name}")
    rate, ingested, vectors = await _ingest(kb, sentences, rng, users[0], ingest_docs)
    print(f"ingest (parse, chunk, embed, store)  {rate:7.1f} chunks/s   ({ingested} chunks in {ingest_docs} documents)")
    current = ingested
    for size in sizes:
        await _bulk(db, size, current, users, sentences, vectors, rng)
        current = size
        started = time.perf_counter()
        await kb.refresh()
        print(f"-- {kb.snapshot.size} chunks: index refresh {time.perf_counter() - started:.1f} s")
        user = users[1]
        await _time_search(kb, user, questions[:10])  # warm-up
        hybrid = await _time_search(kb, user, questions)
        print(_line("hybrid search (the server's path)", hybrid))
        embedding = []
        for q in questions:
            started = time.perf_counter()
            await kb.embedder.embed([q])
            embedding.append((time.perf_counter() - started) * 1000)
        query_vectors = list(await kb.embedder.embed(questions))
        lexical, semantic = _time_parts(kb, user, questions, query_vectors)
        print(_line("  embedding the question", embedding))
        print(_line("  BM25 part", lexical))
        print(_line("  vector part", semantic))
        if kb.snapshot.codes is not None:
            codes, kb.snapshot.codes = kb.snapshot.codes, None
            exact = await _time_search(kb, user, questions)
            kb.snapshot.codes = codes
            print(_line("baseline: exact vectors", exact) + f"   → prefilter {statistics.median(exact) / statistics.median(hybrid):.2f}x faster")
    await kb.close()
    await db.close()


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--ingest-documents", type=int, default=40)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"exact vectors up to {index_module.EXACT_UP_TO} chunks, 1-bit prefilter of {index_module.RERANK} beyond")
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                await run_backend("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", sizes, args.queries, args.ingest_documents)
        elif backend == "postgres":
            if not _pg_reachable():
                print("\n== PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
                continue
            import asyncpg

            name = f"chatkiosk_bench_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(host="127.0.0.1", user="root", database="test")
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                await run_backend("PostgreSQL", f"postgresql+asyncpg://root@127.0.0.1/{name}", sizes, args.queries, args.ingest_documents)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
