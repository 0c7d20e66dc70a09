"""Real servers on loopback for the WebSocket, terminal and browser tests.

`live(providers=..., **settings)` starts a chatkiosk app under uvicorn (tests/live.py) on this
test's backend and returns a `Live` with its URLs and a sync HTTP client to sign users up.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from chatkiosk.config import Settings
from tests.conftest import PASSWORD
from tests.live import LiveServer, live_servers


@dataclass
class User:
    username: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


class Live(LiveServer):
    """A running server with its WebSocket URL and helpers to sign users up."""

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/ws"

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


@pytest.fixture
def live(settings_factory: Callable[..., Settings]) -> Iterator[Callable[..., Live]]:
    """Start servers for this test: `srv = live(providers={"s": ScriptedProvider([...])}, single_login=True)`."""
    with live_servers(settings_factory, Live) as start:
        yield start


def frames_until(ws: Any, stop: Callable[[dict[str, Any]], bool], timeout: float = 10) -> list[dict[str, Any]]:
    """Read JSON frames from a sync `websockets` client until `stop(frame)` is true (that frame included)."""
    seen: list[dict[str, Any]] = []
    while True:
        frame = json.loads(ws.recv(timeout=timeout))
        seen.append(frame)
        if stop(frame):
            return seen
