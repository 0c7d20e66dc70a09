"""Limits of chat turns (SECURITY 29): message rate, concurrent streams, daily token quota."""

from __future__ import annotations

import asyncio

from chatkiosk.llm.fake import ScriptedProvider, delay, usage


async def _convs(api, user, n):
    return [(await api.client.post("/api/conversations", headers=user["headers"], json={})).json()["id"] for _ in range(n)]


async def test_message_n_plus_one_in_a_window_is_429(make_api):
    api = await make_api(providers={"s": ScriptedProvider(["a", "b", "c"])}, messages_per_window=2, message_window=30)
    user = await api.signup()
    (cid,) = await _convs(api, user, 1)
    for _ in range(2):
        assert (await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "x"})).status_code == 200
    r = await api.client.post(f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "x"})
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 30
    assert r.json()["error"]["code"] == "message_rate"
    other = await api.signup()
    (oid,) = await _convs(api, other, 1)
    assert (await api.client.post(f"/api/conversations/{oid}/messages", headers=other["headers"], json={"content": "x"})).status_code == 200


async def test_concurrent_streams_per_user(make_api):
    api = await make_api(providers={"s": ScriptedProvider([[delay(0.4), "slow"]] * 3)}, max_streams_per_user=2)
    user = await api.signup()
    convs = await _convs(api, user, 3)
    first = [asyncio.create_task(api.client.post(f"/api/conversations/{c}/messages", headers=user["headers"], json={"content": "x"})) for c in convs[:2]]
    await asyncio.sleep(0.1)
    r = await api.client.post(f"/api/conversations/{convs[2]}/messages", headers=user["headers"], json={"content": "x"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_streams" and "Retry-After" in r.headers
    assert [t.status_code for t in await asyncio.gather(*first)] == [200, 200]


async def _quota_run(apis, user, quota, max_tokens, n):
    convs = await _convs(apis[0], user, n)
    calls = [
        apis[i % len(apis)].client.post(
            f"/api/conversations/{cid}/messages", headers=user["headers"], json={"content": "x", "options": {"max_tokens": max_tokens}}
        )
        for i, cid in enumerate(convs)
    ]
    results = await asyncio.gather(*calls)
    ok = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code == 429]
    assert len(ok) + len(refused) == n
    used = sum(r.json()["usage"]["total_tokens"] for r in ok)
    assert used <= quota + max_tokens, (used, quota)
    assert refused and all(r.json()["error"]["code"] == "token_quota" for r in refused)
    return used


def _spender(n: int) -> ScriptedProvider:
    # Every answer costs exactly what it reserved: 10 prompt + 90 completion = max_tokens 100.
    return ScriptedProvider([[delay(0.01), "spent", usage(10, 90)] for _ in range(n)])


async def test_parallel_requests_overshoot_the_quota_by_at_most_one_request(make_api):
    limits = dict(daily_token_quota=1000, max_streams_per_user=500, messages_per_window=1000)
    api = await make_api(providers={"s": _spender(100)}, **limits)
    user = await api.signup()
    used = await _quota_run([api], user, 1000, 100, 100)
    assert used >= 900


async def test_quota_holds_across_two_workers_sharing_redis(make_api, backend):
    if backend != "postgres":
        return  # two in-process workers do not share memory counters; Redis is the shared path
    limits = dict(daily_token_quota=1000, max_streams_per_user=500, messages_per_window=1000)
    one = await make_api(providers={"s": _spender(100)}, **limits)
    two = await make_api(providers={"s": _spender(100)}, **limits)
    user = await one.signup()
    await _quota_run([one, two], user, 1000, 100, 100)
    # The message rate is shared too: a window of 3 across both workers.
    strict = dict(messages_per_window=3, message_window=60)
    a = await make_api(providers={"s": ScriptedProvider(["1", "2", "3"])}, **strict)
    b = await make_api(providers={"s": ScriptedProvider(["4"])}, **strict)
    u = await a.signup()
    convs = await _convs(a, u, 4)
    codes = []
    for i, cid in enumerate(convs):
        target = (a, b)[i % 2]
        codes.append((await target.client.post(f"/api/conversations/{cid}/messages", headers=u["headers"], json={"content": "x"})).status_code)
    assert codes == [200, 200, 200, 429]
