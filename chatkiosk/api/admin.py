"""Administration routes: `/api/admin/*` (403 for everyone who is not an admin)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from chatkiosk.api.deps import AdminUser, Paging, RuntimeDep
from chatkiosk.api.schemas import AdminUserPublic, ListPage, errors
from chatkiosk.store.paging import newest_first
from chatkiosk.store.tables import User

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.get("/users", responses=errors(401, 403, 422))
async def list_users(_admin: AdminUser, runtime: RuntimeDep, paging: Paging) -> ListPage[AdminUserPublic]:
    """Every account, newest first."""
    async with runtime.db.read() as session:
        page = await newest_first(session, select(User), User.id, limit=paging.limit, before=paging.before)
    return ListPage[AdminUserPublic](data=[AdminUserPublic.model_validate(u) for u in page.data], has_more=page.has_more)


@router.post("/users/{user_id}/disable", responses=errors(401, 403, 404))
async def disable_user(user_id: str, _admin: AdminUser, runtime: RuntimeDep) -> AdminUserPublic:
    """Disable an account: its logins and API keys stop working at once."""
    return AdminUserPublic.model_validate(await runtime.accounts.set_disabled(user_id, True))


@router.post("/users/{user_id}/enable", responses=errors(401, 403, 404))
async def enable_user(user_id: str, _admin: AdminUser, runtime: RuntimeDep) -> AdminUserPublic:
    """Enable a disabled account again."""
    return AdminUserPublic.model_validate(await runtime.accounts.set_disabled(user_id, False))
