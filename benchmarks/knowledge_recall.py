"""Recall@1 and recall@5 of knowledge search on the labelled question set over the demo policies.

    .venv/bin/python benchmarks/knowledge_recall.py [--questions benchmarks/knowledge_questions.jsonl] [--misses]

The demo documents (chatkiosk/knowledge/demo/, refund/delivery/exchange in ko/en/zh) are
ingested as shared documents into a fresh SQLite database; every question is asked as a
user with no documents of their own. A question counts as found at k when a chunk of the
expected document, under one of the expected headings, is among the first k results. Printed:
hybrid (what the server does), BM25 alone and vectors alone, overall and per language.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatkiosk.config import Settings  # noqa: E402
from chatkiosk.knowledge import build_knowledge  # noqa: E402
from chatkiosk.knowledge.demo import seed_demo_documents  # noqa: E402
from chatkiosk.knowledge.tokenize import tokenize  # noqa: E402
from chatkiosk.store import knowledge as store  # noqa: E402
from chatkiosk.store.db import Database  # noqa: E402
from chatkiosk.store.migrate import upgrade  # noqa: E402

HERE = Path(__file__).parent


def _found(hits: list[tuple[str, str]], question: dict, k: int) -> bool:
    return any(title == question["document"] and heading.split(" > ")[-1] in question["headings"] for title, heading in hits[:k])


async def _ranked(kb, mode: str, question: str) -> list[tuple[str, str]]:
    if mode == "hybrid":
        return [(h.document_title, h.heading) for h in await kb.search("bench-user", question, 5)]
    view = kb.snapshot.view("bench-user")
    if mode == "bm25":
        rows = view.lexical(kb.follower.vocabulary.lookup(tokenize(question)), 5)
    else:
        rows = view.semantic((await kb.embedder.embed([question]))[0], 5)
    ids = view.chunk_ids(rows)
    async with kb.db.read() as session:
        found = await store.visible_chunks(session, "bench-user", ids)
    return [(found[i].document_title, found[i].heading) for i in ids if i in found]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=HERE / "knowledge_questions.jsonl")
    parser.add_argument("--misses", action="store_true", help="print the questions hybrid search misses at 5")
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="test", data_dir=Path(tmp))
        db = Database(settings.resolved_database_url)
        await upgrade(db)
        kb = build_knowledge(settings, db)
        documents = await seed_demo_documents(kb)
        chunks = kb.snapshot.size
        print(f"{len(questions)} questions ({', '.join(f'{lang} {n}' for lang, n in sorted(_count(questions).items()))}) "
              f"over {documents} documents / {chunks} chunks; embedder {kb.embedder.name}")
        print(f"{'mode':8} {'lang':4} {'recall@1':>9} {'recall@5':>9}")
        for mode in ("hybrid", "bm25", "vector"):
            at1: dict[str, int] = defaultdict(int)
            at5: dict[str, int] = defaultdict(int)
            misses = []
            for q in questions:
                hits = await _ranked(kb, mode, q["q"])
                for lang in (q["lang"], "all"):
                    at1[lang] += _found(hits, q, 1)
                    at5[lang] += _found(hits, q, 5)
                if mode == "hybrid" and not _found(hits, q, 5):
                    misses.append((q, hits))
            counts = {**_count(questions), "all": len(questions)}
            for lang in ("all", "ko", "en", "zh"):
                n = counts.get(lang, 0)
                if n:
                    print(f"{mode:8} {lang:4} {at1[lang] / n:9.1%} {at5[lang] / n:9.1%}")
            if args.misses:
                for q, hits in misses:
                    print(f"  miss: {q['q']!r} → {hits[:3]}")
        await kb.close()
        await db.close()


def _count(questions: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for q in questions:
        counts[q["lang"]] += 1
    return dict(counts)


if __name__ == "__main__":
    asyncio.run(main())
