"""Issue 13, item 1: a WebSocket opened with an API key is closed (`revoked`, 4001) when the key
is deleted or its user disabled, as JWT sockets are on logout; on another worker too (Redis)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import update

from chatkiosk.store.db import Database
from chatkiosk.store.tables import User

from chatkiosk.llm.fake import ScriptedProvider
from tests.web.conftest import Live
from tests.web.test_ws import closed_with, open_socket


def key_socket(srv: Live, key: str):
    ws = open_socket(srv)
    ws.send(json.dumps({"type": "auth", "token": key}))
    assert json.loads(ws.recv(timeout=10))["type"] == "ready"
    return ws


def new_key(srv: Live, user) -> tuple[str, str]:
    body = srv.http.post("/api/keys", json={"name": "ws"}, headers=user.headers).json()
    return body["id"], body["key"]


def test_deleting_the_key_closes_its_socket(live):
    srv = live(providers={"scripted": ScriptedProvider([["never stored"]])})
    user = srv.signup()
    key_id, key = new_key(srv, user)
    conv = srv.conversation(user)
    with key_socket(srv, key) as ws:
        assert srv.http.delete(f"/api/keys/{key_id}", headers=user.headers).status_code == 204
        code, frames = closed_with(ws)
    assert code == 4001 and frames[-1] == {"type": "revoked", "reason": "key_revoked"}
    assert srv.http.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert srv.http.get(f"/api/conversations/{conv}/messages", headers=user.headers).json()["data"] == []


def admin(srv: Live):
    """A signed-in admin (promoted in the database: the server runs on its own loop)."""
    boss = srv.signup()

    async def promote() -> None:
        db = Database(srv.settings.resolved_database_url)
        try:
            async with db.write() as session:
                await session.execute(update(User).where(User.username == boss.username).values(role="admin"))
        finally:
            await db.close()

    asyncio.run(promote())
    return srv.login(boss.username)


def test_disabling_the_user_closes_their_key_sockets(live):
    srv = live()
    boss = admin(srv)
    user = srv.signup()
    user_id = srv.http.get("/api/auth/me", headers=user.headers).json()["id"]
    _, key = new_key(srv, user)
    with key_socket(srv, key) as ws:
        assert srv.http.post(f"/api/admin/users/{user_id}/disable", headers=boss.headers).status_code == 200
        code, frames = closed_with(ws)
    assert code == 4001 and frames[-1] == {"type": "revoked", "reason": "disabled"}
    assert srv.http.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_key_deleted_on_another_worker_closes_the_socket_and_is_refused_there(live, backend):
    if backend != "postgres":
        pytest.skip("workers share revocations through Redis")
    one, two = live(), live()
    user = one.signup()
    key_id, key = new_key(one, user)
    headers = {"Authorization": f"Bearer {key}"}
    assert one.http.get("/api/auth/me", headers=headers).status_code == 200  # cached on worker one
    with key_socket(one, key) as ws:
        assert two.http.delete(f"/api/keys/{key_id}", headers=user.headers).status_code == 204
        assert one.http.get("/api/auth/me", headers=headers).status_code == 401
        code, frames = closed_with(ws)
    assert code == 4001 and frames[-1] == {"type": "revoked", "reason": "key_revoked"}
