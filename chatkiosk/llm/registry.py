"""Every provider kind, built in one place from its `ProviderConfig`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .base import Provider
from .config import ProviderConfig
from .routing import FallbackProvider


def build_provider(cfg: ProviderConfig) -> Provider:
    """The provider for one config. Nothing connects or loads a model until first used."""
    if cfg.kind == "openai":
        from .openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(cfg)
    if cfg.kind == "anthropic":
        from .anthropic import AnthropicProvider

        return AnthropicProvider(cfg)
    if cfg.kind == "local":
        from .local import LocalProvider

        return LocalProvider(cfg)
    if cfg.kind == "fake":
        from .fake import ScriptedProvider

        return ScriptedProvider([], name=cfg.name, supports_images=cfg.sees_images)
    raise ValueError(f"provider {cfg.name!r}: unknown kind {cfg.kind!r}")


def build_providers(configs: Iterable[ProviderConfig]) -> dict[str, Provider]:
    """Providers by name; two configs with one name are a configuration error."""
    providers: dict[str, Provider] = {}
    for cfg in configs:
        if cfg.name in providers:
            raise ValueError(f"two LLM providers are named {cfg.name!r}; rename one in the settings")
        providers[cfg.name] = build_provider(cfg)
    return providers


def build_route(
    names: Sequence[str],
    providers: Mapping[str, Provider],
    configs: Mapping[str, ProviderConfig],
    *,
    backoff_base: float = 0.25,
    first_token_wait: float | None = None,
) -> Provider:
    """The chain `names[0]`, then its fallbacks; retries as the first provider's config says.

    The whole wait before the first token (tries, backoff, fallbacks) is bounded by
    `first_token_wait`, by default the first provider's `first_token_timeout`.
    """
    missing = [n for n in names if n not in providers]
    if not names or missing:
        raise ValueError(f"LLM route {list(names)!r} names unknown providers {missing!r}; check the settings")
    if len(names) == 1 and configs[names[0]].max_retries == 0:
        return providers[names[0]]
    return FallbackProvider(
        [providers[n] for n in names],
        max_retries=configs[names[0]].max_retries,
        backoff_base=backoff_base,
        first_token_wait=first_token_wait or configs[names[0]].first_token_timeout,
    )


async def close_providers(providers: Mapping[str, Provider]) -> None:
    """Close every provider (at shutdown)."""
    for provider in providers.values():
        await provider.aclose()


async def warm_providers(providers: Mapping[str, Provider]) -> None:
    """Build the HTTP providers' stream sessions now (at start), not on the first turn."""
    from .anthropic import AnthropicProvider
    from .openai_compat import OpenAICompatProvider

    for provider in providers.values():
        if isinstance(provider, (OpenAICompatProvider, AnthropicProvider)):
            await provider.warm()
