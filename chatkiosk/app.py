"""The composition root: `create_app(settings)` wires runtime, middleware and routers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chatkiosk import __version__, web
from chatkiosk.agents.kiosk.commands import COMMANDS
from chatkiosk.api import admin, agents, attachments, auth, chat, conversations, docs, errors, guardrail_events, keys, kiosk, knowledge, openai_compat, openai_embeddings, openapi_doc, ops, presets, shop, snippets, sse, ws
from chatkiosk.api.hosts import HostGuard
from chatkiosk.api.middleware import RequestContext
from chatkiosk.config import Settings
from chatkiosk.llm.base import Provider
from chatkiosk.chat.live import LiveLog
from chatkiosk.runtime import Runtime
from chatkiosk.store.expiry import ExpirySweeper
from chatkiosk.warmup import warm_local_prompts, warm_up


def create_app(settings: Settings | None = None, *, providers: dict[str, Provider] | None = None) -> FastAPI:
    """Build the ASGI app for `settings` (read from the environment when not given).

    `providers` replaces the configured LLM providers (tests pass a scripted one).
    """
    settings = settings or Settings()
    runtime = Runtime.build(settings, providers)
    # With Redis, live answers are mirrored so any worker can re-join them (`/events`).
    live = LiveLog(runtime.redis, settings.redis_prefix, sse.payload) if runtime.redis is not None else None
    if live is not None:
        runtime.chat.generations.on_start = live.track

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if live is not None:
            await live.start()
        sweeper = None
        if settings.conversation_expiry_hours > 0:
            sweeper = ExpirySweeper(runtime.db, settings.conversation_expiry_hours, settings.conversation_expiry_sweep_seconds)
            sweeper.start()
        await warm_up(app, runtime)
        warm = settings.warm_local_prompts if settings.warm_local_prompts is not None else settings.environment != "test"
        prompts = asyncio.create_task(warm_local_prompts(runtime)) if warm else None
        try:
            yield
        finally:
            if prompts is not None:
                prompts.cancel()
            if sweeper is not None:
                await sweeper.stop()
            if live is not None:
                await live.close()
            await runtime.close()

    app = FastAPI(
        title="chatkiosk",
        version=__version__,
        description="A self-hosted, multi-user conversational agent server.",
        lifespan=lifespan,
        docs_url=None,  # served by api/docs.py from local assets
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.live = live
    errors.install(app)
    # The turn's routes first: FastAPI tries the routers in this order on every request (no two
    # share a path and method, so the order only changes how soon the hot ones are found).
    for router in (chat.router, openai_compat.router, ops.router, auth.router, keys.router, agents.router, conversations.router, kiosk.router, shop.router, attachments.router, attachments.chat_router, knowledge.router, snippets.router, openai_embeddings.router, presets.router, admin.router, guardrail_events.router, ws.router, web.router):
        app.include_router(router)
    app.mount("/static", web.static_files(), name="static")
    docs.install(app)
    openapi_doc.install(app, runtime.agent_names, COMMANDS, bounds={
        ("TurnOptions", "max_tokens", "maximum"): settings.max_tokens_limit,
        ("MessageCreate", "content", "maxLength"): settings.max_message_chars,
        ("MessageCreate", "images", "maxItems"): settings.chat_photos_per_message,
    }, model_choice=any(agent.allow_model_override for agent in runtime.agents))
    app.add_middleware(HostGuard, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(
        RequestContext, metrics=runtime.metrics, max_body_bytes=settings.max_body_bytes,
        # Uploads to the knowledge base may be larger than other bodies.
        upload_limits={
            "/api/knowledge/documents": settings.knowledge_max_upload_bytes + 65_536,
            "/api/shop/tickets/[^/]+/attachments": settings.attachment_max_bytes + 65_536,
            # Photos sent in chat ride inline in the message (base64 data: URLs).
            **({"/api/conversations/[^/]+/messages": settings.chat_body_bytes(), "/v1/chat/completions": settings.chat_body_bytes()}
               if settings.chat_photos_per_message else {}),
        },
    )
    return app
