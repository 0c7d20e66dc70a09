"""Newest-first keyset paging by id: `{"data": [...], "has_more": bool}` with `?before=<id>`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(slots=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool


async def newest_first(session: AsyncSession, query: Select[Any], id_column: Any, *, limit: int, before: str | None) -> Page[Any]:
    """Run `query` newest first, `limit` rows (one more is fetched to learn `has_more`)."""
    if before is not None:
        query = query.where(id_column < before)
    rows = list((await session.execute(query.order_by(id_column.desc()).limit(limit + 1))).scalars())
    return Page(data=rows[:limit], has_more=len(rows) > limit)
