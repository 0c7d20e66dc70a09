"""Issue 13, items 6, 7 and 16: throttled password changes, lockouts that are no weapon,
reserved usernames. On SQLite (in-process counters) and PostgreSQL + Redis (shared counters)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chatkiosk.auth.usernames import is_reserved
from tests.conftest import PASSWORD


def client_at(api, address: str) -> httpx.AsyncClient:
    """A client of the same app that connects from `address`."""
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"username": username, "password": password})


# --- item 16: reserved usernames


@pytest.mark.parametrize("name", ["admin", "Admin", "ROOT", "system", "administrator", "support", "ad.min", "root_1", "Sys-Admin", "helpdesk"])
async def test_reserved_usernames_cannot_be_registered(api, name):
    r = await api.client.post("/api/auth/register", json={"username": name, "password": PASSWORD})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "reserved_username" and r.json()["error"]["param"] == "username"


async def test_ordinary_names_that_contain_a_reserved_word_are_fine(api):
    for name in ("rooted-tree", "adminton", "supporter", "alice"):
        r = await api.client.post("/api/auth/register", json={"username": name, "password": PASSWORD})
        assert r.status_code == 201, (name, r.text)
    assert not is_reserved("demo")


async def test_the_shared_rule_also_holds_for_direct_registration(api):
    """`chatkiosk user add` registers through Accounts.register: the same rule applies there."""
    from chatkiosk.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        await api.runtime.accounts.register("Administrator", PASSWORD, None, role="admin")
    assert info.value.code == "reserved_username"
    with pytest.raises(ValidationFailed):
        await api.runtime.accounts.register("bad name!", PASSWORD, None)


# --- item 6: the current password of a password change is throttled


async def test_wrong_current_passwords_are_throttled(make_api):
    api = await make_api(login_max_failures=3, login_lockout=30)
    user = await api.signup()
    body = {"current_password": "not-my-password", "new_password": "brand-new-secret-1"}
    for _ in range(3):
        r = await api.client.post("/api/auth/password", headers=user["headers"], json=body)
        assert r.status_code == 401
    r = await api.client.post(
        "/api/auth/password", headers=user["headers"], json={"current_password": PASSWORD, "new_password": "brand-new-secret-1"}
    )
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "password_throttled" and int(r.headers["Retry-After"]) >= 1
    # The password did not change: the old one still signs in.
    assert (await login(api.client, user["username"], PASSWORD)).status_code == 200


# --- item 7: lockout as a weapon


async def test_an_attacker_cannot_lock_the_owner_out(make_api):
    api = await make_api(login_max_failures=3, login_lockout=30)
    owner = await api.signup("owner-7")
    async with client_at(api, "203.0.113.66") as attacker, client_at(api, "198.51.100.7") as home:
        for _ in range(3):
            assert (await login(attacker, "owner-7", "wrong-password")).status_code == 401
        r = await login(attacker, "owner-7", owner["password"])
        assert r.status_code == 429 and r.json()["error"]["code"] == "login_throttled"
        # The owner, from an address that has not been failing, gets in at once.
        assert (await login(home, "owner-7", owner["password"])).status_code == 200


async def test_repeated_lockouts_of_one_address_grow(make_api):
    api = await make_api(login_max_failures=2, login_lockout=1)
    await api.signup("slowed")
    async with client_at(api, "203.0.113.9") as attacker:
        for _ in range(2):
            assert (await login(attacker, "slowed", "wrong-password")).status_code == 401
        first = await login(attacker, "slowed", "wrong-password")
        assert first.status_code == 429 and int(first.headers["Retry-After"]) == 1
        await asyncio.sleep(1.2)
        for _ in range(2):
            assert (await login(attacker, "slowed", "wrong-password")).status_code == 401
        second = await login(attacker, "slowed", "wrong-password")
        assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 2


async def test_guessing_from_many_addresses_gets_one_try_per_address(make_api):
    api = await make_api(login_max_failures=2, login_lockout=30)
    owner = await api.signup("spread")
    # 2 × 4 failures from many addresses put the account under attack...
    for i in range(8):
        async with client_at(api, f"192.0.2.{i + 1}") as bot:
            assert (await login(bot, "spread", "wrong-password")).status_code == 401
    # ...then every address that has failed is refused, even with the right password,
    async with client_at(api, "192.0.2.1") as bot:
        assert (await login(bot, "spread", owner["password"])).status_code == 429
    # and a fresh address still gets its answer: the owner signs in.
    async with client_at(api, "198.51.100.20") as home:
        assert (await login(home, "spread", owner["password"])).status_code == 200
