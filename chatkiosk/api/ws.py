"""The WebSocket `GET /api/ws`: chat turns, cancel and ping over one socket (SPEC section 5).

The first frame authenticates (`{"type": "auth", "token": ...}`; a token in the URL is
refused, it would end up in access logs). Then the client sends `chat`, `cancel` and `ping`
frames; the server answers with the chat events of SSE as frames
`{type, seq, conversation_id, ...data}`, plus `ready`, `pong`, `cancelled` and `error`
(the API's error shape; a bad frame is answered, the socket stays open). When the login is
revoked or replaced the server sends `revoked` and closes with 4001.

A `join` frame re-joins the conversation's answer from `after` — generated on this worker, on
another one (through the Redis mirror, chat/live.py) or, once finished, rebuilt from storage —
with the same numbered frames the socket that asked would get; `cancel` stops it wherever it
runs. A joiner does not own the answer: closing its socket leaves the answer running.

Close codes: 4001 not (or no longer) authenticated, (a token in the URL or a foreign Origin is refused at the handshake: 401/403),
4029 too many open sockets for the user, 1009 frame too large, 1001 idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import orjson
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from redis.exceptions import RedisError
from starlette.websockets import WebSocketState

from chatkiosk.api import rejoin
from chatkiosk.api.bodies import parse_json
from chatkiosk.api.sse import payload
from chatkiosk.auth.accounts import Principal
from chatkiosk.chat.generations import Generation, Sink
from chatkiosk.chat.options import TurnOptions
from chatkiosk.chat.turn import TurnRequest
from chatkiosk.errors import ChatkioskError, NotAuthenticated, PermissionDenied, RateLimited, ServiceUnavailable, UserError, ValidationFailed
from chatkiosk.events import Event
from chatkiosk.runtime import Runtime

router = APIRouter(tags=["websocket"])

CLOSE_UNAUTHENTICATED = 4001
CLOSE_TOO_MANY = 4029
CLOSE_TOO_BIG = 1009
CLOSE_IDLE = 1001
_TOKEN_PARAMS = {"token", "access_token", "auth", "authorization", "api_key", "key", "jwt"}


class ChatFrame(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)
    content: str = Field(min_length=1)
    options: TurnOptions = Field(default_factory=TurnOptions)


class CancelFrame(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)


class JoinFrame(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)
    after: int = Field(0, ge=0, description="the last sequence number already seen")


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """A browser's Origin must be this server itself or one of `cors_origins`; no Origin is a non-browser client."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/")
    if "*" in allowed or origin in {o.rstrip("/") for o in allowed}:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == (host or "").lower()


def error_frame(exc: ChatkioskError, conversation_id: str | None = None) -> dict[str, Any]:
    """An `error` frame carrying the API's error body, its HTTP status and any Retry-After."""
    frame: dict[str, Any] = {"type": "error", **exc.body(), "status": exc.status_code}
    if conversation_id is not None:
        frame["conversation_id"] = conversation_id
    if isinstance(exc, RateLimited):
        frame["retry_after"] = exc.retry_after
    return frame


def event_frame(conversation_id: str, seq: int, event: Event) -> dict[str, Any] | None:
    """A chat event as a frame: the same payload as the SSE `data:` line, tagged and numbered."""
    data = payload(event)
    if data is None:
        return None
    return {"type": event.type, "seq": seq, "conversation_id": conversation_id, **data}


class _Socket:
    """One authenticated socket: its frames, the generations it follows, its revocation."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, principal: Principal) -> None:
        self.ws = websocket
        self.runtime = runtime
        self.principal = principal
        self.settings = runtime.settings
        self.revoked: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.generations: dict[str, Generation] = {}
        self._sinks: dict[str, Sink] = {}
        self._joined: dict[str, tuple[Generation, Sink]] = {}  # answers re-joined here (not owned)
        self._following: dict[str, asyncio.Task[None]] = {}  # answers followed from elsewhere or storage
        self._send_lock = asyncio.Lock()
        self.closed = False

    # --- sending

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame (dropped once the client has gone)."""
        if self.closed:
            return
        text = orjson.dumps(frame, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        async with self._send_lock:
            try:
                await self.ws.send_text(text)
            except Exception:  # the client left; the reader notices and ends the socket
                self.closed = True

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed or self.ws.application_state == WebSocketState.DISCONNECTED:
            self.closed = True
            return
        self.closed = True
        async with self._send_lock:
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, reason=reason)

    # --- revocation

    def on_revoked(self, login_id: str, reason: str) -> None:
        if login_id in self.principal.revocation_ids and not self.revoked.done():
            self.revoked.set_result(reason)

    # --- the loop

    async def run(self) -> None:
        """Read frames until the client leaves, goes idle, or the login is revoked."""
        reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait({reader, self.revoked}, return_when=asyncio.FIRST_COMPLETED)
            if self.revoked.done():
                reader.cancel()
                await self.send({"type": "revoked", "reason": self.revoked.result()})
                await self.close(CLOSE_UNAUTHENTICATED, "login revoked")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            await self._stop_all()

    def _streaming(self) -> bool:
        return (
            any(not g.finished for g in self.generations.values())
            or any(not g.finished for g, _ in self._joined.values())
            or any(not t.done() for t in self._following.values())
        )

    async def _read(self) -> None:
        while True:
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout=self.settings.ws_idle_timeout)
            except TimeoutError:
                if self._streaming():
                    continue  # receiving an answer is not idleness
                await self.send({"type": "error", **UserError("closed after a minute without frames; send ping to stay connected", code="idle_timeout").body()})
                await self.close(CLOSE_IDLE, "idle timeout")
                return
            if message["type"] == "websocket.disconnect":
                self.closed = True
                return
            raw = message.get("text")
            if raw is None:
                raw = (message.get("bytes") or b"").decode("utf-8", "replace")
            if len(raw.encode("utf-8")) > self.settings.max_body_bytes:
                await self.close(CLOSE_TOO_BIG, "frame too large")
                return
            await self._handle(raw)

    async def _handle(self, raw: str) -> None:
        try:
            frame = parse_json(raw)  # bad, too deep or not text: an error frame, the socket stays
        except UserError as exc:
            await self.send(error_frame(exc))
            return
        if not isinstance(frame, dict):
            await self.send(error_frame(UserError("a frame must be a JSON object", code="invalid_json")))
            return
        kind = frame.get("type")
        conversation_id = frame.get("conversation_id") if isinstance(frame.get("conversation_id"), str) else None
        try:
            if kind == "ping":
                await self.send({"type": "pong", **({"id": frame["id"]} if "id" in frame else {})})
            elif kind == "chat":
                await self._chat(ChatFrame.model_validate({k: v for k, v in frame.items() if k != "type"}))
            elif kind == "cancel":
                await self._cancel(CancelFrame.model_validate({k: v for k, v in frame.items() if k != "type"}))
            elif kind == "join":
                await self._join(JoinFrame.model_validate({k: v for k, v in frame.items() if k != "type"}))
            elif kind == "auth":
                await self.send(error_frame(UserError("this socket is already authenticated", code="already_authenticated")))
            else:
                raise UserError("unknown frame type; use chat, cancel, join or ping", code="unknown_frame", param="type")
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {}
            param = ".".join(str(p) for p in first.get("loc", ())) or None
            await self.send(error_frame(ValidationFailed(f"{param}: {first.get('msg', 'invalid')}", param=param), conversation_id))
        except ChatkioskError as exc:
            await self.send(error_frame(exc, conversation_id))
        except RedisError:  # as HTTP's 503: the socket stays
            await self.send(error_frame(ServiceUnavailable("a backing service is unavailable; try again shortly"), conversation_id))

    def _frames(self, conversation_id: str) -> Sink:
        async def sink(seq: int, event: Event) -> None:  # awaited in the generating task
            frame = event_frame(conversation_id, seq, event)
            if frame is not None:
                await self.send(frame)

        return sink

    async def _chat(self, frame: ChatFrame) -> None:
        request_id = (self.ws.scope.get("state") or {}).get("request_id")
        generation = await self.runtime.chat.start(
            TurnRequest(self.principal.id, frame.conversation_id, frame.content, frame.options, request_id)
        )
        self.generations[frame.conversation_id] = generation
        sink = self._sinks[frame.conversation_id] = self._frames(frame.conversation_id)
        await generation.attach(sink)

    async def _join(self, frame: JoinFrame) -> None:
        """Follow the conversation's answer from `after`, wherever it is generated (404: not yours)."""
        conversation_id = frame.conversation_id
        answer = await rejoin.find(self.runtime, self.ws.app.state.live, conversation_id, self.principal.id, frame.after)
        self._leave(conversation_id)  # a second join of the same conversation replaces the first
        await self.send({"type": "joined", "conversation_id": conversation_id, "after": frame.after})
        if answer.generation is not None:
            sink = self._frames(conversation_id)
            self._joined[conversation_id] = (answer.generation, sink)
            await answer.generation.attach(sink, frame.after)
        else:
            task = asyncio.create_task(self._relay(conversation_id, answer))
            self._following[conversation_id] = task

    async def _relay(self, conversation_id: str, answer: rejoin.Answer) -> None:
        """Frames of an answer generated elsewhere (its mirror) or rebuilt from storage."""
        try:
            if answer.mirrored is not None:
                async for batch in answer.mirrored:  # an empty batch is a heartbeat: nothing to send
                    for seq, kind, data in batch:
                        await self.send({"type": kind, "seq": seq, "conversation_id": conversation_id, **orjson.loads(data)})
            elif answer.stored is not None:
                async for seq, event in answer.stored:
                    frame = event_frame(conversation_id, seq, event)
                    if frame is not None:
                        await self.send(frame)
        except RedisError:
            await self.send(error_frame(ServiceUnavailable("the live answer cannot be followed now; try again shortly"), conversation_id))

    def _leave(self, conversation_id: str) -> None:
        joined = self._joined.pop(conversation_id, None)
        if joined is not None:
            joined[0].detach(joined[1])
        following = self._following.pop(conversation_id, None)
        if following is not None:
            following.cancel()

    async def _cancel(self, frame: CancelFrame) -> None:
        cancelled = await self.runtime.chat.cancel(frame.conversation_id, self.principal.id)
        await self.send({"type": "cancelled", "conversation_id": frame.conversation_id, "cancelled": cancelled})

    async def _stop_all(self) -> None:
        # The client that started a turn owns it: when the socket goes, its answers stop (as with SSE).
        for conversation_id, generation in self.generations.items():
            generation.cancel()
            sink = self._sinks.get(conversation_id)
            if sink is not None:
                generation.detach(sink)
        for conversation_id in list(self._joined) + list(self._following):  # re-joined answers go on
            self._leave(conversation_id)


async def _authenticate(websocket: WebSocket, runtime: Runtime) -> Principal | None:
    """Wait for the auth frame; on anything else answer an error and close with 4001."""
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=runtime.settings.ws_auth_timeout)
    except TimeoutError:
        return await _refuse(websocket, NotAuthenticated("send the auth frame first", code="auth_timeout"))
    if message["type"] == "websocket.disconnect":
        return None
    raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
    if len(raw) > 8192:
        await websocket.close(CLOSE_TOO_BIG, "frame too large")
        return None
    try:
        frame = parse_json(raw)
    except UserError:
        frame = None
    token = frame.get("token") if isinstance(frame, dict) and frame.get("type") == "auth" else None
    if not isinstance(token, str) or not token or len(token) > 4096:
        return await _refuse(websocket, NotAuthenticated('the first frame must be {"type": "auth", "token": ...}', code="missing_credentials"))
    try:
        return await runtime.accounts.authenticate(token)
    except NotAuthenticated as exc:
        return await _refuse(websocket, exc)


async def _refuse(websocket: WebSocket, exc: ChatkioskError) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps(error_frame(exc)))
        await websocket.close(CLOSE_UNAUTHENTICATED, exc.code)
    return None


async def _deny(websocket: WebSocket, exc: ChatkioskError, code: int) -> None:
    """Refuse the handshake: an HTTP error in the API's shape where the server can send one."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse(exc.body(), status_code=exc.status_code))
    else:
        await websocket.close(code, exc.code)


@router.websocket("/api/ws")
async def chat_socket(websocket: WebSocket) -> None:
    """Chat over a WebSocket; see the module docstring for the frames."""
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    if _TOKEN_PARAMS & {k.lower() for k in websocket.query_params}:
        await _deny(websocket, NotAuthenticated("send the token in the auth frame, never in the URL", code="token_in_url"), 4001)
        return
    if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host"), settings.cors_origins):
        await _deny(websocket, PermissionDenied("this origin may not open a socket", code="origin_not_allowed"), 4003)
        return
    await websocket.accept()
    principal = await _authenticate(websocket, runtime)
    if principal is None:
        return
    # Open sockets count against max_streams_per_user, in this process.
    open_sockets = runtime.open_sockets
    if open_sockets.get(principal.id, 0) >= settings.max_streams_per_user:
        exc = RateLimited(f"at most {settings.max_streams_per_user} sockets may be open at once", retry_after=5, code="too_many_sockets")
        await websocket.send_text(json.dumps(error_frame(exc)))
        await websocket.close(CLOSE_TOO_MANY, "too many sockets")
        return
    open_sockets[principal.id] = open_sockets.get(principal.id, 0) + 1
    socket = _Socket(websocket, runtime, principal)
    unsubscribe = runtime.revocations.listen(socket.on_revoked)
    try:
        # A revocation between authenticate() and listen() would otherwise be missed.
        if await runtime.revocations.is_revoked(*principal.revocation_ids):
            socket.on_revoked(principal.revocation_ids[0], "revoked")
        else:
            await socket.send({"type": "ready", "user": {"id": principal.id, "username": principal.user.username}})
        await socket.run()
    finally:
        unsubscribe()
        open_sockets[principal.id] -= 1
        if open_sockets[principal.id] <= 0:
            del open_sockets[principal.id]
