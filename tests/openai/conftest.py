"""Fixtures for the OpenAI-compatible API: a real server on loopback and the official client."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from chatkiosk.config import Settings
from chatkiosk.llm.config import ProviderConfig

from ..conftest import PASSWORD
from ..fake_upstream import FakeUpstream
from ..live import LiveServer, live_servers


@dataclass
class User:
    id: str
    key: str  # an API key (`ck-…`)
    headers: dict[str, str]  # a JWT, for the REST routes


class Live(LiveServer):
    """A running server with helpers for the official `openai` client."""

    def user(self) -> User:
        """Register, sign in and create an API key."""
        name = f"u{uuid.uuid4().hex[:8]}"
        r = self.http.post("/api/auth/register", json={"username": name, "password": PASSWORD})
        assert r.status_code == 201, r.text
        user_id = r.json()["id"]
        token = self.http.post("/api/auth/login", json={"username": name, "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        key = self.http.post("/api/keys", headers=headers, json={"name": "sdk"}).json()["key"]
        return User(user_id, key, headers)

    def history(self, user: User, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's messages, oldest first."""
        r = self.http.get(f"/api/conversations/{conversation_id}/messages", headers=user.headers)
        assert r.status_code == 200, r.text
        return list(reversed(r.json()["data"]))

    def client(self, user: User | str, **kwargs: Any) -> openai.OpenAI:
        key = user.key if isinstance(user, User) else user
        return openai.OpenAI(base_url=f"{self.base}/v1", api_key=key, max_retries=0, timeout=20, **kwargs)

    def async_client(self, user: User | str, **kwargs: Any) -> openai.AsyncOpenAI:
        key = user.key if isinstance(user, User) else user
        return openai.AsyncOpenAI(base_url=f"{self.base}/v1", api_key=key, max_retries=0, timeout=20, **kwargs)


@pytest.fixture
def live(settings_factory: Callable[..., Settings]) -> Iterator[Callable[..., Live]]:
    """Start servers: `server = live(providers={"scripted": llm}, messages_per_window=1)`."""
    with live_servers(settings_factory, Live) as start:
        yield start


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(model="up-model") as up:
        yield up


UPSTREAM_KEY = "sk-upstream-secret-0123456789"


def passthrough_config(up: FakeUpstream, **changes: Any) -> ProviderConfig:
    """An admin's passthrough provider pointed at the fake upstream, with a provider key."""
    values: dict[str, Any] = dict(
        name="up", kind="openai", base_url=up.base_url, model="up-model", models=["up-model-large"],
        api_key=UPSTREAM_KEY, passthrough=True, max_retries=0, connect_timeout=2, first_token_timeout=5, total_timeout=10,
    )
    values.update(changes)
    return ProviderConfig(**values)
