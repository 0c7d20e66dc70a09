"""ASGI middleware: request id, body size limit, access log and request metrics.

Written as plain ASGI (not BaseHTTPMiddleware) so streamed responses pass through untouched
and a client that leaves is still noticed by the route.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatkiosk.errors import PayloadTooLarge
from chatkiosk.logs import request_id_var
from chatkiosk.metrics import Metrics

log = logging.getLogger("chatkiosk.access")
_SAFE_ID = re.compile(r"^[\w.-]{1,64}$")


class RequestContext:
    """Give every request an id, cap its body, log it and count it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int, upload_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes
        # Paths (regular expressions, matched whole) whose bodies may be larger: file uploads.
        self.upload_limits = [(re.compile(pattern), limit) for pattern, limit in (upload_limits or {}).items()]

    def _cap(self, path: str) -> int:
        """The body limit of this path: an upload's own, or the general one."""
        for pattern, limit in self.upload_limits:
            if pattern.fullmatch(path):
                return limit
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = 0

        if scope["type"] == "http":
            declared = headers.get(b"content-length")
            cap = self._cap(scope.get("path", ""))
            too_large = declared is not None and declared.isdigit() and int(declared) > cap
            if declared is None and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
                # A chunked body has no declared size: read it up to the cap before routing.
                receive, too_large = await _buffered(receive, cap)
            if too_large:
                await _send_413(send, request_id)
                request_id_var.reset(token)
                return

        def send_wrapper(message: Message) -> Awaitable[None]:  # returns `send`'s awaitable: no coroutine per frame
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            return send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "WS")
            if scope["type"] == "http":
                self.metrics.requests.labels(method, template, str(status)).inc()
                self.metrics.latency.labels(method, template).observe(elapsed)
            log.info(
                "request",
                extra={"method": method, "route": template, "status": status, "duration_ms": round(elapsed * 1000, 2)},
            )
            request_id_var.reset(token)


async def _send_413(send: Send, request_id: str) -> None:
    body = json.dumps(PayloadTooLarge("request body too large").body()).encode()
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()), (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})


async def _buffered(receive: Receive, limit: int) -> tuple[Receive, bool]:
    """Read the whole body (at most `limit` bytes); replay it, then pass through."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return receive, False
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return receive, True
        if not message.get("more_body", False):
            break
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replay, False
