"""Bad input never makes a 500 (SECURITY 18), and unknown routes answer in the error shape."""

from __future__ import annotations

import pytest

BODIES = [
    ("missing", None, None),
    ("not json", b"{not json", "application/json"),
    ("array", b"[1, 2]", "application/json"),
    ("string", b'"text"', "application/json"),
    ("wrong types", b'{"username": 5, "password": ["x"], "title": {}, "name": 1, "metadata": "x", "refresh_token": 7}', "application/json"),
    ("nulls", b'{"username": null, "password": null, "title": null}', "application/json"),
    ("form", b"username=a&password=b", "application/x-www-form-urlencoded"),
    ("deep", b"[" * 5000 + b"]" * 5000, "application/json"),
    ("unicode", '{"username": "\udcff", "title": "\u0000"}'.encode("utf-8", "surrogatepass"), "application/json"),
]

ROUTES = [
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/password"),
    ("PATCH", "/api/auth/me"),
    ("POST", "/api/keys"),
    ("POST", "/api/conversations"),
    ("PATCH", "/api/conversations/{conv}"),
]


@pytest.mark.parametrize("label,body,ctype", BODIES, ids=[b[0] for b in BODIES])
async def test_bad_bodies_are_4xx_on_every_route(api, label, body, ctype):
    user = await api.signup()
    conv = (await api.client.post("/api/conversations", headers=user["headers"], json={})).json()
    for method, path in ROUTES:
        headers = dict(user["headers"])
        if ctype:
            headers["Content-Type"] = ctype
        r = await api.client.request(method, path.format(conv=conv["id"]), content=body, headers=headers)
        assert 400 <= r.status_code < 500, (method, path, label, r.status_code, r.text)
        assert set(r.json()["error"]) == {"type", "code", "message", "param"}
    assert (await api.client.get("/health")).status_code == 200


async def test_huge_bodies_are_413(api):
    user = await api.signup()
    big = b'{"title": "' + b"x" * 2_000_000 + b'"}'
    for method, path in ROUTES:
        r = await api.client.request(method, path.replace("{conv}", "conv_x"), content=big, headers={**user["headers"], "Content-Type": "application/json"})
        assert r.status_code == 413, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "payload_too_large"


async def test_huge_body_without_content_length_is_413(api):
    user = await api.signup()

    async def chunks():
        for _ in range(30):
            yield b"x" * 100_000

    r = await api.client.post("/api/conversations", content=chunks(), headers={**user["headers"], "Content-Type": "application/json"})
    assert r.status_code == 413


async def test_unknown_route_and_method_use_the_error_shape(api):
    user = await api.signup()
    r = await api.client.get("/api/does-not-exist", headers=user["headers"])
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = await api.client.put("/api/conversations", headers=user["headers"])
    assert r.status_code == 405 and "error" in r.json()
    assert (await api.client.get("/nowhere")).json()["error"]["code"] == "not_found"


async def test_too_long_strings_are_422(api):
    user = await api.signup()
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"title": "x" * 201})
    assert r.status_code == 422 and r.json()["error"]["param"] == "title"
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"metadata": {str(i): i for i in range(50)}})
    assert r.status_code == 422
