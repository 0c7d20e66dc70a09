"""A warm-up at start, so the first user does not pay for what is built lazily (~60 ms).

FastAPI builds the middleware stack and each route's dependency state on the first walk
through the app, SQLAlchemy compiles a statement the first time it runs, and an HTTP client
builds its pools on the first call. `warm_up` does all of that once, before the server takes
traffic: two requests through the app in-process (a health check and an unauthenticated chat
turn, answered 401), the hot path's reads on ids that do not exist, and the providers'
stream sessions. It writes nothing and sends nothing upstream.

`warm_local_prompts` does the same for the embedded model, in the background: each agent's
fixed prompt (its instructions and the command prompt, ~1,500 tokens for the kiosk) is evaluated
once into llama.cpp's prefix cache, so the first customer's turn evaluates only its own tokens
(5 s instead of 12-34 s on 2 cores). A turn that arrives meanwhile waits its turn on the model
as it would behind any generation.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message

from chatkiosk.agents.base import Agent
from chatkiosk.agents.command_format import to_command_messages
from chatkiosk.llm.base import Provider
from chatkiosk.llm.local import LocalProvider
from chatkiosk.llm.registry import warm_providers
from chatkiosk.llm.routing import FallbackProvider
from chatkiosk.runtime import Runtime

log = logging.getLogger("chatkiosk")

_WARM_ID = "warm_up_nothing"


async def _request(app: ASGIApp, method: str, path: str, body: bytes = b"") -> int:
    """One request through the whole app, in-process; returns its status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 80), "state": {},
    }
    sent = False
    status = 0

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def warm_up(app: ASGIApp, runtime: Runtime) -> None:
    """Build what the first turn would otherwise build; a failure here only costs that time."""
    started = time.perf_counter()
    try:
        await _request(app, "GET", "/health")
        await _request(app, "POST", f"/api/conversations/{_WARM_ID}/messages", b'{"content": "hi", "stream": true}')
        await runtime.chat.rows.load(_WARM_ID, _WARM_ID, lambda _agent: 2)  # the turn's statements (store/turn_rows.py)
        await warm_providers(runtime.providers)
    except Exception:
        log.warning("the warm-up at start failed; the first requests pay for it", exc_info=True)
        return
    log.info("warmed up", extra={"ms": round((time.perf_counter() - started) * 1000, 1)})


def _local(provider: Provider | None) -> LocalProvider | None:
    """The embedded model a route tries first, if it does."""
    if isinstance(provider, FallbackProvider):
        provider = provider.providers[0]
    return provider if isinstance(provider, LocalProvider) else None


def fixed_prompt(agent: Agent, native_tools: bool) -> list[dict[str, str]]:
    """What every turn of `agent` begins with (as the agent loop sends it), and a one-word request."""
    messages = [{"role": "system", "content": agent.system_prompt}, {"role": "user", "content": "hi"}]
    if native_tools or not len(agent.tools):
        return messages
    return to_command_messages(messages, agent.tools, compact=True)  # a small local model's command prompt


async def warm_prompt(agent: Agent, local: LocalProvider) -> None:
    """Evaluate `agent`'s fixed prompt on the embedded model (one token generated, kept in its cache)."""
    await local.warm(fixed_prompt(agent, local.supports_tools))


async def warm_local_prompts(runtime: Runtime) -> None:
    """Warm the fixed prompt of every agent that runs on the embedded model, the kiosk first."""
    for agent in sorted(runtime.agents, key=lambda a: a.name != "kiosk"):
        local = _local(runtime.providers.get(agent.provider) if agent.provider else runtime.chat.deps.default_route)
        if local is None or not agent.system_prompt:
            continue
        started = time.perf_counter()
        try:
            await warm_prompt(agent, local)
        except Exception:
            log.warning("the embedded model could not evaluate the %s prompt at start", agent.name, exc_info=True)
            return
        log.info("embedded model warmed", extra={"agent": agent.name, "ms": round((time.perf_counter() - started) * 1000)})
