"""The running server's parts, built once from Settings by `create_app` and passed down.

Nothing here is global: tests build as many runtimes as they like, each with its own database,
counters and metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from chatkiosk.agents.confirm import ConfirmationGate
from chatkiosk.agents.context import ContextPolicy
from chatkiosk.agents.kiosk.menu import load_menu
from chatkiosk.agents.kiosk.service import KioskService
from chatkiosk.agents.registry import AgentRegistry, default_agents
from chatkiosk.agents.shop.routing import intent_routes
from chatkiosk.agents.shop.attachments import TicketPhotos
from chatkiosk.agents.shop.service import ShopService
from chatkiosk.auth.accounts import Accounts
from chatkiosk.auth.passwords import PasswordHasher
from chatkiosk.auth.revocation import MemoryRevocationList, RedisRevocationList, RevocationList
from chatkiosk.auth.tokens import TokenService
from chatkiosk.config import Settings
from chatkiosk.chat.relay import CancelRelay
from chatkiosk.chat.turn import ChatService
from chatkiosk.guard.counters import Counters, MemoryCounters, RedisCounters
from chatkiosk.guard.limits import ChatLimits, LimitPolicy
from chatkiosk.knowledge import KnowledgeBase, build_knowledge
from chatkiosk.knowledge.snippets import SnippetBook
from chatkiosk.llm.base import Provider
from chatkiosk.llm.registry import build_providers, build_route, close_providers
from chatkiosk.metrics import Metrics
from chatkiosk.reach.setup import Reach, build_reach
from chatkiosk.store import messages
from chatkiosk.store.confirmations import DatabaseConfirmationStore
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
    providers: dict[str, Provider] = field(default_factory=dict)
    agents: AgentRegistry = field(default_factory=AgentRegistry)
    chat: ChatService | None = None
    confirmations: ConfirmationGate | None = None
    kiosk: KioskService | None = None
    shop: ShopService | None = None
    ticket_photos: TicketPhotos | None = None
    # The knowledge base the tools and routes search (`chatkiosk.knowledge`).
    knowledge: KnowledgeBase | None = None
    snippets: SnippetBook | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    reach: Reach | None = None  # web search, page reading and the code sandbox, when turned on

    @classmethod
    def build(cls, settings: Settings, providers: dict[str, Provider] | None = None) -> Runtime:
        """Wire the parts together; opens no connection and loads no model yet.

        `providers` replaces the configured LLM providers (tests pass a scripted one); the
        first of them is then the default.
        """
        secret = settings.jwt_secret()
        db = Database(settings.resolved_database_url)
        redis: Redis | None = None
        counters: Counters
        revocations: RevocationList
        if settings.redis_url:
            # A blocking pool: under a burst, callers wait for a connection instead of failing.
            pool = BlockingConnectionPool.from_url(settings.redis_url, max_connections=settings.redis_max_connections, timeout=10)
            redis = Redis(connection_pool=pool)
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
        runtime = cls(settings, db, redis, counters, revocations, accounts, Metrics())
        configs = {c.name: c for c in settings.provider_configs()}
        if providers is not None:
            runtime.providers = dict(providers)
            route = [settings.default_provider or next(iter(providers))] if providers else []
            default_route = runtime.providers[route[0]] if route else None
        else:
            runtime.providers = build_providers(configs.values())
            route = settings.provider_route()
            default_route = build_route(route, runtime.providers, configs, first_token_wait=settings.first_token_wait) if route else None
        menu = load_menu(settings.kiosk_menu)
        runtime.kiosk = KioskService(db, menu)
        runtime.shop = ShopService(db)
        runtime.ticket_photos = TicketPhotos(
            db, runtime.shop, max_bytes=settings.attachment_max_bytes, max_pixels=settings.attachment_max_pixels,
            per_ticket=settings.attachments_per_ticket,
        )
        runtime.agents = default_agents(
            context=ContextPolicy(max_messages=settings.context_max_messages, max_context_tokens=settings.context_max_tokens),
            step_limit=settings.agent_step_limit,
            kiosk_menu=menu,
            shop=True,
        )
        runtime.reach = build_reach(settings)
        runtime.reach.grant(runtime.agents)
        runtime.knowledge = build_knowledge(settings, db)
        runtime.extras["knowledge_base"] = runtime.knowledge  # started and closed even if replaced
        runtime.snippets = SnippetBook(db, runtime.knowledge.embedder)
        if settings.shop_routes and "shop" in runtime.agents:
            runtime.agents.get("shop").intent_providers = intent_routes(
                settings.shop_routes, runtime.providers, configs, first_token_wait=settings.first_token_wait)
        runtime.confirmations = ConfirmationGate(DatabaseConfirmationStore(db), secret)
        limits = ChatLimits(
            counters,
            LimitPolicy(
                messages_per_window=settings.messages_per_window, message_window=settings.message_window,
                max_streams_per_user=settings.max_streams_per_user, daily_token_quota=settings.daily_token_quota,
            ),
            runtime.metrics,
        )
        runtime.chat = ChatService(settings, db, runtime.agents, runtime.providers, default_route, limits, runtime.metrics, runtime)
        if redis is not None:
            chat = runtime.chat
            chat.relay = CancelRelay(redis, settings.redis_prefix, chat.generations.cancel_local)
        if default_route is not None:
            runtime.extras["readiness"] = {"llm": default_route.check}
        return runtime

    def agent_names(self) -> set[str]:
        """Names of the agents this server offers."""
        return set(self.agents.names())

    def readiness_probes(self) -> dict[str, Any]:
        """Extra `/ready` checks registered by later layers (e.g. the LLM provider)."""
        return dict(self.extras.get("readiness", {}))

    async def start(self) -> None:
        """Connect, restore revocations, and close what a dead process left streaming."""
        await self.revocations.start()
        if self.chat is not None and self.chat.relay is not None:
            await self.chat.relay.start()
        if isinstance(self.revocations, MemoryRevocationList):
            await self.accounts.reload_revocations()
        async with self.db.write() as session:
            leftovers = await messages.mark_streaming_incomplete(session)
        if leftovers:
            log.info("marked unfinished messages incomplete", extra={"count": leftovers})
        if "knowledge_base" in self.extras:
            await self.extras["knowledge_base"].start()

    async def close(self) -> None:
        if self.chat is not None:
            await self.chat.close()
        if "knowledge_base" in self.extras:
            await self.extras["knowledge_base"].close()
        await close_providers(self.providers)
        if self.reach is not None:
            await self.reach.close()
        await self.revocations.close()
        await self.db.close()
        if self.redis is not None:
            await self.redis.aclose()
