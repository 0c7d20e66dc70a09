"""Issue 13 item 4: a provider key quoted in an upstream error never reaches the client."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from chatkiosk.app import create_app
from chatkiosk.llm._scrub import scrub_upstream_text

from ..conftest import Api
from ..fake_upstream import Reply
from .conftest import upstream_config

KEYS = ["kiosk-upstream-secret-774411", "sk-proj-Zq8XwV2mN4bL7cR1tY6uI3oP"]


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


@pytest.mark.parametrize("key", KEYS, ids=["plain", "openai-shaped"])
async def test_a_quoted_provider_key_is_scrubbed_from_the_502_and_the_stored_error(settings_factory, upstream, key):
    upstream.script(Reply.error(401, f"Incorrect API key provided: {key}. The key {key} has no access."))
    cfg = upstream_config(upstream, api_key=SecretStr(key))
    app = create_app(settings_factory(providers=[cfg], local_model=False))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver", timeout=30
    ) as client:
        api = Api(app, client)
        user = await api.signup()
        cid = (await client.post("/api/conversations", headers=user["headers"], json={})).json()["id"]
        r = await client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi"})
        assert r.status_code == 502, r.text
        assert upstream.chat_requests()[0].headers.get("authorization") == f"Bearer {key}"  # the key was sent…
        message = r.json()["error"]["message"]
        assert key not in r.text  # …and is not given back
        assert "HTTP 401" in message and "API key" in message and "[REDACTED]" in message
        stored = (await client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).json()["data"][0]
        assert stored["status"] == "error" and stored["error"]["code"] == "upstream_error"
        assert key not in str(stored)
        v1 = await client.post(
            "/v1/chat/completions", headers=user["headers"],
            json={"model": "assistant", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert v1.status_code == 502 and key not in v1.text
        streamed = await client.post(
            "/v1/chat/completions", headers=user["headers"],
            json={"model": "assistant", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert key not in streamed.text


def test_scrubbing_keeps_the_useful_part():
    text = scrub_upstream_text("Incorrect API key provided: abc123secret. See your dashboard.", ["abc123secret"])
    assert text == "Incorrect API key provided: [REDACTED]. See your dashboard."
    assert scrub_upstream_text("model 'gpt-4o-mini' does not exist") == "model 'gpt-4o-mini' does not exist"
    assert "sk-ant-api03-" not in scrub_upstream_text("invalid x-api-key sk-ant-api03-abcdefghijklmnopqrstuvwxyz")
