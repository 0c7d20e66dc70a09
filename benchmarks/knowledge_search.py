"""Knowledge search latency at 10k and 100k chunks, ingest and refresh cost, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/knowledge_search.py [--sizes 10000,100000] [--queries 100] [--passes 3]
                                                    [--backends sqlite,postgres] [--shared-fraction 0.3]

For each backend, in a fresh database, in one run:
1. ingest: real `KnowledgeBase.ingest` of generated Markdown documents (ko/en/zh sentences of
   the demo policies, recombined) — parse, chunk, embed with the bundled encoder, store — as
   chunks/s.
2. bulk: chunks added straight to the tables up to each size (`--shared-fraction` shared, the
   rest private to 20 users), then the tables vacuumed/analysed as autovacuum would. Their
   vectors are the real embeddings of the ingested chunks plus noise, so the vector space has
   the clusters real text has. Worker one's refresh that loads them is timed (a worker starting
   on that database costs the same).
3. search as one user (the shared chunks and their own are what they may see), `--passes`
   passes over `--queries` distinct questions (the 68 labelled ones, then generated ones); each
   line is the median over the passes of each pass's p50 and p99, with the CPU ms per query
   (process time, all threads) and the 1-minute load average of the machine:
   - hybrid: `KnowledgeBase.search`, the server's whole path (tokenise, embed the question,
     BM25 and vectors over the visible scopes, RRF, read the chunks back with the visibility
     condition in SQL), with the query-vector cache emptied before each pass;
   - hybrid, repeated question: the same questions again (their vectors cached);
   - the parts alone: embedding the question, BM25, vectors;
   - beyond `vectors.EXACT_UP_TO` visible chunks: exact vectors as the baseline of the 1-bit
     prefilter, and how many of the exact top 10 the prefilter's top 10 holds.
4. two workers: worker two (another `KnowledgeBase` on the database, as another process would
   have) is loaded; a document ingested through worker one is then timed until worker two's
   refresh has it (and its search finds it for its owner, and not for another user), and the
   same for a deletion.
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
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from chatkiosk.config import Settings  # noqa: E402
from chatkiosk.knowledge import build_knowledge, vectors as vectors_module  # noqa: E402
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


def _load() -> str:
    return f"load {os.getloadavg()[0]:4.1f}"


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


def _document(rng: random.Random, sentences: list[str], n: int) -> bytes:
    parts = [f"# Generated policy {n}"]
    for s in range(8):
        parts.append(f"## Section {s}")
        parts.extend(rng.sample(sentences, 4))
    return "\n\n".join(parts).encode()


async def _ingest(kb, sentences: list[str], rng: random.Random, owner: str, documents: int) -> None:
    chunks = 0
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    for d in range(documents):
        info = await kb.ingest(_document(rng, sentences, d), filename=f"gen{d}.md", owner_id=owner, visibility="private", refresh=False)
        chunks += info.chunks
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"ingest (parse, chunk, embed, store)   {chunks / elapsed:7.1f} chunks/s   {cpu * 1000 / chunks:6.2f} CPU ms/chunk"
          f"   ({chunks} chunks in {documents} documents; load {load:.1f} → {os.getloadavg()[0]:.1f})")


async def _vectors(db: Database) -> np.ndarray:
    from sqlalchemy import text

    async with db.read() as session:
        blobs = [row[0] for row in await session.execute(text("SELECT embedding FROM knowledge_chunks"))]
    return np.vstack([np.frombuffer(b, dtype="<f4") for b in blobs])


async def _bulk(db: Database, target: int, current: int, users: list[str], sentences: list[str], vectors: np.ndarray,
                rng: random.Random, shared_fraction: float) -> None:
    nprng = np.random.default_rng(rng.randrange(1 << 30))
    while current < target:
        batch_docs = []
        batch_chunks = []
        for _ in range(100):
            shared = rng.random() < shared_fraction
            owner = None if shared else rng.choice(users)
            doc_id = new_id("doc")
            title = f"bulk {doc_id}"
            n = min(CHUNKS_PER_DOCUMENT, target - current)
            batch_docs.append({"id": doc_id, "owner_id": owner, "scope": "shared" if shared else owner, "visibility": "shared" if shared else "private",
                               "title": title, "format": "markdown", "filename": "", "size_bytes": 0, "chunk_count": n})
            for i in range(n):
                base = vectors[nprng.integers(len(vectors))]
                v = base + nprng.normal(0, 0.04, base.shape).astype(np.float32)
                v /= np.linalg.norm(v)
                batch_chunks.append({"document_id": doc_id, "chunk_index": i, "heading": f"{title} > part {i}",
                                     "text": " ".join(rng.sample(sentences, 3)), "embedding": v.astype("<f4").tobytes()})
            current += n
            if current >= target:
                break
        async with db.write() as session:
            await session.execute(insert(KnowledgeDocument), batch_docs)
            await session.execute(insert(KnowledgeChunk), batch_chunks)


async def _settle(db: Database, url: str) -> None:
    """VACUUM ANALYZE (PostgreSQL) / ANALYZE (SQLite) after a bulk load, as autovacuum would soon do:
    otherwise the first reads of the new rows pay for setting their hint bits, with autovacuum
    itself running in the middle of the timings."""
    from sqlalchemy import text

    if db.dialect == "sqlite":
        async with db.write() as session:
            await session.execute(text("ANALYZE"))
        return
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", user="root", database=url.rsplit("/", 1)[1])
    try:
        await conn.execute("VACUUM (ANALYZE) knowledge_chunks, knowledge_documents")
    finally:
        await conn.close()


Timing = tuple[list[float], list[float]]  # wall ms, CPU ms per call


async def _timed(calls: list[Callable[[], Awaitable[object]]]) -> Timing:
    wall, cpu = [], []
    for call in calls:
        started, used = time.perf_counter(), time.process_time()
        await call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return wall, cpu


def _sync(function: Callable[[], object]) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        return function()

    return call


async def _passes(make_calls: Callable[[], list[Callable[[], Awaitable[object]]]], passes: int, before: Callable[[], None] | None = None) -> str:
    p50s, p99s, cpus, loads = [], [], [], []
    for _ in range(passes):
        if before is not None:
            before()
        wall, cpu = await _timed(make_calls())
        p50s.append(statistics.median(wall))
        p99s.append(_percentile(wall, 0.99))
        cpus.append(statistics.median(cpu))
        loads.append(os.getloadavg()[0])
    return (f"p50 {statistics.median(p50s):7.2f} ms   p99 {statistics.median(p99s):7.2f} ms   CPU {statistics.median(cpus):6.2f} ms"
            f"   (passes' p50 {min(p50s):.2f}-{max(p50s):.2f}; load {min(loads):.1f}-{max(loads):.1f})")


async def _search_lines(kb, user: str, questions: list[str], passes: int) -> None:
    vocabulary = kb.follower.vocabulary

    def hybrid() -> list[Callable[[], Awaitable[object]]]:
        return [lambda q=q: kb.search(user, q, 5) for q in questions]

    await _timed(hybrid()[:10])  # warm-up
    print(f"  hybrid search (the server's path)     {await _passes(hybrid, passes, kb._query_vectors.clear)}")
    print(f"  hybrid, repeated question (cached)    {await _passes(hybrid, passes)}")
    print(f"    embedding the question              {await _passes(lambda: [lambda q=q: kb.embedder.embed([q]) for q in questions], passes)}")
    query_vectors = list(await kb.embedder.embed(questions))
    token_ids = [vocabulary.lookup(tokenize(q)) for q in questions]

    def part(kind: str) -> list[Callable[[], Awaitable[object]]]:
        # As the search does: the user's view is taken from the snapshot for each query.
        if kind == "bm25":
            return [_sync(lambda t=t: kb.snapshot.view(user).lexical(t)) for t in token_ids]
        return [_sync(lambda v=v: kb.snapshot.view(user).semantic(v)) for v in query_vectors]

    print(f"    BM25 part                           {await _passes(lambda: part('bm25'), passes)}")
    print(f"    vector part                         {await _passes(lambda: part('vectors'), passes)}")
    view = kb.snapshot.view(user)
    if view.live > vectors_module.EXACT_UP_TO:
        approximate = [view.semantic(v, 50).tolist() for v in query_vectors]
        fused = [[c for c, _ in view.search(t, v, 5)] for t, v in zip(token_ids, query_vectors)]
        limit, vectors_module.EXACT_UP_TO = vectors_module.EXACT_UP_TO, 1 << 40
        try:
            exact = [view.semantic(v, 50).tolist() for v in query_vectors]
            fused_exact = [[c for c, _ in view.search(t, v, 5)] for t, v in zip(token_ids, query_vectors)]
            print(f"    baseline: exact vectors             {await _passes(lambda: part('vectors'), passes)}")
        finally:
            vectors_module.EXACT_UP_TO = limit
        pool = max(vectors_module.RERANK, view.live // vectors_module.RERANK_SHARE)
        held = [sum(len(set(a[:k]) & set(e[:k])) for a, e in zip(approximate, exact)) / max(1, sum(len(e[:k]) for e in exact))
                for k in (10, 50)]
        top5 = sum(len(set(a) & set(e)) for a, e in zip(fused, fused_exact)) / max(1, sum(len(e) for e in fused_exact))
        print(f"    1-bit prefilter, {pool} re-ranked: holds {held[0]:.1%} of the exact top 10, {held[1]:.1%} of the top 50 "
              f"(what RRF reads); the hybrid top 5 holds {top5:.1%} of the one with exact vectors")


def _memory(snapshot) -> tuple[float, float]:
    vectors = postings = 0
    for scope in snapshot.scopes.values():
        if scope.vectors is not None:
            vectors += scope.vectors.matrix.nbytes + scope.vectors.codes.nbytes
        postings += sum(p.row_of.nbytes + p.counts.nbytes + p.starts.nbytes + p.distinct.nbytes for p in scope.segments)
    return vectors / 2**20, postings / 2**20


async def _until(kb, predicate: Callable[[], Awaitable[bool]]) -> float:
    started = time.perf_counter()
    while True:
        await kb.refresh()
        if await predicate():
            return (time.perf_counter() - started) * 1000
        await asyncio.sleep(0)


async def _two_workers(one, two, users: list[str], sentences: list[str], rng: random.Random) -> None:
    owner, other = users[2], users[3]
    marker = f"zebracode{rng.randrange(10**6)}"
    body = _document(rng, sentences, 999).decode() + f"\n\n## Vault\n\nThe {marker} opens the refund vault."
    load = _load()
    started = time.perf_counter()
    doc = await one.ingest(body.encode(), filename="late.md", owner_id=owner, visibility="private")
    ingest_ms = (time.perf_counter() - started) * 1000

    async def found() -> bool:
        return any(marker in h.text for h in await two.search(owner, marker, 5))

    seen_ms = await _until(two, found)
    leak = any(marker in h.text for h in await two.search(other, marker, 50))
    report = two.last_refresh
    print(f"  a new document ({doc.chunks} chunks) through worker one: ingest + its own refresh {ingest_ms:6.1f} ms; "
          f"worker two's refresh {report.seconds * 1000:6.1f} ms (found for its owner {seen_ms:6.1f} ms after; "
          f"another user finds it: {leak})   ({load})")
    load = _load()
    started = time.perf_counter()
    await one.delete(owner, doc.id)
    delete_ms = (time.perf_counter() - started) * 1000

    async def gone() -> bool:
        return not any(marker in h.text for h in await two.search(owner, marker, 5))

    gone_ms = await _until(two, gone)
    report = two.last_refresh
    print(f"  deleting it through worker one: delete + refresh {delete_ms:6.1f} ms; worker two's refresh "
          f"{report.seconds * 1000:6.1f} ms (ids compared: {report.compared_ids}; gone {gone_ms:6.1f} ms after)   ({load})")


async def run_backend(name: str, url: str, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    db = Database(url)
    await upgrade(db)
    settings = Settings(environment="test", database_url=url, data_dir=Path(tempfile.mkdtemp()))
    one = build_knowledge(settings, db)
    users = await _make_users(db)
    sentences = _sentences()
    labelled = [json.loads(line)["q"] for line in (HERE / "knowledge_questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    generated = list(dict.fromkeys(" ".join(rng.sample(sentences, 1))[:60] for _ in range(args.queries * 3)))
    questions = list(dict.fromkeys(labelled + generated))[: args.queries]
    print(f"\n== {name}")
    await _ingest(one, sentences, rng, users[0], args.ingest_documents)
    vectors = await _vectors(db)
    current = len(vectors)
    await one.refresh()
    for size in args.sizes:
        await _bulk(db, size, current, users, sentences, vectors, rng, args.shared_fraction)
        await _settle(db, url)
        loading = size - current
        current = size
        load = _load()
        started, cpu = time.perf_counter(), time.process_time()
        await one.refresh()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        view = one.snapshot.view(users[1])
        vector_mb, postings_mb = _memory(one.snapshot)
        print(f"-- {one.snapshot.size} chunks ({view.live} visible to the user searching): worker one's refresh loading "
              f"{loading} new chunks {elapsed:.1f} s ({loading / elapsed:.0f} chunks/s, CPU {cpu:.1f} s; {load})")
        print(f"  index memory: vectors and codes {vector_mb:.0f} MB, BM25 postings {postings_mb:.0f} MB "
              f"({(vector_mb + postings_mb) * 1024 / max(1, one.snapshot.size):.1f} KiB a chunk)")
        await _search_lines(one, users[1], questions, args.passes)
        two = build_knowledge(settings, db)
        load = _load()
        started = time.perf_counter()
        await two.refresh()
        print(f"  worker two starting: its first refresh (every chunk) {time.perf_counter() - started:.1f} s ({load})")
        await _two_workers(one, two, users, sentences, rng)
        await two.close()
    await one.close()
    await db.close()


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--ingest-documents", type=int, default=40)
    parser.add_argument("--shared-fraction", type=float, default=0.3)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; {_load()} at the start. Vectors exact up to {vectors_module.EXACT_UP_TO} visible chunks, "
          f"1-bit prefilter beyond; {args.passes} passes of {args.queries} questions per line")
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                await run_backend("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", args)
        elif backend == "postgres":
            if not _pg_reachable():
                print("\n== PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
                continue
            import asyncpg

            name = f"chatkiosk_bench_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(host="127.0.0.1", user="root", database="test")
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                await run_backend("PostgreSQL", f"postgresql+asyncpg://root@127.0.0.1/{name}", args)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
    print(f"\n{_load()} at the end")


if __name__ == "__main__":
    asyncio.run(main())
