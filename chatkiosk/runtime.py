"""The running server's parts, built once from Settings by `create_app` and passed down.

Nothing here is global: tests build as many runtimes as they like, each with its own database,
counters and metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import BlockingConnectionPool, Redis

from chatkiosk.agents.confirm import ConfirmationGate
from chatkiosk.agents.context import ContextPolicy
from chatkiosk.agents.deps import ToolDeps
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
from chatkiosk.chat.claims import Claims
from chatkiosk.chat.generations import Generations
from chatkiosk.chat.lifecycle import Lifecycle
from chatkiosk.chat.relay import CancelRelay
from chatkiosk.chat.turn import ChatDeps, ChatService
from chatkiosk.config import Settings
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

Probe = Callable[[], Awaitable[bool]]
"""A `/ready` check: True when the part answers."""


@dataclass
class Runtime:
    """Every part of the running server, each built once, typed."""

    settings: Settings
    db: Database
    redis: Redis | None
    counters: Counters
    revocations: RevocationList
    accounts: Accounts
    metrics: Metrics
    providers: dict[str, Provider]
    agents: AgentRegistry
    kiosk: KioskService
    shop: ShopService
    confirmations: ConfirmationGate
    knowledge: KnowledgeBase  # the knowledge base the tools and routes search (`chatkiosk.knowledge`)
    snippets: SnippetBook
    reach: Reach  # web search, page reading and the code sandbox (each only when turned on)
    tools: ToolDeps  # what tools may use (the kiosk, the knowledge base, snippets, the database)
    chat: ChatService
    ticket_photos: TicketPhotos
    probes: dict[str, Probe] = field(default_factory=dict)  # extra `/ready` checks (the LLM provider)
    open_sockets: dict[str, int] = field(default_factory=dict)  # WebSockets open per user, in this process

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
        metrics = Metrics()
        configs = {c.name: c for c in settings.provider_configs()}
        default_route: Provider | None
        if providers is not None:
            providers = dict(providers)
            route = [settings.default_provider or next(iter(providers))] if providers else []
            default_route = providers[route[0]] if route else None
        else:
            providers = build_providers(configs.values())
            route = settings.provider_route()
            default_route = build_route(route, providers, configs, first_token_wait=settings.first_token_wait) if route else None
        menu = load_menu(settings.kiosk_menu)
        kiosk = KioskService(db, menu)
        shop = ShopService(db)
        ticket_photos = TicketPhotos(
            db, shop, max_bytes=settings.attachment_max_bytes, max_pixels=settings.attachment_max_pixels,
            per_ticket=settings.attachments_per_ticket,
        )
        agents = default_agents(
            context=ContextPolicy(max_messages=settings.context_max_messages, max_context_tokens=settings.context_max_tokens),
            step_limit=settings.agent_step_limit,
            kiosk_menu=menu,
            shop=True,
        )
        reach = build_reach(settings)
        reach.grant(agents)
        knowledge = build_knowledge(settings, db)
        snippets = SnippetBook(db, knowledge.embedder)
        if settings.shop_routes and "shop" in agents:
            agents.get("shop").intent_providers = intent_routes(
                settings.shop_routes, providers, configs, first_token_wait=settings.first_token_wait)
        confirmations = ConfirmationGate(DatabaseConfirmationStore(db), secret)
        limits = ChatLimits(
            counters,
            LimitPolicy(
                messages_per_window=settings.messages_per_window, message_window=settings.message_window,
                max_streams_per_user=settings.max_streams_per_user, daily_token_quota=settings.daily_token_quota,
            ),
            metrics,
        )
        tools = ToolDeps(db=db, kiosk=kiosk, shop=shop, knowledge=knowledge, snippets=snippets, confirmations=confirmations,
                         ticket_photos=ticket_photos)
        # With Redis, one answer at a time per conversation holds across workers (a claim each).
        generations = Generations(Claims(redis, settings.redis_prefix) if redis is not None else None)
        relay = CancelRelay(redis, settings.redis_prefix, generations.cancel_local) if redis is not None else None
        chat = ChatService(
            ChatDeps(settings, db, agents, providers, default_route, Lifecycle(settings, limits, metrics), tools, confirmations),
            generations, relay,
        )
        probes: dict[str, Probe] = {"llm": default_route.check} if default_route is not None else {}
        return cls(
            settings, db, redis, counters, revocations, accounts, metrics, providers, agents, kiosk, shop, confirmations, knowledge,
            snippets, reach, tools, chat, ticket_photos, probes=probes,
        )

    def agent_names(self) -> set[str]:
        """Names of the agents this server offers."""
        return set(self.agents.names())

    def readiness_probes(self) -> dict[str, Probe]:
        """Extra `/ready` checks (e.g. the LLM provider)."""
        return dict(self.probes)

    async def start(self) -> None:
        """Connect, restore revocations, and close what a dead process left streaming."""
        await self.revocations.start()
        if self.chat.relay is not None:
            await self.chat.relay.start()
        if self.chat.generations.claims is not None:
            await self.chat.generations.claims.start()
        if isinstance(self.revocations, MemoryRevocationList):
            await self.accounts.reload_revocations()
        async with self.db.write() as session:
            leftovers = await messages.mark_streaming_incomplete(session)
        if leftovers:
            log.info("marked unfinished messages incomplete", extra={"count": leftovers})
        await self.knowledge.start()

    async def close(self) -> None:
        """Stop every turn, then close the knowledge base, providers, Redis and the database."""
        await self.chat.close()
        if self.chat.generations.claims is not None:
            await self.chat.generations.claims.close()
        await self.knowledge.close()
        await close_providers(self.providers)
        await self.reach.close()
        await self.revocations.close()
        await self.db.close()
        if self.redis is not None:
            await self.redis.aclose()
