"""Queries on users."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatkiosk.store.ids import new_id
from chatkiosk.store.tables import User, utcnow


async def get(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def by_username(session: AsyncSession, username: str) -> User | None:
    """Usernames are matched case-insensitively: `Alice` and `alice` are one account."""
    result = await session.execute(select(User).where(func.lower(User.username) == username.lower()))
    return result.scalar_one_or_none()


async def create(
    session: AsyncSession, *, username: str, password_hash: str, email: str | None, role: str = "user"
) -> User:
    user = User(id=new_id("user"), username=username, email=email, password_hash=password_hash, role=role)
    session.add(user)
    await session.flush()
    return user


async def set_password(session: AsyncSession, user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    user.password_changed_at = utcnow()
    await session.flush()


async def set_disabled(session: AsyncSession, user: User, disabled: bool) -> None:
    user.disabled = disabled
    await session.flush()
