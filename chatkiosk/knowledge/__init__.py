"""The knowledge base: documents in (Markdown, text, HTML, PDF), cited passages out.

Ingest → `formats` (paragraphs under headings) → `chunking` → `embedders` (vectors) → the
database (`store.knowledge`); search → `tokenize` + an embedding → `index` (BM25 and vectors
over the chunks the user may see, fused by RRF) → `SearchHit`s with their citation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatkiosk.knowledge.hits import DocumentInfo, SearchHit
from chatkiosk.knowledge.service import KnowledgeBase

if TYPE_CHECKING:
    from chatkiosk.config import Settings
    from chatkiosk.knowledge.embedders import Embedder
    from chatkiosk.store.db import Database


def build_embedder(settings: Settings) -> Embedder:
    """The embedding model the settings choose: the bundled encoder, or an OpenAI-compatible upstream."""
    from chatkiosk.knowledge.embedders import DEFAULT_EMBEDDER, OpenAIEmbeddings, SentenceEncoder

    if settings.knowledge_embedder == DEFAULT_EMBEDDER:
        return SentenceEncoder()
    base_url = settings.knowledge_embedding_base_url or settings.openai_base_url
    if not base_url:
        raise ValueError("knowledge_embedder 'openai' needs knowledge_embedding_base_url (or OPENAI_BASE_URL)")
    key = settings.knowledge_embedding_api_key or settings.openai_api_key
    return OpenAIEmbeddings(
        base_url, settings.knowledge_embedding_model, key.get_secret_value() if key else None,
        dimension=settings.knowledge_embedding_dimension,
    )


def build_knowledge(settings: Settings, db: Database) -> KnowledgeBase:
    """The knowledge base of a runtime."""
    return KnowledgeBase(db, build_embedder(settings), refresh_interval=settings.knowledge_refresh_interval)


__all__ = ["DocumentInfo", "KnowledgeBase", "SearchHit", "build_embedder", "build_knowledge"]
