"""ASGI middleware: request id, body size limit, access log and request metrics.

Written as plain ASGI (not BaseHTTPMiddleware) so streamed responses pass through untouched
and a client that leaves is still noticed by the route.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatkiosk.errors import PayloadTooLarge
from chatkiosk.logs import request_id_var
from chatkiosk.metrics import Metrics

log = logging.getLogger("chatkiosk.access")
_SAFE_ID = re.compile(r"^[\w.-]{1,64}$")


class RequestContext:
    """Give every request an id, cap its body, log it and count it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes

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
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                receive = _refuse_body
            else:
                receive = _capped(receive, self.max_body)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

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


async def _refuse_body() -> Message:
    raise PayloadTooLarge("request body too large")


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge("request body too large")
        return message

    return wrapped
