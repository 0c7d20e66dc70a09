"""Issue 16: admitting and releasing a generation is one step on the counters (one Lua call
on Redis), with the all-or-nothing behaviour of SECURITY 29's limits."""

from __future__ import annotations

import pytest

from chatkiosk.errors import RateLimited
from chatkiosk.guard.limits import ChatLimits, LimitPolicy


def limits_of(api, **policy) -> ChatLimits:
    return ChatLimits(api.runtime.counters, LimitPolicy(**policy), api.runtime.metrics)


async def test_admit_and_release_are_one_redis_call_each(api, backend):
    if backend != "postgres":
        pytest.skip("the Redis counters")
    redis = api.runtime.redis
    limits = limits_of(api)
    await limits.admit("user_warm", 10)  # the first use loads the scripts (SCRIPT LOAD)
    await limits.release("user_warm", 10, 10)
    calls: list[str] = []
    real = redis.execute_command

    async def counting(*args, **kwargs):
        calls.append(str(args[0]))
        return await real(*args, **kwargs)

    redis.execute_command = counting
    try:
        await limits.admit("user_rt", 100)
        assert len(calls) == 1, calls
        await limits.release("user_rt", 100, 40)
        assert len(calls) == 2, calls
    finally:
        redis.execute_command = real


async def test_refusals_take_nothing_but_the_message(api):
    limits = limits_of(api, messages_per_window=3, max_streams_per_user=1, daily_token_quota=150)
    await limits.admit("user_a", 100)
    with pytest.raises(RateLimited) as slot:
        await limits.admit("user_a", 10)  # no second slot: nothing reserved
    assert slot.value.code == "too_many_streams"
    await limits.release("user_a", 100, 30)  # 30 of 150 used
    with pytest.raises(RateLimited) as quota:
        await limits.admit("user_a", 121)  # over the quota: no slot taken
    assert quota.value.code == "token_quota"
    with pytest.raises(RateLimited) as rate:
        await limits.admit("user_a", 1)  # three messages counted: the fourth waits
    assert rate.value.code == "message_rate" and rate.value.retry_after >= 1
    other = limits_of(api, messages_per_window=10, max_streams_per_user=1, daily_token_quota=150)
    await other.admit("user_a", 120)  # the refusals above took no slot and no tokens
