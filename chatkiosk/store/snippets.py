"""Code snippets: each user's saved pieces of code with a description, private to that user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from chatkiosk.store.ids import new_id
from chatkiosk.store.paging import Page, newest_first
from chatkiosk.store.tables import Base, utcnow

# A user's snippets searched at once; beyond this the newest are searched.
SEARCH_WINDOW = 5000


class Snippet(Base):
    """A user's saved piece of code, found again by its description."""

    __tablename__ = "snippets"
    __table_args__ = (Index("ix_snippets_user_id_id", "user_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    # The description's embedding (float32 bytes), compared with questions.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def create(session: AsyncSession, user_id: str, *, code: str, language: str, description: str, embedding: bytes | None) -> Snippet:
    """Save a snippet for this user."""
    snippet = Snippet(id=new_id("snip"), user_id=str(user_id), code=code, language=language, description=description,
                      embedding=embedding, created_at=utcnow())
    session.add(snippet)
    return snippet


async def page(session: AsyncSession, user_id: str, *, limit: int, before: str | None) -> Page[Snippet]:
    """A page of this user's snippets, newest first."""
    query = select(Snippet).where(Snippet.user_id == str(user_id))
    return await newest_first(session, query, Snippet.id, limit=limit, before=before)


async def newest(session: AsyncSession, user_id: str, limit: int = SEARCH_WINDOW) -> list[Snippet]:
    """This user's newest snippets (what a search looks through)."""
    rows = await session.execute(select(Snippet).where(Snippet.user_id == str(user_id)).order_by(Snippet.id.desc()).limit(limit))
    return list(rows.scalars())


async def remove(session: AsyncSession, user_id: str, snippet_id: str) -> bool:
    """Delete this user's snippet; False when there is none of that id (or it is someone else's)."""
    result = await session.execute(delete(Snippet).where(Snippet.id == snippet_id, Snippet.user_id == str(user_id)))
    return bool(result.rowcount)
