"""Issue 13 item 13: no redirect is built from the client's Host; an allowed-host list."""

from __future__ import annotations

import pytest

from chatkiosk.api.hosts import host_allowed, host_name, relative_location


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


async def test_trailing_slash_redirect_never_names_the_clients_host(api):
    user = await api.signup()
    headers = {**user["headers"], "Host": "evil.example"}
    r = await api.client.get("/api/conversations/?limit=5", headers=headers)
    assert r.status_code == 307
    location = r.headers["location"]
    assert "evil.example" not in location
    assert location == "/api/conversations?limit=5"
    followed = await api.client.get(location, headers=user["headers"])
    assert followed.status_code == 200


async def test_a_host_off_the_allowed_list_is_refused(make_api):
    api = await make_api(allowed_hosts=["kiosk.example.com", "*.kiosk.test"])
    r = await api.client.get("/health", headers={"Host": "evil.example"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_host"
    for host in ("kiosk.example.com", "KIOSK.example.com:8443", "eu.kiosk.test"):
        assert (await api.client.get("/health", headers={"Host": host})).status_code == 200, host
    r = await api.client.get("/api/conversations/", headers={"Host": "kiosk.example.com"})
    assert r.status_code in (307, 401) and "kiosk.example.com" not in r.headers.get("location", "")


def test_host_matching():
    assert host_name("Example.COM:8000") == "example.com"
    assert host_name("[::1]:8000") == "[::1]"
    assert host_allowed("a.example.com", ["*.example.com"]) and not host_allowed("example.com", ["*.example.com"])
    assert not host_allowed("badexample.com", ["*.example.com"])
    assert relative_location("http://evil.example//x.test/a?b=1", "evil.example") == "/x.test/a?b=1"
    assert relative_location("https://other.example/a", "evil.example") == "https://other.example/a"
