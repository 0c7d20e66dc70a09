"""Accounts and sessions (SPEC 3; SECURITY 1–10)."""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time

import jwt
import pytest
from sqlalchemy import select

from chatkiosk.store.tables import User

from ..conftest import PASSWORD


async def test_register_login_me(api):
    r = await api.client.post("/api/auth/register", json={"username": "alice", "password": PASSWORD, "email": "a@example.com"})
    assert r.status_code == 201
    body = r.json()
    assert body["username"] == "alice" and body["role"] == "user" and body["id"].startswith("user_")
    assert "password" not in json.dumps(body) and "hash" not in json.dumps(body)
    r = await api.client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 200
    tokens = r.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert set(me.json()) == {"id", "username", "email", "role", "created_at"}


async def test_register_conflict_and_weak_passwords(api):
    await api.signup("bob")
    r = await api.client.post("/api/auth/register", json={"username": "BOB", "password": PASSWORD})
    assert r.status_code == 409
    for weak in ("short", "password123", "aaaaaaaaaaaa"):
        r = await api.client.post("/api/auth/register", json={"username": "carol", "password": weak})
        assert r.status_code == 422, weak
        assert r.json()["error"]["param"] == "password"


async def test_password_hash_is_argon2id_at_owasp_minimum(api):
    """SECURITY 2."""
    await api.signup("hashy")
    async with api.runtime.db.read() as session:
        stored = (await session.execute(select(User.password_hash).where(User.username == "hashy"))).scalar_one()
    assert stored.startswith("$argon2id$")
    params = dict(part.split("=") for part in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2 and int(params["p"]) >= 1


async def _timed(api, body) -> tuple[int, str, float]:
    start = time.perf_counter()
    r = await api.client.post("/api/auth/login", json=body)
    return r.status_code, r.text, time.perf_counter() - start


async def test_unknown_user_and_wrong_password_look_the_same(api):
    """SECURITY 1: same status, same body, and within ±20% of the same time."""
    await api.signup("known")
    unknown, wrong = [], []
    for i in range(8):
        # Different names each time so the throttle never kicks in.
        await api.signup(f"known{i}")
        s1, b1, t1 = await _timed(api, {"username": f"ghost{i}", "password": "whatever-pass"})
        s2, b2, t2 = await _timed(api, {"username": f"known{i}", "password": "whatever-pass"})
        assert (s1, b1) == (s2, b2)
        assert s1 == 401
        unknown.append(t1)
        wrong.append(t2)
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.8 <= ratio <= 1.2, ratio


async def test_register_taken_name_answers_in_the_same_time(api):
    await api.signup("taken")
    fresh, taken = [], []
    for i in range(6):
        start = time.perf_counter()
        r1 = await api.client.post("/api/auth/register", json={"username": f"fresh{i}", "password": PASSWORD})
        fresh.append(time.perf_counter() - start)
        start = time.perf_counter()
        r2 = await api.client.post("/api/auth/register", json={"username": "taken", "password": PASSWORD})
        taken.append(time.perf_counter() - start)
        assert (r1.status_code, r2.status_code) == (201, 409)
    assert 0.8 <= statistics.median(fresh) / statistics.median(taken) <= 1.25


def _forge(payload: dict, key: str = "x", alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_bad_jwts_are_401(api):
    """SECURITY 3: alg=none, other algorithm, bad signature, expired, missing jti."""
    user = await api.signup()
    good = jwt.decode(user["access_token"], options={"verify_signature": False})
    secret = api.runtime.settings.jwt_secret()
    now = int(time.time())
    no_jti = {k: v for k, v in good.items() if k != "jti"}
    tokens = {
        "none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(good) + ".",
        "hs512": _forge(good, secret, "HS512"),
        "bad signature": _forge(good, "not-the-server-secret-but-long-enough-for-hs256"),
        "expired": _forge({**good, "iat": now - 100, "exp": now - 10}, secret),
        "missing jti": _forge(no_jti, secret),
        "wrong issuer": _forge({**good, "iss": "elsewhere"}, secret),
    }
    for label, token in tokens.items():
        r = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, label
        assert r.json()["error"]["type"] == "authentication_error"


async def test_token_types_are_not_interchangeable(api):
    """SECURITY 4."""
    user = await api.signup()
    r = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {user['refresh_token']}"})
    assert r.status_code == 401
    r = await api.client.post("/api/auth/refresh", json={"refresh_token": user["access_token"]})
    assert r.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_login(api):
    """SECURITY 5."""
    user = await api.signup()
    first = await api.client.post("/api/auth/refresh", json={"refresh_token": user["refresh_token"]})
    assert first.status_code == 200
    new = first.json()
    assert (await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {new['access_token']}"})).status_code == 200
    replay = await api.client.post("/api/auth/refresh", json={"refresh_token": user["refresh_token"]})
    assert replay.status_code == 401
    # The whole login is gone: the pair issued by the first refresh no longer works.
    assert (await api.client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})).status_code == 401
    assert (await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {new['access_token']}"})).status_code == 401


async def test_concurrent_refreshes_with_one_token_issue_at_most_one_pair(api):
    user = await api.signup()
    results = await asyncio.gather(
        *(api.client.post("/api/auth/refresh", json={"refresh_token": user["refresh_token"]}) for _ in range(4))
    )
    assert sum(r.status_code == 200 for r in results) <= 1


async def test_logout_ends_the_login_at_once(api):
    """SECURITY 6 (logout)."""
    user = await api.signup()
    r = await api.client.post("/api/auth/logout", headers=user["headers"])
    assert r.status_code == 204
    assert (await api.client.get("/api/auth/me", headers=user["headers"])).status_code == 401
    assert (await api.client.post("/api/auth/refresh", json={"refresh_token": user["refresh_token"]})).status_code == 401


async def test_logout_holds_across_app_instances(make_api, backend):
    """Two workers: a logout on one is seen by the other (Redis), or after a restart (SQLite)."""
    one = await make_api()
    user = await one.signup()
    two = await make_api()
    assert (await two.client.get("/api/auth/me", headers=user["headers"])).status_code == 200
    assert (await one.client.post("/api/auth/logout", headers=user["headers"])).status_code == 204
    if backend == "sqlite":
        two = await make_api()  # in-process list: a restarted worker reloads revocations
    assert (await two.client.get("/api/auth/me", headers=user["headers"])).status_code == 401


async def test_password_change_ends_every_login(api):
    """SECURITY 6 (password change)."""
    user = await api.signup()
    other = await api.client.post("/api/auth/login", json={"username": user["username"], "password": PASSWORD})
    other_headers = {"Authorization": f"Bearer {other.json()['access_token']}"}
    r = await api.client.post(
        "/api/auth/password", headers=user["headers"], json={"current_password": PASSWORD, "new_password": "brand-new-secret-1"}
    )
    assert r.status_code == 204
    for headers in (user["headers"], other_headers):
        assert (await api.client.get("/api/auth/me", headers=headers)).status_code == 401
    r = await api.client.post("/api/auth/login", json={"username": user["username"], "password": "brand-new-secret-1"})
    assert r.status_code == 200


async def test_disabling_an_account_ends_tokens_and_api_keys(api):
    """SECURITY 6 (account disable)."""
    admin = await api.signup(admin=True)
    user = await api.signup()
    key = (await api.client.post("/api/keys", headers=user["headers"], json={"name": "k"})).json()["key"]
    key_headers = {"Authorization": f"Bearer {key}"}
    assert (await api.client.get("/api/auth/me", headers=key_headers)).status_code == 200
    r = await api.client.post(f"/api/admin/users/{user['id']}/disable", headers=admin["headers"])
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert (await api.client.get("/api/auth/me", headers=user["headers"])).status_code == 401
    assert (await api.client.get("/api/auth/me", headers=key_headers)).status_code == 401
    r = await api.client.post("/api/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert r.status_code == 401


async def test_failed_logins_throttle_only_that_account(make_api):
    """SECURITY 7."""
    api = await make_api(login_max_failures=3, login_lockout=1)
    victim = await api.signup("victim")
    bystander = await api.signup("bystander")
    for _ in range(3):
        r = await api.client.post("/api/auth/login", json={"username": "victim", "password": "wrong-password"})
        assert r.status_code == 401
    r = await api.client.post("/api/auth/login", json={"username": "victim", "password": victim["password"]})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["type"] == "rate_limit_error"
    r = await api.client.post("/api/auth/login", json={"username": "bystander", "password": bystander["password"]})
    assert r.status_code == 200
    await asyncio.sleep(1.2)
    r = await api.client.post("/api/auth/login", json={"username": "victim", "password": victim["password"]})
    assert r.status_code == 200


async def test_users_cannot_raise_their_own_rights(api):
    """SECURITY 8: role, id, quota and password hash are not settable by the user."""
    user = await api.signup()
    for field, value in (("role", "admin"), ("id", "user_x"), ("password_hash", "$argon2id$x"), ("quota", 10**9), ("disabled", False)):
        r = await api.client.patch("/api/auth/me", headers=user["headers"], json={field: value})
        assert r.status_code == 422, field
    r = await api.client.post("/api/auth/register", json={"username": "sneaky", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 422
    me = await api.client.get("/api/auth/me", headers=user["headers"])
    assert me.json()["role"] == "user" and me.json()["id"] == user["id"]
    r = await api.client.patch("/api/auth/me", headers=user["headers"], json={"email": "new@example.com"})
    assert r.status_code == 200 and r.json()["email"] == "new@example.com"


async def test_single_login_revokes_the_older_login(make_api):
    """SECURITY 10 (REST part; the WebSocket kick is tested with the socket)."""
    api = await make_api(single_login=True)
    first = await api.signup()
    second = await api.client.post("/api/auth/login", json={"username": first["username"], "password": PASSWORD})
    assert second.status_code == 200
    assert (await api.client.get("/api/auth/me", headers=first["headers"])).status_code == 401
    assert (await api.client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})).status_code == 401
    headers = {"Authorization": f"Bearer {second.json()['access_token']}"}
    assert (await api.client.get("/api/auth/me", headers=headers)).status_code == 200


async def test_max_sessions_revokes_the_oldest(make_api):
    api = await make_api(max_sessions_per_user=2)
    user = await api.signup()
    for _ in range(2):
        await api.client.post("/api/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert (await api.client.get("/api/auth/me", headers=user["headers"])).status_code == 401


async def test_sessions_list_and_revoke(api):
    user = await api.signup()
    other = (await api.client.post("/api/auth/login", json={"username": user["username"], "password": PASSWORD})).json()
    r = await api.client.get("/api/auth/sessions", headers=user["headers"])
    assert r.status_code == 200
    sessions = r.json()["data"]
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    target = next(s for s in sessions if not s["current"])
    assert (await api.client.delete(f"/api/auth/sessions/{target['id']}", headers=user["headers"])).status_code == 204
    assert (await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {other['access_token']}"})).status_code == 401
    assert (await api.client.delete(f"/api/auth/sessions/{target['id']}", headers=user["headers"])).status_code == 404


async def test_api_keys_shown_once_and_stored_hashed(api):
    user = await api.signup()
    r = await api.client.post("/api/keys", headers=user["headers"], json={"name": "laptop"})
    assert r.status_code == 201
    created = r.json()
    assert created["key"].startswith("ck-")
    listed = (await api.client.get("/api/keys", headers=user["headers"])).json()["data"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert created["key"] not in json.dumps(listed)
    from chatkiosk.store.tables import ApiKey

    async with api.runtime.db.read() as session:
        stored = (await session.execute(select(ApiKey.key_hash))).scalars().all()
    assert created["key"] not in stored
    key_headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await api.client.get("/api/auth/me", headers=key_headers)).json()["id"] == user["id"]
    assert (await api.client.delete(f"/api/keys/{created['id']}", headers=user["headers"])).status_code == 204
    assert (await api.client.get("/api/auth/me", headers=key_headers)).status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/api/conversations", "/API/conversations", "/api/Conversations", "/api/%63onversations", "/api/auth/me",
     "/api/keys", "/api/auth/sessions", "/api/admin/users", "/metrics", "/api/nowhere", "/v1/models"],
)
async def test_protected_paths_need_credentials(api, path):
    """SECURITY 9: including case-varied and URL-encoded paths and spoofed identity headers."""
    spoofed = {"X-User-Id": "user_admin", "X-Forwarded-User": "admin", "X-Remote-User": "admin", "Cookie": "user=admin"}
    r = await api.client.get(path, headers=spoofed)
    assert r.status_code == 401, (path, r.status_code)
    assert r.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    "header",
    ["' OR '1'='1", "Bearer ' OR '1'='1", "Bearer ck-' OR '1'='1' --aaaaaaaaaaaa", "Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer a.b.c", "Bearer " + "x" * 5000],
)
async def test_hostile_authorization_headers_are_401(api, header):
    """SECURITY 19."""
    r = await api.client.get("/api/conversations", headers={"Authorization": header})
    assert r.status_code == 401
    assert (await api.client.get("/ready")).json()["checks"]["database"] == "ok"


async def test_admin_routes_are_403_for_users_on_every_method(api):
    """SECURITY 16 (admin part)."""
    user = await api.signup()
    for method, path in (
        ("GET", "/api/admin/users"),
        ("POST", f"/api/admin/users/{user['id']}/disable"),
        ("POST", f"/api/admin/users/{user['id']}/enable"),
        ("GET", "/metrics"),
    ):
        r = await api.client.request(method, path, headers=user["headers"])
        assert r.status_code == 403, (method, path)
