"""Queries on API keys. Only a hash of the secret is stored."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatkiosk.store.ids import new_id
from chatkiosk.store.tables import ApiKey, User, utcnow


async def create(session: AsyncSession, *, user_id: str, name: str, prefix: str, key_hash: str) -> ApiKey:
    key = ApiKey(id=new_id("key"), user_id=user_id, name=name, prefix=prefix, key_hash=key_hash)
    session.add(key)
    await session.flush()
    return key


async def list_for_user(session: AsyncSession, user_id: str) -> list[ApiKey]:
    result = await session.execute(
        select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).order_by(ApiKey.id.desc())
    )
    return list(result.scalars())


async def revoke_for_user(session: AsyncSession, key_id: str, user_id: str) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount == 1


async def revoke(session: AsyncSession, key_id: str) -> bool:
    """Revoke a key whoever owns it (the operator's `key revoke`); False when there is no live one."""
    result = await session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return result.rowcount == 1


async def user_by_hash(session: AsyncSession, key_hash: str) -> tuple[ApiKey, User] | None:
    """The live key with this hash and its (enabled) owner."""
    result = await session.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None), User.disabled.is_(False))
    )
    row = result.first()
    return (row[0], row[1]) if row else None
