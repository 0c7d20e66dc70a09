"""Real servers on loopback for the WebSocket, terminal and browser tests.

`live(providers=..., **settings)` starts a chatkiosk app under uvicorn (tests/live.py) on this
test's backend and returns a `Live` with its URLs and a sync HTTP client to sign users up.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from chatkiosk.app import create_app
from chatkiosk.config import Settings
from tests.conftest import PASSWORD
from tests.live import serve


@dataclass
class User:
    username: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Live:
    """One running server: its base URL, WebSocket URL, and a plain HTTP client."""

    app: Any
    url: str
    http: httpx.Client

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/ws"

    @property
    def settings(self) -> Settings:
        return self.app.state.runtime.settings

    def signup(self, username: str | None = None, password: str = PASSWORD) -> User:
        """Register and sign in over HTTP."""
        username = username or f"u{uuid.uuid4().hex[:8]}"
        r = self.http.post("/api/auth/register", json={"username": username, "password": password})
        assert r.status_code == 201, r.text
        return self.login(username, password)

    def login(self, username: str, password: str = PASSWORD) -> User:
        r = self.http.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        body = r.json()
        return User(username, body["access_token"], body["refresh_token"], {"Authorization": f"Bearer {body['access_token']}"})

    def conversation(self, user: User, agent: str = "assistant") -> str:
        r = self.http.post("/api/conversations", json={"agent": agent}, headers=user.headers)
        assert r.status_code == 201, r.text
        return r.json()["id"]


@pytest.fixture
def live(settings_factory: Callable[..., Settings]) -> Iterator[Callable[..., Live]]:
    """Start servers for this test: `srv = live(providers={"s": ScriptedProvider([...])}, single_login=True)`."""
    with ExitStack() as stack:

        def start(providers: dict[str, Any] | None = None, **overrides: Any) -> Live:
            app = create_app(settings_factory(**overrides), providers=providers)
            url = stack.enter_context(serve(app))
            http = stack.enter_context(httpx.Client(base_url=url, timeout=20))
            return Live(app, url, http)

        yield start


def frames_until(ws: Any, stop: Callable[[dict[str, Any]], bool], timeout: float = 10) -> list[dict[str, Any]]:
    """Read JSON frames from a sync `websockets` client until `stop(frame)` is true (that frame included)."""
    seen: list[dict[str, Any]] = []
    while True:
        frame = json.loads(ws.recv(timeout=timeout))
        seen.append(frame)
        if stop(frame):
            return seen
