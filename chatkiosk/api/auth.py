"""Routes of accounts and logins: `/api/auth/*`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.schemas import (
    ListPage,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    RegisterRequest,
    SessionPublic,
    TokenPairOut,
    UserPublic,
    UserUpdate,
    errors,
)
from chatkiosk.auth.accounts import TokenPair
from chatkiosk.store import users

router = APIRouter(prefix="/api/auth", tags=["auth"])


def client_address(request: Request) -> str:
    """The peer's address as the server sees it (uvicorn's `--forwarded-allow-ips` decides
    whether a proxy's `X-Forwarded-For` counts); never a header the client sets itself."""
    return request.client.host if request.client else ""


def _pair(pair: TokenPair) -> TokenPairOut:
    return TokenPairOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/register", status_code=201, responses=errors(400, 409, 413, 422))
async def register(body: RegisterRequest, runtime: RuntimeDep) -> UserPublic:
    """Create an account."""
    user = await runtime.accounts.register(body.username, body.password, body.email)
    return UserPublic.model_validate(user)


@router.post("/login", responses=errors(400, 401, 413, 422, 429))
async def login(body: LoginRequest, request: Request, runtime: RuntimeDep) -> TokenPairOut:
    """Sign in; answers an access and a refresh token."""
    device = request.headers.get("user-agent", "")[:200]
    return _pair(await runtime.accounts.login(body.username, body.password, device, client_address(request)))


@router.post("/refresh", responses=errors(400, 401, 413, 422))
async def refresh(body: RefreshRequest, runtime: RuntimeDep) -> TokenPairOut:
    """Trade the refresh token for a new pair; the old one is spent."""
    return _pair(await runtime.accounts.refresh(body.refresh_token))


@router.post("/logout", status_code=204, responses=errors(401))
async def logout(principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """End this login: its access and refresh tokens stop working at once."""
    await runtime.accounts.logout(principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", responses=errors(401))
async def me(principal: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return UserPublic.model_validate(principal.user)


@router.patch("/me", responses=errors(400, 401, 413, 422))
async def update_me(body: UserUpdate, principal: CurrentUser, runtime: RuntimeDep) -> UserPublic:
    """Change your e-mail address. Role, id and password are not changed here."""
    async with runtime.db.write() as session:
        user = await users.get(session, principal.id)
        assert user is not None
        if "email" in body.model_fields_set:
            user.email = body.email
        await session.flush()
        public = UserPublic.model_validate(user)
    runtime.accounts.forget_user(principal.id)
    return public


@router.post("/password", status_code=204, responses=errors(401, 413, 422, 429))
async def change_password(body: PasswordChange, request: Request, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """Change your password; every login of yours ends and must sign in again. Wrong current
    passwords are throttled like sign-ins (429)."""
    await runtime.accounts.change_password(principal, body.current_password, body.new_password, client_address(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sessions", responses=errors(401))
async def list_sessions(principal: CurrentUser, runtime: RuntimeDep) -> ListPage[SessionPublic]:
    """Your active logins."""
    sessions = [
        SessionPublic(
            id=login.id, device=login.device, created_at=login.created_at, last_used_at=login.last_used_at,
            current=login.id == principal.login_id,
        )
        for login in await runtime.accounts.sessions(principal)
    ]
    return ListPage[SessionPublic](data=sessions, has_more=False)


@router.delete("/sessions/{session_id}", status_code=204, responses=errors(401, 404))
async def revoke_session(session_id: str, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """End one of your logins."""
    await runtime.accounts.revoke_login(principal, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
