"""Issue 16: authenticating a request costs no database round trip on the hot path, and the
cache never outlives a revocation (key deletion, disable), on one worker or across two."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def statements(runtime):
    """Count the SQL statements the runtime's database runs inside the block."""
    seen: list[str] = []
    engines = set(runtime.db.engines)

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


async def test_api_key_and_jwt_requests_reuse_the_cached_principal(api):
    user = await api.signup()
    key = (await api.client.post("/api/keys", headers=user["headers"], json={"name": "k"})).json()["key"]
    key_headers = {"Authorization": f"Bearer {key}"}
    assert (await api.client.get("/api/auth/me", headers=key_headers)).status_code == 200
    assert (await api.client.get("/api/auth/me", headers=user["headers"])).status_code == 200
    with statements(api.runtime) as seen:
        for headers in (key_headers, user["headers"]) * 3:
            assert (await api.client.get("/api/auth/me", headers=headers)).status_code == 200
    assert seen == []


async def test_a_deleted_key_is_refused_at_once_even_when_cached(api):
    user = await api.signup()
    created = (await api.client.post("/api/keys", headers=user["headers"], json={"name": "k"})).json()
    key_headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await api.client.get("/api/auth/me", headers=key_headers)).status_code == 200
    assert (await api.client.delete(f"/api/keys/{created['id']}", headers=user["headers"])).status_code == 204
    r = await api.client.get("/api/auth/me", headers=key_headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


async def test_key_deletion_and_disable_hold_at_once_on_another_worker(make_api, backend):
    """With Redis the second worker refuses at once; without it (SQLite, one process each) the
    database refuses once the short cache has expired, so only the shared case is checked."""
    one = await make_api()
    if backend == "sqlite":
        two = one
    else:
        two = await make_api()
    admin = await one.signup(admin=True)
    user = await one.signup()
    created = (await one.client.post("/api/keys", headers=user["headers"], json={"name": "k"})).json()
    key_headers = {"Authorization": f"Bearer {created['key']}"}
    other = (await one.client.post("/api/keys", headers=user["headers"], json={"name": "k2"})).json()
    other_headers = {"Authorization": f"Bearer {other['key']}"}
    for headers in (key_headers, other_headers):
        assert (await two.client.get("/api/auth/me", headers=headers)).status_code == 200  # cached on two
    assert (await one.client.delete(f"/api/keys/{created['id']}", headers=user["headers"])).status_code == 204
    assert (await two.client.get("/api/auth/me", headers=key_headers)).status_code == 401
    assert (await two.client.get("/api/auth/me", headers=other_headers)).status_code == 200
    assert (await one.client.post(f"/api/admin/users/{user['id']}/disable", headers=admin["headers"])).status_code == 200
    assert (await two.client.get("/api/auth/me", headers=other_headers)).status_code == 401
    assert (await one.client.post(f"/api/admin/users/{user['id']}/enable", headers=admin["headers"])).status_code == 200
    assert (await two.client.get("/api/auth/me", headers=other_headers)).status_code == 200
