"""build_provider / build_providers / build_route: configs in, providers out."""

from __future__ import annotations

import pytest

from chatkiosk.llm.anthropic import AnthropicProvider
from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.fake import ScriptedProvider
from chatkiosk.llm.local import LocalProvider
from chatkiosk.llm.openai_compat import OpenAICompatProvider
from chatkiosk.llm.registry import build_provider, build_providers, build_route, close_providers
from chatkiosk.llm.routing import FallbackProvider

CONFIGS = [
    ProviderConfig(name="vllm", kind="openai", base_url="http://127.0.0.1:9/v1", model="qwen", max_retries=1),
    ProviderConfig(name="claude", kind="anthropic", model="claude-x", max_retries=0),
    ProviderConfig(name="local", kind="local", model="smollm2"),
    ProviderConfig(name="fake", kind="fake", model="scripted"),
]


async def test_each_kind_builds_its_provider_without_connecting():
    providers = build_providers(CONFIGS)

    assert [type(p) for p in providers.values()] == [OpenAICompatProvider, AnthropicProvider, LocalProvider, ScriptedProvider]
    assert {name: p.name for name, p in providers.items()} == {c.name: c.name for c in CONFIGS}
    await close_providers(providers)


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="two LLM providers are named 'fake'"):
        build_providers([CONFIGS[3], CONFIGS[3]])


async def test_routes():
    providers = build_providers(CONFIGS)
    configs = {c.name: c for c in CONFIGS}

    route = build_route(["vllm", "local"], providers, configs)
    assert isinstance(route, FallbackProvider) and route.max_retries == 1
    assert route.providers == [providers["vllm"], providers["local"]]
    assert build_route(["claude"], providers, configs) is providers["claude"]  # nothing to add
    with pytest.raises(ValueError, match="unknown providers"):
        build_route(["nope"], providers, configs)
    await close_providers(providers)


def test_build_provider_single():
    assert isinstance(build_provider(CONFIGS[0]), OpenAICompatProvider)
