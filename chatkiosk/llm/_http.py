"""Internals shared by the HTTP providers: deadlines, error mapping, SSE reading.

Kept apart from the wire formats (openai_compat, anthropic) so both end a hanging, trickling
or dropped upstream the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import httpx

from ..errors import UpstreamError, UpstreamTimeout
from ._scrub import request_secrets, scrub_upstream_text
from .config import ProviderConfig

T = TypeVar("T")


def http_client(cfg: ProviderConfig) -> httpx.AsyncClient:
    """The client of one provider: connect timeout from config, no redirects.

    Redirects are never followed so the API key cannot travel to another host. Read/write
    timeouts are only a backstop: `Deadlines` ends slow streams first.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            cfg.total_timeout, connect=cfg.connect_timeout, pool=cfg.connect_timeout
        ),
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=1000),
        follow_redirects=False,
    )


class Deadlines:
    """The first-token and whole-turn deadlines of one call, on the event loop's clock."""

    def __init__(self, provider: str, first_token: float, total: float) -> None:
        now = asyncio.get_running_loop().time()
        self.provider = provider
        self.first_token = first_token
        self.total = total
        self.total_at = now + total
        self.first_at = min(now + first_token, self.total_at)
        self.started = False

    def drain(self, seconds: float) -> None:
        """The answer is complete: allow only `seconds` more to read the body's end."""
        self.started = True
        self.total_at = min(self.total_at, asyncio.get_running_loop().time() + seconds)

    def mark_started(self) -> None:
        """The first piece reached the caller: from now on only the total deadline counts."""
        self.started = True

    def timeout_error(self) -> UpstreamTimeout:
        """The error for the deadline that just passed."""
        if not self.started and self.first_at < self.total_at:
            what = f"sent nothing within the first-token timeout ({self.first_token:g} s)"
        else:
            what = f"did not finish within the total timeout ({self.total:g} s)"
        return UpstreamTimeout(
            f"LLM provider {self.provider!r} {what}; check the upstream or raise the timeout",
            retryable=True,
        )

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` until the current deadline; past it raise `UpstreamTimeout`."""
        when = self.total_at if self.started else self.first_at
        try:
            async with asyncio.timeout_at(when):
                return await awaitable
        except TimeoutError:
            raise self.timeout_error() from None


def status_error(provider: str, status: int, body: bytes, request: httpx.Request | None = None) -> UpstreamError:
    """Map a non-2xx status of the upstream: 429 and 5xx may succeed on another try.

    The upstream's own words are kept, scrubbed of the credentials `request` carried and of
    anything shaped like a key: they reach the client and the stored message.
    """
    detail = scrub_upstream_text(_error_message(body), request_secrets(request))
    retryable = status == 429 or status >= 500
    if status in (401, 403):
        hint = "check the provider's API key"
    elif status == 404:
        hint = "check the provider's base_url and model name"
    elif 300 <= status < 400:
        hint = "redirects are not followed; set base_url to the final URL"
    elif retryable:
        hint = "the upstream is overloaded or failing"
    else:
        hint = "the upstream refused the request"
    return UpstreamError(
        f"LLM provider {provider!r} answered HTTP {status} ({hint}): {detail}",
        code="upstream_rate_limited" if status == 429 else "upstream_error",
        retryable=retryable,
        upstream_status=status,
    )


def _error_message(body: bytes) -> str:
    # OpenAI and Anthropic both put the reason in {"error": {"message": ...}}.
    try:
        data = json.loads(body)
        message = data["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = body.decode("utf-8", "replace")
    return str(message).strip()[:300] or "no detail"


def transport_error(provider: str, exc: httpx.HTTPError) -> UpstreamError:
    """Map a connection-level failure; every such failure is worth another try."""
    text = scrub_upstream_text(str(exc), request_secrets(getattr(exc, "_request", None)))
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout(
            f"LLM provider {provider!r} timed out ({type(exc).__name__}); "
            "check that the upstream is up and reachable",
            retryable=True,
        )
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError(
            f"LLM provider {provider!r} is unreachable ({text}); check its base_url",
            code="upstream_unreachable",
            retryable=True,
        )
    return UpstreamError(
        f"LLM provider {provider!r} dropped the connection ({type(exc).__name__}: {text})",
        code="upstream_disconnected",
        retryable=True,
    )


async def send_json(
    client: httpx.AsyncClient,
    request: httpx.Request,
    deadlines: Deadlines,
) -> dict:
    """Send a non-streamed request and return its JSON body, mapping every failure."""
    try:
        response = await deadlines.wait(client.send(request))
    except httpx.HTTPError as exc:
        raise transport_error(deadlines.provider, exc) from exc
    if not response.is_success:
        raise status_error(deadlines.provider, response.status_code, response.content, request)
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError(
            f"LLM provider {deadlines.provider!r} answered with invalid JSON",
            retryable=True,
        ) from exc


async def sse_events(
    client: httpx.AsyncClient,
    request: httpx.Request,
    deadlines: Deadlines,
) -> AsyncIterator[tuple[str, str]]:
    """Send `request` and yield its server-sent events as `(event, data)`.

    Every wait (headers, each line) is bounded by `deadlines`. Closing this generator closes
    the response and its connection, so the upstream sees the request cancelled at once.
    """
    name = deadlines.provider
    try:
        response = await deadlines.wait(client.send(request, stream=True))
    except httpx.HTTPError as exc:
        raise transport_error(name, exc) from exc
    lines = None
    try:
        if not response.is_success:
            try:
                body = await deadlines.wait(response.aread())
            except httpx.HTTPError:
                body = b""
            raise status_error(name, response.status_code, body, request)
        lines = response.aiter_lines()
        event, data = "", []
        while True:
            try:
                line = await deadlines.wait(anext(lines, None))
            except httpx.HTTPError as exc:
                raise transport_error(name, exc) from exc
            if line is None:
                if data:
                    yield event or "message", "\n".join(data)
                return
            if not line:
                if data:
                    yield event or "message", "\n".join(data)
                event, data = "", []
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line.startswith("event:"):
                event = line[6:].strip()
            # Comments (":") and unknown fields are ignored, as the SSE spec says.
    finally:
        if lines is not None:
            await lines.aclose()
        await response.aclose()
