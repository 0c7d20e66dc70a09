"""The demo's shared documents: the shop's refund, delivery and exchange policies in ko/en/zh."""

from __future__ import annotations

from pathlib import Path

from chatkiosk.knowledge.service import KnowledgeBase
from chatkiosk.store import knowledge as store

DEMO_DIR = Path(__file__).parent


def demo_files() -> list[Path]:
    """The bundled policy documents (Markdown), in a stable order."""
    return sorted(DEMO_DIR.glob("*.md"))


async def seed_demo_documents(knowledge: KnowledgeBase) -> int:
    """Add the policies as shared documents (re-seeding replaces them by title); how many were added."""
    count = 0
    for path in demo_files():
        await knowledge.ingest(path.read_bytes(), filename=path.name, owner_id=None, visibility=store.SHARED, refresh=False)
        count += 1
    await knowledge.refresh()
    return count
