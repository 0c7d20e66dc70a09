"""One answer at a time per conversation, across workers and hosts: a Redis claim per conversation.

Each worker keeps its own generations (chat/generations.py) and refuses a second one in a
conversation that is answering there. With Redis configured the worker that starts an answer
also takes the conversation's claim: a small hash `{owner, state}` set only if absent (Lua),
with a TTL the worker refreshes while the answer runs. It is released (by its owner only, Lua)
when the answer has been stored, and a dead worker's claim expires with its TTL. So a turn sent
to another worker meets the same rules as one sent to the same worker:

- `answering`: the answer is being generated: 409 (a `/v1` call bound to the conversation waits
  its turn for a few seconds first, `wait_released`);
- `storing`: the done event is out and the final write is landing: the new turn waits for the
  release (a few seconds at most) instead of a 409, as a turn on the same worker does.

A release is published on a channel so waiting workers wake at once; they also poll, since an
expired claim publishes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from chatkiosk import pubsub

log = logging.getLogger("chatkiosk.chat")

CLAIM_SECONDS = 20.0  # a crashed worker's conversations are free again after this long
REFRESH_SECONDS = 5.0  # the holder refreshes its claims this often (four tries per TTL)
POLL_SECONDS = 0.5  # a waiter checks this often too: an expiry is not announced
ANSWERING, STORING = "answering", "storing"

# KEYS[1] the claim; ARGV owner, ttl ms. Nil when taken, else the holder's state.
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HGET', KEYS[1], 'state') or 'answering'
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'state', 'answering')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return false
"""
# KEYS[1] the claim; ARGV owner, ttl ms. 1 when still ours.
_REFRESH = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
# KEYS[1] the claim; ARGV owner, state.
_MARK = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', ARGV[2])
  return 1
end
return 0
"""
# KEYS[1] the claim; ARGV owner, channel, conversation id. Only the owner releases.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
"""


class Claims:
    """The conversations this worker answers, claimed in Redis so no other worker answers there too."""

    def __init__(self, redis: Redis, prefix: str, ttl: float = CLAIM_SECONDS, refresh: float = REFRESH_SECONDS) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_ms = int(ttl * 1000)
        self.refresh_every = refresh
        self.channel = f"{prefix}:claims:released"
        self._take = redis.register_script(_TAKE)
        self._refresh = redis.register_script(_REFRESH)
        self._mark = redis.register_script(_MARK)
        self._release = redis.register_script(_RELEASE)
        self._held: dict[str, str] = {}  # conversation -> owner token, refreshed while held
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._untaking: set[asyncio.Future[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None

    def key(self, conversation_id: str) -> str:
        return f"{self.prefix}:claim:{conversation_id}"

    async def start(self) -> None:
        """Listen for releases and keep this worker's claims alive."""
        self._listener = await pubsub.listen(self.redis, self.channel, self._released)
        self._refresher = asyncio.create_task(self._refresh_forever(), name="claims-refresher")

    async def close(self) -> None:
        await pubsub.stop(self._listener)
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher

    # --- the answering worker

    async def take(self, conversation_id: str, settle: float, on_wait: Callable[[], None] | None = None) -> str | None:
        """Claim the conversation: the owner token, or None while another answer holds it.

        A holder that is only storing its finished answer is waited for (`settle` seconds at most;
        `on_wait` is called first, so the caller knows what it read before may be stale).
        """
        token = uuid.uuid4().hex
        for waited in (False, True):
            call = asyncio.ensure_future(self._take(keys=[self.key(conversation_id)], args=[token, self.ttl_ms]))
            try:
                state = await asyncio.shield(call)
            except asyncio.CancelledError:  # the caller left: a claim taken meanwhile must not linger for its TTL
                call.add_done_callback(lambda done: self._untake(conversation_id, token, done))
                raise
            if state is None:
                self._held[conversation_id] = token
                return token
            state = state.decode() if isinstance(state, bytes) else state
            if waited or state != STORING:
                return None
            if on_wait is not None:
                on_wait()
            await self.wait_released(conversation_id, settle)
        return None

    def _untake(self, conversation_id: str, token: str, call: asyncio.Future[object]) -> None:
        if not call.cancelled() and call.exception() is None and call.result() is None:
            task = asyncio.ensure_future(self.release(conversation_id, token))
            self._untaking.add(task)
            task.add_done_callback(self._untaking.discard)

    async def storing(self, conversation_id: str, token: str) -> None:
        """The answer's done event is out: a turn arriving now waits for the release, not a 409."""
        with contextlib.suppress(RedisError, TimeoutError):
            async with asyncio.timeout(1.0):  # awaited in the generating task: never long
                await self._mark(keys=[self.key(conversation_id)], args=[token, STORING])

    async def release(self, conversation_id: str, token: str) -> None:
        """The answer is stored: free the conversation (only if the claim is still this owner's)."""
        if self._held.get(conversation_id) == token:
            del self._held[conversation_id]
        try:
            await self._release(keys=[self.key(conversation_id)], args=[token, self.channel, conversation_id])
        except RedisError as exc:  # it expires with its TTL
            log.warning("could not release a conversation's claim", extra={"error": type(exc).__name__})

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_every)
            held = list(self._held.items())
            if not held:
                continue
            try:
                pipe = self.redis.pipeline(transaction=False)
                for conversation_id, token in held:
                    await self._refresh(keys=[self.key(conversation_id)], args=[token, self.ttl_ms], client=pipe)
                kept = await pipe.execute()
            except RedisError as exc:  # retried at the next beat; four beats per TTL
                log.warning("could not refresh conversation claims", extra={"error": type(exc).__name__})
                continue
            lost = sum(1 for ok in kept if not ok)
            if lost:
                log.warning("conversation claims expired while answering", extra={"count": lost})

    # --- any worker

    async def state(self, conversation_id: str) -> str | None:
        """`answering`, `storing`, or None when no worker holds the conversation."""
        state = await self.redis.hget(self.key(conversation_id), "state")
        return state.decode() if isinstance(state, bytes) else state

    async def wait_released(self, conversation_id: str, timeout: float) -> bool:
        """Wait (at most `timeout`) until no worker holds the conversation; True when free."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiter = loop.create_future()
            self._waiters.setdefault(conversation_id, []).append(waiter)  # before the check: no wake-up is missed
            try:
                if not await self.redis.exists(self.key(conversation_id)):
                    return True
                left = deadline - loop.time()
                if left <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter, min(left, POLL_SECONDS))
            finally:
                waiting = self._waiters.get(conversation_id, [])
                if waiter in waiting:
                    waiting.remove(waiter)
                if not waiting:
                    self._waiters.pop(conversation_id, None)

    def _released(self, conversation_id: str) -> None:
        for waiter in self._waiters.get(conversation_id, []):
            if not waiter.done():
                waiter.set_result(None)

