"""The running server's parts, built once from Settings by `create_app` and passed down.

Nothing here is global: tests build as many runtimes as they like, each with its own database,
counters and metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from chatkiosk.auth.accounts import Accounts
from chatkiosk.auth.passwords import PasswordHasher
from chatkiosk.auth.revocation import MemoryRevocationList, RedisRevocationList, RevocationList
from chatkiosk.auth.tokens import TokenService
from chatkiosk.config import Settings
from chatkiosk.guard.counters import Counters, MemoryCounters, RedisCounters
from chatkiosk.metrics import Metrics
from chatkiosk.store import messages
from chatkiosk.store.db import Database

log = logging.getLogger("chatkiosk")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: Redis | None
    counters: Counters
    revocations: RevocationList
    accounts: Accounts
    metrics: Metrics
    # Filled by later layers (chat turns, agents, providers); keyed by name.
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Wire the parts together; opens no connection yet."""
        secret = settings.jwt_secret()
        db = Database(settings.resolved_database_url)
        redis: Redis | None = None
        counters: Counters
        revocations: RevocationList
        if settings.redis_url:
            redis = Redis.from_url(settings.redis_url)
            counters = RedisCounters(redis, settings.redis_prefix)
            revocations = RedisRevocationList(redis, settings.redis_prefix)
        else:
            counters = MemoryCounters()
            revocations = MemoryRevocationList()
        tokens = TokenService(secret, access_ttl=settings.access_token_ttl, refresh_ttl=settings.refresh_token_ttl)
        hasher = PasswordHasher(
            memory_kib=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost, parallelism=settings.argon2_parallelism
        )
        accounts = Accounts(settings, db, tokens, hasher, counters, revocations, key_secret=secret)
        return cls(settings, db, redis, counters, revocations, accounts, Metrics())

    def agent_names(self) -> set[str]:
        """Names of the agents this server offers."""
        registry = self.extras.get("agents")
        return set(registry.names()) if registry is not None else {"assistant"}

    def readiness_probes(self) -> dict[str, Any]:
        """Extra `/ready` checks registered by later layers (e.g. the LLM provider)."""
        return dict(self.extras.get("readiness", {}))

    async def start(self) -> None:
        """Connect, restore revocations, and close what a dead process left streaming."""
        await self.revocations.start()
        if isinstance(self.revocations, MemoryRevocationList):
            await self.accounts.reload_revocations()
        async with self.db.write() as session:
            leftovers = await messages.mark_streaming_incomplete(session)
        if leftovers:
            log.info("marked unfinished messages incomplete", extra={"count": leftovers})

    async def close(self) -> None:
        await self.revocations.close()
        await self.db.close()
        if self.redis is not None:
            await self.redis.aclose()
