"""Counters behind every limit: sliding windows, blocks, concurrency slots and quotas.

`MemoryCounters` serves one process; `RedisCounters` is the same thing shared by every worker
through Redis (atomic Lua scripts, keys under the configured prefix, all with a TTL so a
crashed worker never leaves a limit stuck).
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class Admission:
    """One generation's way in: a message in a sliding window, a stream slot, a quota reservation."""

    message_key: str
    messages: int
    window: float
    slot_key: str
    slots: int
    slot_ttl: float
    quota_key: str
    amount: int
    quota: int
    quota_ttl: float


# What `Counters.admit` answers: who refused (None: admitted) and, for the message rate, the wait.
ADMITTED, MESSAGES, STREAMS, TOKENS = None, "messages", "streams", "tokens"


class Counters(Protocol):
    async def admit(self, request: Admission) -> tuple[str | None, float]:
        """Count the message, take the slot, reserve the amount, as one step (one Redis call).

        A refused message takes nothing; a refused slot keeps the message counted; a refused
        reservation keeps the message counted and takes no slot. Returns (None, 0) when admitted,
        else (`"messages"` with the seconds to wait | `"streams"` | `"tokens"`, …).
        """
        ...

    async def release(self, slot_key: str, quota_key: str, delta: int, ttl: float) -> None:
        """Give the slot back and settle the reservation by `delta`, as one step."""
        ...

    async def hit(self, key: str, limit: int, window: float) -> float:
        """Count one event if fewer than `limit` happened in the last `window` s.

        Returns 0 when counted, else the seconds until one more would be allowed.
        """
        ...

    async def record(self, key: str, window: float) -> int:
        """Count one event unconditionally; returns the events in the last `window` s."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the events and the block of `key`."""
        ...

    async def block(self, key: str, seconds: float) -> None:
        """Mark `key` blocked for `seconds`."""
        ...

    async def blocked_for(self, key: str) -> float:
        """Seconds left on a block of `key`, 0 when not blocked."""
        ...

    async def acquire_slot(self, key: str, limit: int, ttl: float) -> bool:
        """Take one of `limit` concurrent slots; False when all are taken."""
        ...

    async def release_slot(self, key: str) -> None: ...

    async def reserve(self, key: str, amount: int, limit: int, ttl: float) -> bool:
        """Add `amount` to a quota unless it would pass `limit`."""
        ...

    async def adjust(self, key: str, delta: int, ttl: float) -> None:
        """Settle a reservation: add `delta` (negative returns unused reservation)."""
        ...


class MemoryCounters:
    """In-process counters (the embedded default). Safe on one event loop: no await inside."""

    async def admit(self, request: Admission) -> tuple[str | None, float]:
        wait = await self.hit(request.message_key, request.messages, request.window)
        if wait > 0:
            return MESSAGES, wait
        if self._value(request.slot_key) >= request.slots:
            return STREAMS, 0.0
        if self._value(request.quota_key) + request.amount > request.quota:
            return TOKENS, 0.0
        await self.acquire_slot(request.slot_key, request.slots, request.slot_ttl)
        await self.reserve(request.quota_key, request.amount, request.quota, request.quota_ttl)
        return ADMITTED, 0.0

    async def release(self, slot_key: str, quota_key: str, delta: int, ttl: float) -> None:
        await self.release_slot(slot_key)
        if delta:
            await self.adjust(quota_key, delta, ttl)

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = {}
        self._blocks: dict[str, float] = {}
        self._values: dict[str, tuple[int, float]] = {}

    def _window(self, key: str, window: float, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - window:
            events.popleft()
        return events

    async def hit(self, key: str, limit: int, window: float) -> float:
        now = time.monotonic()
        events = self._window(key, window, now)
        if len(events) >= limit:
            return events[len(events) - limit] + window - now
        events.append(now)
        return 0.0

    async def record(self, key: str, window: float) -> int:
        now = time.monotonic()
        events = self._window(key, window, now)
        events.append(now)
        return len(events)

    async def reset(self, key: str) -> None:
        self._events.pop(key, None)
        self._blocks.pop(key, None)

    async def block(self, key: str, seconds: float) -> None:
        self._blocks[key] = time.monotonic() + seconds

    async def blocked_for(self, key: str) -> float:
        until = self._blocks.get(key)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._blocks[key]
            return 0.0
        return left

    def _value(self, key: str) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        return value if expires > time.monotonic() else 0

    async def acquire_slot(self, key: str, limit: int, ttl: float) -> bool:
        current = self._value(key)
        if current >= limit:
            return False
        self._values[key] = (current + 1, time.monotonic() + ttl)
        return True

    async def release_slot(self, key: str) -> None:
        current = self._value(key)
        _, expires = self._values.get(key, (0, 0.0))
        self._values[key] = (max(0, current - 1), expires)

    async def reserve(self, key: str, amount: int, limit: int, ttl: float) -> bool:
        current = self._value(key)
        if current + amount > limit:
            return False
        _, expires = self._values.get(key, (0, 0.0))
        self._values[key] = (current + amount, expires if current else time.monotonic() + ttl)
        return True

    async def adjust(self, key: str, delta: int, ttl: float) -> None:
        current = self._value(key)
        _, expires = self._values.get(key, (0, 0.0))
        self._values[key] = (max(0, current + delta), expires if current else time.monotonic() + ttl)


_HIT = """
local now = tonumber(ARGV[1]); local window = tonumber(ARGV[2]); local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""
_RECORD = """
local now = tonumber(ARGV[1]); local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return redis.call('ZCARD', KEYS[1])
"""
_ACQUIRE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1]); redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
_RELEASE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 1
"""
_RESERVE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
"""
_ADMIT = """
local now = tonumber(ARGV[1]); local window = tonumber(ARGV[2]); local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return {'messages', tostring(tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[5]) then return {'streams', '0'} end
local amount = tonumber(ARGV[7])
if tonumber(redis.call('GET', KEYS[3]) or '0') + amount > tonumber(ARGV[8]) then return {'tokens', '0'} end
redis.call('INCR', KEYS[2]); redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('INCRBY', KEYS[3], amount)
if redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], ARGV[9]) end
return {'', '0'}
"""
_RELEASE_AND_SETTLE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
local delta = tonumber(ARGV[1])
if delta ~= 0 then
  local m = redis.call('INCRBY', KEYS[2], delta)
  if m < 0 then redis.call('SET', KEYS[2], 0) end
  if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
end
return 1
"""
_ADJUST = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n < 0 then redis.call('SET', KEYS[1], 0) end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


class RedisCounters:
    """The same counters shared across workers and hosts through Redis."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + ":limits:"
        self._hit = redis.register_script(_HIT)
        self._record = redis.register_script(_RECORD)
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self._reserve = redis.register_script(_RESERVE)
        self._adjust = redis.register_script(_ADJUST)
        self._admit = redis.register_script(_ADMIT)
        self._release_and_settle = redis.register_script(_RELEASE_AND_SETTLE)

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def admit(self, request: Admission) -> tuple[str | None, float]:
        who, wait = await self._admit(
            keys=[self._k(request.message_key), self._k(request.slot_key), self._k(request.quota_key)],
            args=[
                time.time(), request.window, request.messages, uuid.uuid4().hex,
                request.slots, int(request.slot_ttl * 1000), request.amount, request.quota, int(request.quota_ttl * 1000),
            ],
        )
        who = who.decode() if isinstance(who, bytes) else who
        return (who or None), max(0.0, float(wait))

    async def release(self, slot_key: str, quota_key: str, delta: int, ttl: float) -> None:
        await self._release_and_settle(keys=[self._k(slot_key), self._k(quota_key)], args=[delta, int(ttl * 1000)])

    async def hit(self, key: str, limit: int, window: float) -> float:
        left = await self._hit(keys=[self._k(key)], args=[time.time(), window, limit, uuid.uuid4().hex])
        return max(0.0, float(left))

    async def record(self, key: str, window: float) -> int:
        return int(await self._record(keys=[self._k(key)], args=[time.time(), window, uuid.uuid4().hex]))

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._k(key), self._k("block:" + key))

    async def block(self, key: str, seconds: float) -> None:
        await self._redis.set(self._k("block:" + key), "1", px=max(1, int(seconds * 1000)))

    async def blocked_for(self, key: str) -> float:
        ttl = await self._redis.pttl(self._k("block:" + key))
        return ttl / 1000 if ttl and ttl > 0 else 0.0

    async def acquire_slot(self, key: str, limit: int, ttl: float) -> bool:
        return bool(await self._acquire(keys=[self._k(key)], args=[limit, int(ttl * 1000)]))

    async def release_slot(self, key: str) -> None:
        await self._release(keys=[self._k(key)])

    async def reserve(self, key: str, amount: int, limit: int, ttl: float) -> bool:
        return bool(await self._reserve(keys=[self._k(key)], args=[amount, limit, int(ttl * 1000)]))

    async def adjust(self, key: str, delta: int, ttl: float) -> None:
        await self._adjust(keys=[self._k(key)], args=[delta, int(ttl * 1000)])
