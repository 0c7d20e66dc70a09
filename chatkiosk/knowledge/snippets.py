"""Code snippets per user, found again by what they do.

A question is compared with each snippet's description first (BM25-style overlap of the
same CJK/Latin tokens as the knowledge base, plus the embedding's cosine), then with the
identifiers in its code (`parseCsvRow` and `parse_csv_row` both read as "parse csv row").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from chatkiosk.errors import NotFound
from chatkiosk.knowledge.embedders import Embedder
from chatkiosk.knowledge.tokenize import tokenize
from chatkiosk.store import snippets as store
from chatkiosk.store.db import Database
from chatkiosk.store.paging import Page

DESCRIPTION_WEIGHT = 1.0
MEANING_WEIGHT = 1.0
CODE_WEIGHT = 0.5
# Below this cosine a description is not taken as similar in meaning.
MIN_COSINE = 0.3
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|_+")


@dataclass(frozen=True, slots=True)
class SnippetInfo:
    """A saved snippet as the API and the tools show it."""

    id: str
    language: str
    description: str
    code: str
    created_at: datetime
    score: float | None = None


def identifier_words(code: str) -> list[str]:
    """The words of the identifiers in `code`, split at camelCase and snake_case."""
    words: list[str] = []
    for identifier in _IDENTIFIER.findall(code):
        words.extend(part.lower() for part in _CAMEL.split(identifier) if part)
    return words


def _overlap(query: list[str], documents: list[list[str]]) -> list[float]:
    # Idf-weighted share of the question's distinct tokens found in each document, 0..1.
    distinct = list(dict.fromkeys(query))
    if not distinct or not documents:
        return [0.0] * len(documents)
    frequency = Counter(t for doc in documents for t in set(doc))
    n = len(documents)
    idf = {t: math.log(1 + (n - frequency[t] + 0.5) / (frequency[t] + 0.5)) for t in distinct}
    total = sum(idf.values()) or 1.0
    return [sum(idf[t] for t in distinct if t in set(doc)) / total for doc in documents]


def _info(snippet: store.Snippet, score: float | None = None) -> SnippetInfo:
    return SnippetInfo(snippet.id, snippet.language, snippet.description, snippet.code, snippet.created_at,
                       round(score, 4) if score is not None else None)


class SnippetBook:
    """Every user's snippets; each call acts for one user only."""

    def __init__(self, db: Database, embedder: Embedder) -> None:
        self.db = db
        self.embedder = embedder

    async def save(self, user_id: str, *, code: str, language: str, description: str) -> SnippetInfo:
        """Save a snippet for this user."""
        vector = (await self.embedder.embed([description]))[0].astype("<f4").tobytes()
        async with self.db.write() as session:
            snippet = await store.create(session, user_id, code=code, language=language.strip().lower(),
                                         description=description.strip(), embedding=vector)
            return _info(snippet)

    async def list(self, user_id: str, *, limit: int = 20, before: str | None = None) -> Page[SnippetInfo]:
        """A page of this user's snippets, newest first."""
        async with self.db.read() as session:
            page = await store.page(session, user_id, limit=limit, before=before)
        return Page([_info(s) for s in page.data], page.has_more)

    async def delete(self, user_id: str, snippet_id: str) -> None:
        """Delete this user's snippet; `NotFound` for a missing or someone else's."""
        async with self.db.write() as session:
            if not await store.remove(session, user_id, snippet_id):
                raise NotFound("no such snippet", code="snippet_not_found")

    async def search(self, user_id: str, query: str, *, top_k: int = 5, language: str | None = None) -> list[SnippetInfo]:
        """This user's snippets best matching `query`: description first, then the code's identifiers."""
        async with self.db.read() as session:
            found = await store.newest(session, user_id)
        if language:
            found = [s for s in found if s.language == language.strip().lower()]
        if not found or not query.strip():
            return []
        question = tokenize(query)
        by_description = _overlap(question, [tokenize(s.description) for s in found])
        by_code = _overlap(question, [tokenize(" ".join(identifier_words(s.code))) for s in found])
        vector = (await self.embedder.embed([query]))[0]
        scored: list[tuple[float, store.Snippet]] = []
        for i, snippet in enumerate(found):
            cosine = 0.0
            if snippet.embedding:
                stored = np.frombuffer(snippet.embedding, dtype="<f4")
                if stored.shape == vector.shape:
                    cosine = float(stored @ vector)
            meaning = cosine if cosine >= MIN_COSINE else 0.0
            score = DESCRIPTION_WEIGHT * by_description[i] + MEANING_WEIGHT * meaning + CODE_WEIGHT * by_code[i]
            if by_description[i] > 0 or by_code[i] > 0 or meaning > 0:
                scored.append((score, snippet))
        scored.sort(key=lambda pair: -pair[0])
        return [_info(snippet, score) for score, snippet in scored[:top_k]]
