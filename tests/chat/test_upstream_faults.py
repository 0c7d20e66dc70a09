"""Upstream faults over the real OpenAI-compatible adapter and a real fake upstream (SECURITY 23–26)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from chatkiosk.app import create_app

from ..fake_upstream import Reply
from ..live import serve
from ..sse import iterate, parse
from .conftest import upstream_config


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


@pytest.fixture
async def make_upstream_api(settings_factory):
    """Apps whose providers are real OpenAI-compatible adapters pointed at fake upstreams."""
    from contextlib import AsyncExitStack

    from ..conftest import Api

    async with AsyncExitStack() as stack:

        async def make(configs, *, fallbacks=(), **settings):
            app = create_app(settings_factory(providers=list(configs), local_model=False, fallback_providers=list(fallbacks), **settings))
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30))
            return Api(app, client)

        yield make


async def _turn(api, user, cid, **body):
    return await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "hi", **body})


async def _new(api):
    user = await api.signup()
    cid = (await api.client.post("/api/conversations", headers=user["headers"], json={})).json()["id"]
    return user, cid


async def test_streamed_text_and_usage_over_http(make_upstream_api, upstream):
    upstream.queue(Reply(text="Hello from upstream", chunks=4, usage=(21, 5)))
    api = await make_upstream_api([upstream_config(upstream)])
    user, cid = await _new(api)
    events = parse((await _turn(api, user, cid, stream=True)).text)
    assert "".join(e.data["text"] for e in events if e.event == "delta") == "Hello from upstream"
    done = events[-1]
    assert done.event == "done" and done.data["usage"]["prompt_tokens"] == 21 and done.data["usage"]["completion_tokens"] == 5
    sent = upstream.chat_requests()[0].json
    assert sent["stream"] is True and sent["messages"][-1] == {"role": "user", "content": "hi"}


async def test_drop_mid_stream_stores_incomplete_with_usage(make_upstream_api, upstream):
    """SECURITY 23."""
    upstream.queue(Reply(text="partial answer that breaks", chunks=6, drop_after=3))
    api = await make_upstream_api([upstream_config(upstream, max_retries=2)])
    user, cid = await _new(api)
    events = parse((await _turn(api, user, cid, stream=True)).text)
    kinds = [e.event for e in events]
    assert "error" in kinds and kinds[-1] == "done"
    message = events[-1].data["message"]
    assert message["status"] == "incomplete" and message["content"]
    assert message["usage"]["total_tokens"] > 0
    # Nothing is retried once the first token went out (SECURITY 25, second half).
    assert len(upstream.chat_requests()) == 1


async def test_retry_before_first_token_then_success(make_upstream_api, upstream):
    """SECURITY 25: 429/5xx before the first token are retried."""
    upstream.queue(Reply.error(503), Reply.error(429), Reply(text="third time lucky"))
    api = await make_upstream_api([upstream_config(upstream, max_retries=2)])
    user, cid = await _new(api)
    r = await _turn(api, user, cid)
    assert r.status_code == 200 and r.json()["message"]["content"] == "third time lucky"
    assert len(upstream.chat_requests()) == 3


async def test_fallback_to_the_next_provider(make_upstream_api, upstream):
    from ..fake_upstream import FakeUpstream

    upstream.script(Reply.error(500))
    with FakeUpstream() as second:
        second.queue(Reply(text="from the fallback"))
        api = await make_upstream_api(
            [upstream_config(upstream, max_retries=1), upstream_config(second, name="backup")], fallbacks=["backup"]
        )
        user, cid = await _new(api)
        r = await _turn(api, user, cid)
        assert r.status_code == 200 and r.json()["message"]["content"] == "from the fallback"
        assert len(upstream.chat_requests()) == 2 and len(second.chat_requests()) == 1


async def test_exhausted_retries_are_502(make_upstream_api, upstream):
    upstream.script(Reply.error(503))
    api = await make_upstream_api([upstream_config(upstream, max_retries=1)])
    user, cid = await _new(api)
    r = await _turn(api, user, cid)
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"
    assert len(upstream.chat_requests()) == 2


async def test_connect_failure_is_502_or_504(make_upstream_api, upstream):
    from chatkiosk.llm.config import ProviderConfig

    dead = ProviderConfig(name="dead", kind="openai", base_url="http://127.0.0.1:9/v1", model="m", max_retries=1, connect_timeout=0.5)
    api = await make_upstream_api([dead])
    user, cid = await _new(api)
    start = time.monotonic()
    r = await _turn(api, user, cid)
    assert r.status_code in (502, 504)
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("reply", [Reply(hang=True), Reply(hang_after=2), Reply(text="slow " * 50, trickle=0.05)], ids=["hang", "hang-after", "trickle"])
async def test_hung_and_trickling_upstreams_end_at_the_deadline(make_upstream_api, upstream, reply):
    """SECURITY 26."""
    upstream.script(reply)
    api = await make_upstream_api([upstream_config(upstream, first_token_timeout=1, total_timeout=2)])
    user, cid = await _new(api)
    start = time.monotonic()
    events = parse((await _turn(api, user, cid, stream=True)).text)
    elapsed = time.monotonic() - start
    assert 0.8 < elapsed < 5, elapsed
    assert any(e.event == "error" for e in events)
    assert events[-1].data["message"]["status"] in ("error", "incomplete")
    await asyncio.sleep(0.1)
    assert api.runtime.chat.generations.active() == 0
    assert await upstream.chat_requests()[0].wait_cancelled_async(2)


async def test_client_disconnect_cancels_the_upstream_within_two_seconds(settings_factory, upstream):
    """SECURITY 24, over a real server socket."""
    upstream.script(Reply(text="word " * 200, chunks=200, delay=0.05))
    app = create_app(settings_factory(providers=[upstream_config(upstream, total_timeout=60)], local_model=False, max_streams_per_user=1))
    with serve(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await client.post("/api/auth/register", json={"username": "leaver", "password": "correct-horse-battery"})
            token = (await client.post("/api/auth/login", json={"username": "leaver", "password": "correct-horse-battery"})).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            cid = (await client.post("/api/conversations", headers=headers, json={})).json()["id"]
            async with client.stream("POST", f"/api/conversations/{cid}/messages", headers=headers, json={"content": "hi", "stream": True}) as r:
                async for event in iterate(r.aiter_lines()):
                    if event.event == "delta":
                        break
            left_at = time.monotonic()
            received = upstream.chat_requests()[0]
            assert await received.wait_cancelled_async(2.5)
            assert received.cancelled_at - left_at < 2.0
            status = None
            for _ in range(50):
                history = (await client.get(f"/api/conversations/{cid}/messages", headers=headers)).json()["data"]
                status = history[0]["status"]
                if status != "streaming":
                    break
                await asyncio.sleep(0.05)
            assert status == "cancelled"
            upstream.script(Reply(text="fresh"))
            r = await client.post(f"/api/conversations/{cid}/messages", headers=headers, json={"content": "again"})
            assert r.status_code == 200, r.text  # the stream slot was freed
