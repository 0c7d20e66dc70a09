"""Routing per intent: which provider answers the shop's LLM turns of each intent.

The setting `shop_routes` maps an intent — `order`, `policy`, `claim`, `chat` (see
`rules.llm_intent`), or `default` — to a provider route: the first provider and its fallbacks,
e.g. `{"order": ["local"], "policy": ["local"], "claim": ["local"], "chat": ["openai", "local"]}`
keeps orders, policies and claims on the local model and sends general chat to an external one.
Intents it does not name use the agent's usual provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chatkiosk.llm.base import Provider
from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.registry import build_route
from chatkiosk.llm.routing import FallbackProvider

INTENTS = ("order", "policy", "claim", "chat", "default")


def intent_routes(
    routes: Mapping[str, Sequence[str]], providers: Mapping[str, Provider], configs: Mapping[str, ProviderConfig],
    *, first_token_wait: float | None = None,
) -> dict[str, Provider]:
    """A provider (with its fallbacks) per intent; unknown intents or providers are a settings error."""
    built: dict[str, Provider] = {}
    for intent, names in routes.items():
        if intent not in INTENTS:
            raise ValueError(f"shop_routes: unknown intent {intent!r} (use {', '.join(INTENTS)})")
        missing = [n for n in names if n not in providers]
        if not names or missing:
            raise ValueError(f"shop_routes[{intent!r}] names unknown providers {missing or list(names)!r}; check the settings")
        if all(n in configs for n in names):
            built[intent] = build_route(list(names), providers, configs, first_token_wait=first_token_wait)
        else:  # providers handed in by the caller (tests): no retries, fallbacks in order
            chain = [providers[n] for n in names]
            built[intent] = chain[0] if len(chain) == 1 else FallbackProvider(chain, max_retries=0)
    return built
