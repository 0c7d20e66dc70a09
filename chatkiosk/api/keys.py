"""Routes of API keys: `/api/keys`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.schemas import KeyCreate, KeyCreated, KeyPublic, ListPage, errors

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.post("", status_code=201, responses=errors(401, 413, 422))
async def create_key(body: KeyCreate, principal: CurrentUser, runtime: RuntimeDep) -> KeyCreated:
    """Create an API key. The secret (`key`) is shown in this answer only."""
    key, secret = await runtime.accounts.create_key(principal.id, body.name)
    return KeyCreated(key=secret, **KeyPublic.model_validate(key).model_dump())


@router.get("", responses=errors(401))
async def list_keys(principal: CurrentUser, runtime: RuntimeDep) -> ListPage[KeyPublic]:
    """Your API keys (without their secrets)."""
    keys = [KeyPublic.model_validate(key) for key in await runtime.accounts.list_keys(principal)]
    return ListPage[KeyPublic](data=keys, has_more=False)


@router.delete("/{key_id}", status_code=204, responses=errors(401, 404))
async def revoke_key(key_id: str, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """Revoke an API key; it stops working at once."""
    await runtime.accounts.revoke_key(principal, key_id)
    return Response(status_code=204)
