"""How `chatkiosk serve` takes connections: uvicorn, with limits a public server needs.

uvicorn alone lets a client hold a socket forever by sending its headers one byte at a time
(slowloris: the keep-alive timer is reset by every byte), and its httptools parser buffers an
unterminated header of any size. Here:

- a request's line and headers must arrive within `http_header_timeout` seconds of its first
  byte (or of the connection opening); otherwise the socket gets `408` and is closed;
- they may take at most `http_max_header_bytes`; more is `431` and the socket is closed;
- an idle keep-alive connection is closed after `http_keepalive_timeout` seconds;
- at most `max_connections` connections are served at once; beyond that uvicorn answers 503.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chatkiosk.config import Settings

_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def guarded_protocol(header_timeout: float, max_header_bytes: int) -> type[HttpToolsProtocol]:
    """An HTTP protocol class that bounds the time and size of every request's headers."""

    class GuardedHttpProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with a header-read deadline and a header size cap."""

        _reading_headers = False
        _header_bytes = 0
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._reading_headers and not self.transport.is_closing():
                self._header_bytes += len(data)
                if self._header_bytes > max_header_bytes:
                    self._refuse(_431)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if not self._reading_headers:
                self._await_headers()

        def on_headers_complete(self) -> None:
            self._reading_headers = False
            self._stop_timer()
            super().on_headers_complete()

        # --- the deadline

        def _await_headers(self) -> None:
            self._reading_headers = True
            self._header_bytes = 0
            self._stop_timer()
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _stop_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self._reading_headers:
                self._refuse(_408)

        def _refuse(self, response: bytes) -> None:
            self._reading_headers = False
            self._stop_timer()
            if not self.transport.is_closing():
                self.transport.write(response)
                self.transport.close()

    return GuardedHttpProtocol


def server_config(app: Any, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration `chatkiosk serve` runs `app` with."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws_max_size=settings.max_body_bytes,
        http=guarded_protocol(settings.http_header_timeout, settings.http_max_header_bytes),
        timeout_keep_alive=settings.http_keepalive_timeout,
        limit_concurrency=settings.max_connections,
    )


def run(app: Any, settings: Settings) -> None:
    """Serve `app` until interrupted."""
    uvicorn.Server(server_config(app, settings)).run()
