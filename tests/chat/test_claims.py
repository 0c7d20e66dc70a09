"""One answer at a time per conversation across workers (chat/claims.py), on real Redis.

The claim itself (taken once, released by its owner only, refreshed while held, expired when
its worker is gone), then two workers (two apps on one PostgreSQL and one Redis) meeting the
same rules a single worker applies: a second turn while one answers is 409; one sent the
moment the first's `done` arrived waits for its final write; a bound `/v1` call waits its turn.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from chatkiosk.chat.claims import Claims
from chatkiosk.llm.fake import ScriptedProvider, delay

from ..conftest import PASSWORD, REDIS_URL, require_service
from ..live import live_servers
from ..sse import parse

two_workers = pytest.mark.parametrize("backend", ["postgres"])  # workers share claims through Redis


@pytest.fixture
async def redis():
    require_service("Redis", "127.0.0.1", 6379)
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def _prefix() -> str:
    return f"cktest:{uuid.uuid4().hex[:8]}"


async def test_a_claim_has_one_owner_and_only_the_owner_releases_it(redis):
    one, two = Claims(redis, prefix := _prefix()), Claims(redis, prefix)
    await two.start()
    try:
        token = await one.take("conv_a", settle=0)
        assert token is not None
        assert await two.take("conv_a", settle=0) is None
        assert await two.state("conv_a") == "answering"
        await two.release("conv_a", "not-the-owner")
        assert await two.state("conv_a") == "answering"
        assert await one.take("conv_b", settle=0) is not None  # another conversation is free
        waiting = asyncio.create_task(two.wait_released("conv_a", 10))
        await one.release("conv_a", token)
        assert await waiting is True
        assert await two.take("conv_a", settle=0) is not None
    finally:
        await two.close()


async def test_a_claim_being_stored_is_waited_for_and_one_answering_is_not(redis):
    one, two = Claims(redis, prefix := _prefix()), Claims(redis, prefix)
    await two.start()
    try:
        token = await one.take("conv_a", settle=0)
        assert token is not None
        assert await two.take("conv_a", settle=10) is None  # answering: refused at once, as on one worker
        await one.storing("conv_a", token)
        assert await two.state("conv_a") == "storing"
        taking = asyncio.create_task(two.take("conv_a", settle=10))
        await asyncio.sleep(0.05)
        assert not taking.done()
        await one.release("conv_a", token)
        assert await taking is not None
    finally:
        await two.close()


async def test_a_dead_workers_claim_expires(redis):
    dead = Claims(redis, prefix := _prefix(), ttl=0.3)  # never started: nothing refreshes its claims
    alive = Claims(redis, prefix)
    await alive.start()
    try:
        assert await dead.take("conv_a", settle=0) is not None
        assert await alive.take("conv_a", settle=0) is None
        assert await alive.wait_released("conv_a", 10) is True  # no release was announced: found by polling
        assert await alive.take("conv_a", settle=0) is not None
    finally:
        await alive.close()


async def test_a_live_workers_claim_is_refreshed_past_its_ttl(redis):
    holder = Claims(redis, prefix := _prefix(), ttl=0.5, refresh=0.1)
    other = Claims(redis, prefix)
    await holder.start()
    try:
        assert await holder.take("conv_a", settle=0) is not None
        await asyncio.sleep(1.5)  # three TTLs
        assert await other.state("conv_a") == "answering"
        assert await other.take("conv_a", settle=0) is None
    finally:
        await holder.close()


# --- two workers


async def _conv(api, user):
    r = await api.client.post("/api/conversations", headers=user["headers"], json={"agent": "assistant"})
    return r.json()["id"]


async def _until_answering(api, cid, user_id):
    for _ in range(250):
        generation = api.runtime.chat.generations.get(cid, user_id)
        if generation is not None and not generation.finished and len(generation.events) >= 2:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the first answer did not start")


@two_workers
async def test_a_second_turn_on_another_worker_while_one_answers_is_409(make_api):
    one = await make_api(providers={"s": ScriptedProvider([["first ", delay(2), "answer"]])})
    two = await make_api(providers={"s": ScriptedProvider([["never"]])})
    user = await one.signup()
    cid = await _conv(one, user)
    first = asyncio.create_task(one.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "1"}))
    await _until_answering(one, cid, user["id"])
    r = await two.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "2"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "generation_in_progress"
    assert (await first).json()["message"]["content"] == "first answer"
    r = await two.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "3"})
    assert r.status_code == 200, r.text  # the claim went with the first answer
    history = (await two.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).json()["data"]
    assert [m["content"] for m in reversed(history)] == ["1", "first answer", "3", "never"]


@two_workers
def test_a_turn_sent_to_another_worker_the_moment_done_arrives_is_answered(settings_factory):
    """The client reads `done` from one worker (a real server: the frame arrives as it is sent)
    and at once reads the history and sends its next turn to the other: the first answer's final
    write is waited for there, as on one worker — stored in the history, and never a 409."""
    rounds = 5
    with live_servers(settings_factory) as start:
        one = start(providers={"s": ScriptedProvider([["a", "b"] for _ in range(2 * rounds)])})
        two = start(providers={"s": ScriptedProvider([["c"] for _ in range(rounds)])})
        name = f"u{uuid.uuid4().hex[:8]}"
        assert one.http.post("/api/auth/register", json={"username": name, "password": PASSWORD}).status_code == 201
        token = one.http.post("/api/auth/login", json={"username": name, "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        cid = one.http.post("/api/conversations", headers=headers, json={"agent": "assistant"}).json()["id"]
        for i in range(2 * rounds):  # even rounds send the next turn at once, odd ones read the history at once
            with one.http.stream("POST", f"/api/conversations/{cid}/messages", headers=headers,
                                 json={"content": f"q{i}", "stream": True}) as streamed:
                for line in streamed.iter_lines():
                    if line == "event: done":
                        break
                if i % 2:
                    history = two.http.get(f"/api/conversations/{cid}/messages", headers=headers).json()["data"]
                    assert (history[0]["content"], history[0]["status"]) == ("ab", "complete")
                    continue
                r = two.http.post(f"/api/conversations/{cid}/messages", headers=headers, json={"content": f"r{i}"})
            assert r.status_code == 200, r.text


@two_workers
async def test_a_bound_v1_call_on_another_worker_waits_its_turn(make_api):
    """Issue 18 item 4 across workers: the call waits for the answer in flight on the other worker
    and runs on the history it left; past `openai_binding_wait` it is 409."""
    one = await make_api(providers={"s": ScriptedProvider([["slow ", delay(0.5), "one"], ["long ", delay(5), "one"]])})
    two = await make_api(providers={"s": ScriptedProvider([["second"]])}, openai_binding_wait=3)
    user = await one.signup()
    cid = await _conv(one, user)
    call = {"model": "assistant", "messages": [{"role": "user", "content": "next"}]}
    headers = {**user["headers"], "X-Conversation-Id": cid}
    first = asyncio.create_task(one.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "1"}))
    await _until_answering(one, cid, user["id"])
    r = await two.client.post("/v1/chat/completions", headers=headers, json=call)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "second"
    assert (await first).status_code == 200
    history = (await two.client.get(f"/api/conversations/{cid}/messages", headers=user["headers"])).json()["data"]
    assert [m["content"] for m in reversed(history)] == ["1", "slow one", "next", "second"]

    long = asyncio.create_task(one.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "2"}))
    await _until_answering(one, cid, user["id"])
    r = await two.client.post("/v1/chat/completions", headers=headers, json=call)
    assert r.status_code == 409 and r.json()["error"]["code"] == "generation_in_progress"
    assert (await long).status_code == 200


@two_workers
async def test_a_cancelled_or_refused_turn_leaves_the_conversation_free_everywhere(make_api):
    one = await make_api(providers={"s": ScriptedProvider([["first ", delay(30), "never"]])}, messages_per_window=1, message_window=60)
    two = await make_api(providers={"s": ScriptedProvider([])}, messages_per_window=1, message_window=60)
    user = await one.signup()
    cid = await _conv(one, user)
    streamed = asyncio.create_task(one.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"],
                                                   json={"content": "1", "stream": True}))
    await _until_answering(one, cid, user["id"])
    assert (await two.client.post(f"/api/conversations/{cid}/cancel", headers=user["headers"])).json() == {"cancelled": True}
    assert parse((await streamed).text)[-1].data["message"]["status"] == "cancelled"
    claims = two.runtime.chat.generations.claims
    assert await claims.wait_released(cid, 10) is True
    r = await two.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "2"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "message_rate"  # refused after taking the claim
    assert await claims.wait_released(cid, 10) is True
    assert await claims.state(cid) is None
