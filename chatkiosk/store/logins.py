"""Queries on logins: one row per sign-in, holding the current refresh token's id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatkiosk.store.ids import new_id
from chatkiosk.store.tables import Login, utcnow


async def create(
    session: AsyncSession, *, user_id: str, device: str, refresh_jti: str, expires_at: datetime
) -> Login:
    login = Login(
        id=new_id("sess"), user_id=user_id, device=device[:200], refresh_jti=refresh_jti, expires_at=expires_at
    )
    session.add(login)
    await session.flush()
    return login


async def get_for_user(session: AsyncSession, login_id: str, user_id: str) -> Login | None:
    result = await session.execute(select(Login).where(Login.id == login_id, Login.user_id == user_id))
    return result.scalar_one_or_none()


async def get(session: AsyncSession, login_id: str) -> Login | None:
    return await session.get(Login, login_id)


async def active_for_user(session: AsyncSession, user_id: str) -> list[Login]:
    """The user's logins that are neither revoked nor expired, oldest first."""
    result = await session.execute(
        select(Login)
        .where(Login.user_id == user_id, Login.revoked_at.is_(None), Login.expires_at > utcnow())
        .order_by(Login.id)
    )
    return list(result.scalars())


async def rotate(
    session: AsyncSession, login_id: str, *, old_jti: str, new_jti: str, expires_at: datetime
) -> bool:
    """Swap the refresh token id; False when `old_jti` is no longer current (reuse or race)."""
    result = await session.execute(
        update(Login)
        .where(Login.id == login_id, Login.refresh_jti == old_jti, Login.revoked_at.is_(None))
        .values(refresh_jti=new_jti, expires_at=expires_at, last_used_at=utcnow())
    )
    return result.rowcount == 1


async def revoke(session: AsyncSession, login_ids: list[str], reason: str) -> None:
    if not login_ids:
        return
    await session.execute(
        update(Login)
        .where(Login.id.in_(login_ids), Login.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


async def revoke_all_for_user(session: AsyncSession, user_id: str, reason: str) -> list[str]:
    """Revoke every live login of the user; returns their ids."""
    ids = [login.id for login in await active_for_user(session, user_id)]
    await revoke(session, ids, reason)
    return ids


async def recently_revoked(session: AsyncSession, since: datetime) -> list[str]:
    """Ids revoked after `since`: reloaded into the in-process revocation list at start."""
    result = await session.execute(select(Login.id).where(Login.revoked_at >= since))
    return list(result.scalars())


async def touch(session: AsyncSession, login_id: str) -> None:
    await session.execute(update(Login).where(Login.id == login_id).values(last_used_at=utcnow()))
