"""The `Host` a request may name, and redirects that never echo it back.

Two defences against a forged `Host` header (cache poisoning, password-reset-style link
forging, open redirects):

- `allowed_hosts` (setting `CHATKIOSK_ALLOWED_HOSTS`): a request whose Host is not on the
  list is refused with 400 `invalid_host` before any route runs. Entries are host names
  (`kiosk.example.com`), wildcard subdomains (`*.example.com`) or `*` (any; the default, for
  a server reached by whatever name the operator gives it).
- Redirects the server makes itself (Starlette's trailing-slash redirect builds an absolute
  URL from the request's Host) leave as a relative `Location` (`/api/conversations?x=1`), so no
  client header ever becomes the target of a redirect.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatkiosk.errors import UserError


def host_name(value: str) -> str:
    """The host of a `Host` header value, lower case, without the port (IPv6 keeps its brackets)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end != -1 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(host: str, allowed: list[str]) -> bool:
    """True when `host` (a bare host name) matches an entry of `allowed`."""
    for pattern in allowed:
        pattern = pattern.strip().lower()
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern[2:]:
            return True
    return False


def relative_location(location: str, request_host: str) -> str:
    """`location` without scheme and host when it points back at the requested host."""
    parts = urlsplit(location)
    if not parts.netloc or parts.netloc.lower() != request_host.lower():
        return location
    path = parts.path or "/"
    if path.startswith("//"):  # "//evil.example" would be read as a host again
        path = "/" + path.lstrip("/")
    return path + (f"?{parts.query}" if parts.query else "")


class HostGuard:
    """Refuse Hosts off the allowed list; turn self-redirects into relative ones."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed = list(allowed_hosts) or ["*"]
        self.any_host = "*" in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw_host = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"host"), "")
        if not self.any_host and not host_allowed(host_name(raw_host), self.allowed):
            await _refuse(scope, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        # A plain function returning `send`'s awaitable: no coroutine of its own for every
        # streamed frame that passes through.
        def send_relative(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = [
                    (k, relative_location(v.decode("latin-1"), raw_host).encode("latin-1")) if k.lower() == b"location" else (k, v)
                    for k, v in message.get("headers", [])
                ]
            return send(message)

        await self.app(scope, receive, send_relative)


async def _refuse(scope: Scope, send: Send) -> None:
    error = UserError("this server does not answer to that Host", code="invalid_host", param="Host")
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": "invalid host"})
        return
    body = json.dumps(error.body()).encode()
    await send({
        "type": "http.response.start",
        "status": error.status_code,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
