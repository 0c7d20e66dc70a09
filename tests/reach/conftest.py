"""A fake web on loopback for the reach tools: a SearXNG and a Brave API, and pages to read."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvicorn

from ..conftest import ON_CI

BRAVE_KEY = "brave-key-0123456789abcdef"

ARTICLE = """<!doctype html><html><head><title>Delivery times 2026</title></head><body>
<nav class="navbar">Home | Shop | Login</nav>
<div id="cookie-banner">We use cookies. Accept?</div>
<main><h1>Delivery times</h1><p>Orders placed before 2 pm ship the same day.</p>
<p>Island deliveries take two extra days.</p></main>
<footer>© Example shop</footer></body></html>"""


@dataclass
class FakeWeb:
    """What the fake web answered and to whom."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append({"path": path, "query": query, "headers": headers})
        status, kind, body, extra = 200, "text/html; charset=utf-8", b"", []
        if path == "/search":  # SearXNG
            if query.get("format") != "json":
                status, body = 403, b"format not allowed"
            else:
                kind = "application/json"
                body = json.dumps({"query": query["q"], "results": [
                    {"title": "Delivery times 2026", "url": f"{self.base}/article", "content": "Orders before 2 pm ship the same day."},
                    {"title": "Shipping FAQ", "url": "https://shop.example/faq", "content": "Island deliveries take longer."},
                    {"title": "not a web result", "url": "javascript:alert(1)", "content": "dropped"},
                ]}).encode()
        elif path == "/res/v1/web/search":  # Brave
            if headers.get("x-subscription-token") != BRAVE_KEY:
                status, kind = 401, "application/json"
                body = json.dumps({"error": f"Incorrect API key provided: {headers.get('x-subscription-token')}"}).encode()
            else:
                kind = "application/json"
                body = json.dumps({"web": {"results": [
                    {"title": "Brave result", "url": "https://brave.example/a", "description": "From the hosted API."},
                ]}}).encode()
        elif path == "/article":
            body = ARTICLE.encode()
        elif path == "/plain":
            kind, body = "text/plain; charset=utf-8", "첫 줄입니다.\n\n第二段。".encode()
        elif path == "/big":
            body = b"<html><body><main>" + b"<p>" + b"word " * 400_000 + b"</p></main></body></html>"
        elif path == "/slow":
            await asyncio.sleep(30)
        elif path == "/binary":
            kind, body = "application/octet-stream", b"\x00\x01\x02"
        elif path == "/redirect":
            status, extra = 302, [(b"location", query["to"].encode())]
        elif path == "/hops":
            n = int(query.get("n", "0"))
            status, extra = 302, [(b"location", f"/hops?n={n + 1}".encode())]
        else:
            status, body = 404, b"not here"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind.encode()), (b"content-length", str(len(body)).encode()), *extra]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="session")
def fake_web() -> Iterator[FakeWeb]:
    web = FakeWeb()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    web.port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web, lifespan="off", log_config=None, log_level="critical", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake web did not start"
        time.sleep(0.01)
    yield web
    server.should_exit = True
    server.force_exit = True
    thread.join(5)


def require_bwrap() -> None:
    """The sandbox tests need Debian's bubblewrap (make test installs it as root)."""
    if shutil.which("bwrap") and Path("/usr/bin/python3").exists():
        return
    message = "bubblewrap or /usr/bin/python3 is missing (make test installs them when run as root)"
    if ON_CI:
        pytest.fail(message)
    pytest.skip(message)
