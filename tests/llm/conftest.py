"""Fixtures for the provider tests: a real fake upstream on loopback and providers aimed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from chatkiosk.llm.anthropic import AnthropicProvider
from chatkiosk.llm.config import ProviderConfig, default_model_path
from chatkiosk.llm.local import llama_cpp_available
from chatkiosk.llm.openai_compat import OpenAICompatProvider
from tests.fake_upstream import FakeUpstream

# Deadlines short enough to keep the suite fast, long enough for a loaded 2-core machine.
FAST = {"connect_timeout": 1.0, "first_token_timeout": 0.4, "total_timeout": 1.0}


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    """A fresh fake OpenAI/Anthropic server on 127.0.0.1."""
    with FakeUpstream() as up:
        yield up


@pytest.fixture
def other_upstream() -> Iterator[FakeUpstream]:
    """A second fake server: another host as far as the client can tell."""
    with FakeUpstream() as up:
        yield up


@pytest.fixture
async def make_openai() -> AsyncIterator[Callable[..., OpenAICompatProvider]]:
    """Build OpenAI-compatible providers (closed at teardown): `make_openai(up, **cfg)`."""
    made: list[OpenAICompatProvider] = []

    def make(up: FakeUpstream, **fields: Any) -> OpenAICompatProvider:
        values = {"name": "up", "kind": "openai", "base_url": up.base_url, "model": "fake-model", **FAST, **fields}
        provider = OpenAICompatProvider(ProviderConfig(**values))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
async def make_anthropic() -> AsyncIterator[Callable[..., AnthropicProvider]]:
    """Build Anthropic providers aimed at a fake (closed at teardown)."""
    made: list[AnthropicProvider] = []

    def make(up: FakeUpstream, **fields: Any) -> AnthropicProvider:
        values = {"name": "claude", "kind": "anthropic", "base_url": up.root_url, "model": "claude-test", **FAST, **fields}
        provider = AnthropicProvider(ProviderConfig(**values))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


async def assert_no_stray_tasks() -> None:
    """Only the test's own task is left on the loop (no reader or timer task leaked).

    asyncio finalises the dropped async generators of httpx/httpcore in short-lived tasks, one
    after the other; those may take a few loop turns. A leaked task would still be there.
    """
    deadline = asyncio.get_running_loop().time() + 0.3
    while True:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        if not others or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.01)
    assert others == [], f"tasks left running: {others}"


USER = [{"role": "user", "content": "hi"}]


needs_llama = pytest.mark.skipif(not llama_cpp_available() or default_model_path() is None,
                                 reason="llama-cpp-python or a local model is not installed (make test installs both)")


@pytest.fixture(scope="module")
def vocab() -> Iterator[Any]:
    """The model's vocabulary alone (no weights): enough for llama.cpp to parse a grammar or tokenise."""
    import llama_cpp

    llama = llama_cpp.Llama(model_path=default_model_path(), vocab_only=True, verbose=False)
    yield llama
    llama.close()
