"""A real chatkiosk server on loopback, in a background thread, for clients that need a socket."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` with uvicorn on 127.0.0.1 (a free port) and yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, lifespan="on", ws_max_size=app.state.runtime.settings.max_body_bytes)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class LiveServer:
    """One running server: its app, base URL and a plain HTTP client. Subclass for helpers."""

    app: Any
    base: str
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.base

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    def conversation(self, user: Any, agent: str = "assistant") -> str:
        """A new conversation of `user` (anything with `.headers`) with `agent`."""
        r = self.http.post("/api/conversations", headers=user.headers, json={"agent": agent})
        assert r.status_code == 201, r.text
        return r.json()["id"]


@contextmanager
def live_servers(settings_factory: Callable[..., Any], cls: type[LiveServer] = LiveServer) -> Iterator[Callable[..., Any]]:
    """`start(providers=..., **settings)` runs a chatkiosk app on loopback; all stop on exit."""
    from chatkiosk.app import create_app

    with ExitStack() as stack:

        def start(providers: dict[str, Any] | None = None, **overrides: Any) -> LiveServer:
            app = create_app(settings_factory(**overrides), providers=providers)
            base = stack.enter_context(serve(app))
            http = stack.enter_context(httpx.Client(base_url=base, timeout=20))
            return cls(app, base, http)

        yield start
