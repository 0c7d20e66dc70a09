"""Dependencies shared by the routes: the runtime, the caller, paging parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from chatkiosk.auth.accounts import Principal
from chatkiosk.errors import NotAuthenticated, PermissionDenied
from chatkiosk.runtime import Runtime
from chatkiosk.store.paging import DEFAULT_LIMIT, MAX_LIMIT


async def get_runtime(request: Request) -> Runtime:
    # async: a plain `def` dependency would cost a threadpool hop on every request.
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or NotAuthenticated."""
    if not authorization:
        raise NotAuthenticated("authentication required", code="missing_credentials")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        raise NotAuthenticated("use Authorization: Bearer <token>", code="invalid_credentials")
    return token


async def current_principal(request: Request, runtime: RuntimeDep) -> Principal:
    principal = await runtime.accounts.authenticate(bearer_token(request.headers.get("authorization")))
    request.state.user_id = principal.id
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def admin_principal(principal: CurrentUser) -> Principal:
    if not principal.is_admin:
        raise PermissionDenied("administrators only")
    return principal


AdminUser = Annotated[Principal, Depends(admin_principal)]


class PageParams:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
        before: Annotated[str | None, Query(max_length=64, description="id of the last item of the previous page")] = None,
    ) -> None:
        self.limit = limit
        self.before = before


Paging = Annotated[PageParams, Depends()]
