"""Preset prompts: a user's saved `{name, prompt}` pairs that start a conversation.

Every query takes the owner's id, like every other per-user table: another user's preset is
simply not found.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from chatkiosk.store.ids import new_id
from chatkiosk.store.paging import Page, newest_first
from chatkiosk.store.tables import Base, utcnow


class Preset(Base):
    """One saved prompt; a conversation started from it is named after it and begins with its prompt."""

    __tablename__ = "presets"
    __table_args__ = (Index("ix_presets_user_id_id", "user_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


async def create(session: AsyncSession, *, user_id: str, name: str, prompt: str) -> Preset:
    """Save a new preset for `user_id`."""
    now = utcnow()
    preset = Preset(id=new_id("pre"), user_id=user_id, name=name, prompt=prompt, created_at=now, updated_at=now)
    session.add(preset)
    await session.flush()
    return preset


async def get(session: AsyncSession, preset_id: str, user_id: str) -> Preset | None:
    """The preset if it is `user_id`'s; otherwise None (a 404)."""
    result = await session.execute(select(Preset).where(Preset.id == preset_id, Preset.user_id == user_id))
    return result.scalar_one_or_none()


async def page(session: AsyncSession, user_id: str, *, limit: int, before: str | None) -> Page[Preset]:
    """The user's presets, newest first."""
    return await newest_first(session, select(Preset).where(Preset.user_id == user_id), Preset.id, limit=limit, before=before)


async def update_fields(session: AsyncSession, preset: Preset, *, name: str | None, prompt: str | None) -> None:
    """Rename a preset or change its prompt."""
    if name is not None:
        preset.name = name
    if prompt is not None:
        preset.prompt = prompt
    preset.updated_at = utcnow()
    await session.flush()


async def remove(session: AsyncSession, preset_id: str, user_id: str) -> bool:
    """Delete the preset; False when it is not the user's."""
    result = await session.execute(delete(Preset).where(Preset.id == preset_id, Preset.user_id == user_id))
    return result.rowcount == 1
