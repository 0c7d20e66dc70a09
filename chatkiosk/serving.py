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
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chatkiosk.config import Settings

log = logging.getLogger("chatkiosk.serve")

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


# Young collections every 10,000 net allocations instead of 700: a streamed frame allocates a
# few dozen objects, so the default ran a collection every few frames (benchmarks/README.md).
GC_THRESHOLD = (10_000, 10, 10)


def settle_heap() -> None:
    """Before serving: what start-up built (modules, tables, schemas: ~200k objects) moves out
    of the collector's sight, and young collections run less often. Without it a full
    collection walked the whole start-up heap (~130 ms, a pause every few hundred turns) and
    the collector took ~10% of a stored turn's CPU."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def run(app: Any, settings: Settings, *, fd: int | None = None) -> None:
    """Serve `app` until interrupted (on the inherited listening socket `fd`, for a worker)."""
    server = uvicorn.Server(server_config(app, settings))
    settle_heap()
    if fd is None:
        server.run()
    else:
        server.run(sockets=[socket.socket(fileno=fd)])


def run_workers(settings: Settings, workers: int) -> None:
    """Bind once, then run `workers` processes that accept on the same socket; restart one that dies.

    Each worker is `chatkiosk serve --worker-fd N`: a whole server of its own (own app, own
    event loop), sharing state with the others only through the database and Redis.
    """
    sock = socket.create_server((settings.host, settings.port), backlog=2048, reuse_port=False)
    sock.set_inheritable(True)
    env = {**os.environ, "CHATKIOSK_HOST": settings.host, "CHATKIOSK_PORT": str(settings.port)}
    command = [sys.executable, "-m", "chatkiosk", "serve", "--worker-fd", str(sock.fileno())]

    def spawn() -> subprocess.Popen:
        return subprocess.Popen(command, pass_fds=[sock.fileno()], env=env)

    children = [spawn() for _ in range(workers)]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    restarts: list[float] = []
    try:
        while not stopping:
            time.sleep(0.2)
            for i, child in enumerate(children):
                if child.poll() is not None and not stopping:
                    # A crashed worker comes back, but a crash loop ends the server.
                    now = time.monotonic()
                    restarts = [t for t in restarts if now - t < 60] + [now]
                    if len(restarts) > 3 * workers:
                        log.error("workers keep dying; stopping", extra={"exit_code": child.returncode})
                        stopping = True
                        break
                    log.warning("a worker exited; starting another", extra={"exit_code": child.returncode})
                    children[i] = spawn()
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        sock.close()
