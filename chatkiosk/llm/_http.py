"""Internals shared by the HTTP providers: deadlines, error mapping, SSE reading.

Kept apart from the wire formats (openai_compat, anthropic) so both end a hanging, trickling
or dropped upstream the same way.

Streams are read with aiohttp, and so are the OpenAI-compatible provider's whole answers
(`post_json`); Anthropic's whole answers and the `/models` checks go through httpx. The
choice is measured (benchmarks/chat_stream.py, bare proxies in the same run): relaying a
streamed frame cost a bare Starlette proxy ~30-45 µs of CPU with aiohttp and ~100-160 µs with
httpx, whose anyio cancel scope around every read and h11 parser dominate. A stream has one
deadline, a timer rescheduled when it moves (first token, then the total, then the drain), not
a timeout per read; SSE events are split on blank lines in the bytes as they arrive.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import httpx
import orjson

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
        self._on_deadline: Callable[[], None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def drain(self, seconds: float) -> None:
        """The answer is complete: allow only `seconds` more to read the body's end."""
        self.started = True
        self.total_at = min(self.total_at, asyncio.get_running_loop().time() + seconds)
        self._schedule()

    def mark_started(self) -> None:
        """The first piece reached the caller: from now on only the total deadline counts."""
        if not self.started:
            self.started = True
            self._schedule()

    def arm(self, on_deadline: Callable[[], None]) -> None:
        """Call `on_deadline` when the current deadline passes (one timer, moved with it)."""
        self._on_deadline = on_deadline
        self._schedule()

    def disarm(self) -> None:
        """No more deadline callback."""
        self._on_deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        if self._on_deadline is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        when = self.total_at if self.started else self.first_at
        self._timer = asyncio.get_running_loop().call_at(when, self._on_deadline)

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


def status_error(provider: str, status: int, body: bytes, request: httpx.Request | StreamRequest | None = None) -> UpstreamError:
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


async def post_json(client: StreamClient, request: StreamRequest, deadlines: Deadlines) -> Any:
    """Send a non-streamed request on the aiohttp session and return its JSON body, mapping
    every failure as `send_json` does (aiohttp's request path costs about a third of httpx's)."""
    name = deadlines.provider
    method, url, content, headers = _wire(request)
    try:
        response = await deadlines.wait(client.session().request(method, url, data=content, allow_redirects=False, headers=headers))
        try:
            body = await deadlines.wait(response.read())
        finally:
            response.release()
    except aiohttp.ClientError as exc:
        raise stream_transport_error(name, exc, request) from exc
    if not 200 <= response.status < 300:
        raise status_error(name, response.status, body, request)
    try:
        return orjson.loads(body)
    except ValueError as exc:
        raise UpstreamError(f"LLM provider {name!r} answered with invalid JSON", retryable=True) from exc


class StreamClient:
    """The streaming side of one provider: an aiohttp session, made on first use in the
    running loop. No redirects are followed and no cookies kept; the connect timeout is the
    provider's, and `Deadlines` bound the rest."""

    def __init__(self, cfg: ProviderConfig) -> None:
        self.cfg = cfg
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The session (created on the first call)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1000, limit_per_host=1000, enable_cleanup_closed=True),
                timeout=aiohttp.ClientTimeout(total=None, connect=self.cfg.connect_timeout, sock_connect=self.cfg.connect_timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
            )
        return self._session

    async def warm(self) -> None:
        """Build the session and its connector now, so the first turn does not pay for it."""
        self.session()

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def stream_transport_error(provider: str, exc: Exception, request: httpx.Request | StreamRequest) -> UpstreamError:
    """Map a connection-level failure of a stream; every such failure is worth another try."""
    text = scrub_upstream_text(str(exc), request_secrets(request))
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return UpstreamTimeout(
            f"LLM provider {provider!r} timed out ({type(exc).__name__}); check that the upstream is up and reachable",
            retryable=True,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
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


_HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding", "accept-encoding"})


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """A streamed request as aiohttp sends it, built without httpx (whose URL and header
    models cost ~0.1-0.3 ms a call, on every turn). `headers` have lower-case names."""

    url: str
    headers: dict[str, str]
    content: bytes
    method: str = "POST"


def _wire(request: httpx.Request | StreamRequest) -> tuple[str, str, bytes, dict[str, str]]:
    """Method, URL, body and headers to send (without the ones aiohttp sets itself)."""
    if isinstance(request, StreamRequest):
        return request.method, request.url, request.content, request.headers
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
    return request.method, str(request.url), request.content, headers


def _sse_event(block: bytes) -> tuple[str, bytes] | None:
    """One SSE event block (its lines, without the blank line) as `(event, data)`."""
    if block.startswith(b"data: ") and b"\n" not in block:  # the common one-line event
        return "message", block[6:]
    event, data = "", []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[5:].removeprefix(b" "))
        elif line.startswith(b"event:"):
            event = line[6:].strip().decode("utf-8", "replace")
        # Comments (":") and unknown fields are ignored, as the SSE spec says.
    if not data:
        return None
    return event or "message", b"\n".join(data)


async def sse_events(
    client: StreamClient,
    request: httpx.Request | StreamRequest,
    deadlines: Deadlines,
) -> AsyncIterator[tuple[str, bytes]]:
    """Send `request` and yield its server-sent events as `(event, data)` (data: bytes).

    The headers are awaited within the first deadline; then one timer per stream ends the read
    when its deadline passes. Closing this generator before the end closes the connection, so
    the upstream sees the request cancelled at once; a stream read to its end returns the
    connection to the pool.
    """
    name = deadlines.provider
    session = client.session()
    method, url, content, headers = _wire(request)
    try:
        response = await deadlines.wait(session.request(method, url, data=content, allow_redirects=False, headers=headers))
    except aiohttp.ClientError as exc:
        raise stream_transport_error(name, exc, request) from exc
    complete = False
    try:
        if not 200 <= response.status < 300:
            try:
                body = await deadlines.wait(response.read())
            except aiohttp.ClientError:
                body = b""
            raise status_error(name, response.status, body, request)
        content = response.content
        deadlines.arm(lambda: content.set_exception(deadlines.timeout_error()))
        buf = b""
        while True:
            try:
                chunk = await content.readany()
            except aiohttp.ClientError as exc:
                raise stream_transport_error(name, exc, request) from exc
            if not chunk:
                complete = True
                if buf.strip():
                    event = _sse_event(buf.strip(b"\n"))
                    if event is not None:
                        yield event
                return
            buf += chunk
            if b"\r" in chunk:  # CRLF line ends (a CR at a chunk's end meets its LF in the next one)
                buf = buf.replace(b"\r\n", b"\n")
            while (cut := buf.find(b"\n\n")) >= 0:
                block, buf = buf[:cut], buf[cut + 2 :]
                event = _sse_event(block)
                if event is not None:
                    yield event
    finally:
        deadlines.disarm()
        if complete:
            response.release()
        else:
            response.close()
