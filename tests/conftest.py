"""The suite's one app factory: every API test runs on SQLite and on PostgreSQL + Redis.

PostgreSQL and Redis are the real servers on 127.0.0.1. Off CI a test of those paths skips
with the reason when they are unreachable; on CI (`CI=true`) it fails instead.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatkiosk.app import create_app
from chatkiosk.config import Settings
from chatkiosk.store.db import Database
from chatkiosk.store.migrate import upgrade
from chatkiosk.store.tables import Base

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_URL = os.environ.get("CHATKIOSK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct-horse-battery"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, on CI, fail) when a server the test needs is not there."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if ON_CI:
        pytest.fail(message + " (CI=true: the PostgreSQL/Redis tests must run)")
    pytest.skip(message)


def _run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "chatkiosk.db"

    async def make() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        await db.close()

    _run(make())
    return path


@pytest.fixture(scope="session")
def pg_database() -> Any:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    import asyncpg

    name = f"chatkiosk_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="root", database="test")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def make() -> None:
        await admin(f'CREATE DATABASE "{name}"')
        db = Database(f"postgresql+asyncpg://root@{PG_HOST}:{PG_PORT}/{name}")
        await upgrade(db)
        await db.close()

    _run(make())
    yield f"postgresql+asyncpg://root@{PG_HOST}:{PG_PORT}/{name}"
    _run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    db = Database(url)
    try:
        async with db.write() as session:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            from sqlalchemy import text

            await session.execute(text(f"TRUNCATE {names} CASCADE"))
    finally:
        await db.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings_factory(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Settings]:
    """Settings for this test's backend: a private SQLite copy, or PostgreSQL + Redis."""
    overrides: dict[str, Any] = {}
    if backend == "sqlite":
        db_file = tmp_path / "data" / "chatkiosk.db"
        db_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(request.getfixturevalue("sqlite_template"), db_file)
        overrides["database_url"] = f"sqlite+aiosqlite:///{db_file}"
    else:
        url = request.getfixturevalue("pg_database")
        require_service("Redis", "127.0.0.1", 6379)
        _run(_truncate(url))
        overrides["database_url"] = url
        overrides["redis_url"] = REDIS_URL
        overrides["redis_prefix"] = f"cktest:{uuid.uuid4().hex[:8]}"

    def make(**more: Any) -> Settings:
        values = {"environment": "test", "data_dir": tmp_path / "data", **overrides, **more}
        return Settings(**values)

    return make


class Api:
    """A test client of one running app, with helpers to sign users up."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self.runtime = app.state.runtime

    async def signup(self, username: str | None = None, *, admin: bool = False, password: str = PASSWORD) -> dict[str, Any]:
        """Register and sign in; returns {id, username, headers, access_token, refresh_token}."""
        username = username or f"u{uuid.uuid4().hex[:8]}"
        if admin:
            user = await self.runtime.accounts.register(username, password, None, role="admin")
            user_id = user.id
        else:
            r = await self.client.post("/api/auth/register", json={"username": username, "password": password})
            assert r.status_code == 201, r.text
            user_id = r.json()["id"]
        r = await self.client.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        tokens = r.json()
        return {
            "id": user_id, "username": username, "password": password,
            "headers": {"Authorization": f"Bearer {tokens['access_token']}"}, **tokens,
        }


@pytest.fixture
async def make_api(settings_factory: Callable[..., Settings]) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    """Start apps (lifespan included) on this test's backend: `api = await make_api(single_login=True)`.

    `providers={"name": provider}` replaces the configured LLM providers.
    """
    async with AsyncExitStack() as stack:

        async def make(providers: dict[str, Any] | None = None, **overrides: Any) -> Api:
            app = create_app(settings_factory(**overrides), providers=providers)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
            return Api(app, client)

        yield make


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]]) -> Api:
    return await make_api()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The interpreter's last collections at exit walk every object the suite left behind: on a
    fresh clone that took about 3 minutes after the summary line. Frozen objects are skipped."""
    gc.freeze()
