"""Issue 13 item 15: what schemathesis found, one test each — the schema and the server agree."""

from __future__ import annotations

import pytest

from chatkiosk.llm.fake import ScriptedProvider


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


async def test_405_lists_every_method_of_the_path_in_allow(api):
    user = await api.signup()
    for method, path, allowed in [
        ("PUT", "/api/conversations", "GET, POST"),
        ("OPTIONS", "/api/auth/me", "GET, PATCH"),
        ("POST", "/api/conversations/conv_x", "GET, PATCH, DELETE"),
        ("POST", "/static/app.js", "GET, HEAD"),
    ]:
        r = await api.client.request(method, path, headers=user["headers"])
        assert r.status_code == 405, (method, path, r.status_code)
        assert r.headers["allow"] == allowed, (path, r.headers.get("allow"))
        assert r.json()["error"]["code"] == "method_not_allowed"


async def test_a_test_domain_email_registers(api):
    r = await api.client.post("/api/auth/register", json={"username": "tester", "password": "correct-horse-battery", "email": "qa@staging.test"})
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "qa@staging.test"
    r = await api.client.post("/api/auth/register", json={"username": "tester2", "password": "correct-horse-battery", "email": "not-an-address"})
    assert r.status_code == 422 and r.json()["error"]["param"] == "email"


async def test_metadata_bound_is_documented_and_held(api):
    user = await api.signup()
    spec = (await api.client.get("/openapi.json")).json()
    metadata = spec["components"]["schemas"]["ConversationCreate"]["properties"]["metadata"]
    assert metadata["maxProperties"] == 16 and metadata["propertyNames"] == {"maxLength": 64}
    sixteen = {f"k{i}": i for i in range(16)}
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"metadata": sixteen})
    assert r.status_code == 201 and r.json()["metadata"] == sixteen
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"metadata": {**sixteen, "k16": 16}})
    assert r.status_code == 422 and r.json()["error"]["param"] == "metadata"


async def test_agents_are_an_enum_and_an_unknown_one_is_a_documented_422(api):
    user = await api.signup()
    spec = (await api.client.get("/openapi.json")).json()
    create = spec["paths"]["/api/conversations"]["post"]
    agent = spec["components"]["schemas"]["ConversationCreate"]["properties"]["agent"]
    assert set(agent["enum"]) == api.runtime.agent_names()
    assert "422" in create["responses"] and create["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "hal9000"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_agent"


async def test_numbers_and_booleans_are_strict(make_api):
    api = await make_api(providers={"s": ScriptedProvider(["ok", "ok"])})
    user = await api.signup()
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={})).json()["id"]
    for options in ({"top_p": True}, {"temperature": "0.5"}, {"max_tokens": "5"}, {"max_tokens": False}):
        r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", "options": options})
        assert r.status_code == 422, (options, r.text)
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", "stream": "yes"})
    assert r.status_code == 422
    body = {"model": "assistant", "messages": [{"role": "user", "content": "hi"}]}
    for extra in ({"top_p": True}, {"stream": 1}, {"max_tokens": "9"}):
        r = await api.client.post("/v1/chat/completions", headers=user["headers"], json={**body, **extra})
        assert r.status_code == 400, (extra, r.text)
    # An integral number is an integer, as JSON Schema says.
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", "options": {"max_tokens": 5.0, "top_p": 1}})
    assert r.status_code == 200, r.text


async def test_every_error_a_route_answers_is_documented(api):
    spec = (await api.client.get("/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert "400" in codes, (method, path)
            if (method, path) not in {("get", "/health"), ("get", "/ready"), ("post", "/api/auth/register"), ("post", "/api/auth/login"), ("post", "/api/auth/refresh")}:
                assert "401" in codes, (method, path)
            if path.startswith("/api/admin/") or path == "/metrics":
                assert "403" in codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method in ("post", "patch", "put", "delete"):
                assert "413" in codes, (method, path)
            if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert "422" in codes, (method, path)
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)


async def test_event_streams_are_described_event_by_event(api):
    spec = (await api.client.get("/openapi.json")).json()
    for path, method in [("/api/conversations/{conversation_id}/messages", "post"), ("/api/conversations/{conversation_id}/events", "get"), ("/v1/chat/completions", "post")]:
        stream = spec["paths"][path][method]["responses"]["200"]["content"]["text/event-stream"]["schema"]
        assert stream["type"] == "object" and stream["required"] == ["data"], path
        assert "data" in stream["properties"]
    assert "$defs" not in str(spec["paths"])  # every reference resolves in components
