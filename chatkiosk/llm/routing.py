"""Retries and fallbacks across providers, only while nothing has reached the caller yet.

Policy, in order of the error:

- Retryable (`UpstreamError.retryable`: 429, 5xx, connect failures, timeouts): retry the same
  provider up to `max_retries` times with exponential backoff, then fall back to the next.
- Non-retryable because this provider is misconfigured (401/403: its key; 404: its URL or
  model name): no retry (the answer will not change), but fall back: another provider may
  well work, and the operator learns of it from the log.
- Non-retryable because the request itself is wrong (400, 413, 422, other 4xx, or no status):
  no retry and no fallback. Another provider would refuse the same request, and hiding the
  error would only make it slower to find. The caller must act.
- After the first piece was yielded: never retry, whatever the error; it propagates, so the
  caller can mark the answer incomplete instead of sending a second, different one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from ..errors import UpstreamError
from .base import Completion, GenerationOptions, Message, Provider, StreamPiece, ToolSpec

log = logging.getLogger(__name__)

FALLBACK_STATUSES = frozenset({401, 403, 404})


def should_retry(error: UpstreamError) -> bool:
    """Another try at the same provider may succeed."""
    return error.retryable


def should_fall_back(error: UpstreamError) -> bool:
    """Another provider may succeed where this one failed."""
    return error.retryable or error.upstream_status in FALLBACK_STATUSES


class FallbackProvider:
    """A `Provider` that tries `providers` in order with retries (see the module docstring).

    It does not own its providers (they are shared between routes), so `aclose` leaves them
    open; the registry that built them closes them.
    """

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        max_retries: int = 2,
        backoff_base: float = 0.25,
        backoff_max: float = 4.0,
        name: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not providers:
            raise ValueError("FallbackProvider needs at least one provider")
        if max_retries < 0 or backoff_base < 0:
            raise ValueError("max_retries and backoff_base must not be negative")
        self.providers = list(providers)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.name = name or ">".join(p.name for p in self.providers)
        # With a mixed chain the agent loop must use the format every member understands.
        self.supports_tools = all(p.supports_tools for p in self.providers)
        # Whichever member answers, the prompt must fit the smallest stated window.
        windows = [w for p in self.providers if (w := getattr(p, "context_window", None))]
        self.context_window = min(windows) if windows else None
        caps = [c for p in self.providers if (c := getattr(p, "max_output_tokens", None))]
        self.max_output_tokens = min(caps) if caps else None
        self._sleep = sleep

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))

    async def _next_attempt(self, provider: Provider, attempt: int, error: UpstreamError) -> bool:
        """Log the failure; sleep and return True when `provider` gets another try."""
        if should_retry(error) and attempt < self.max_retries:
            delay = self.backoff(attempt + 1)
            log.warning("LLM provider %s failed (%s); retry %d in %.2fs", provider.name, error.message, attempt + 1, delay)
            await self._sleep(delay)
            return True
        if not should_fall_back(error):
            raise error
        log.warning("LLM provider %s failed (%s); falling back", provider.name, error.message)
        return False

    async def stream(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[StreamPiece]:
        """Stream from the first provider that gets a piece out; see the module docstring."""
        last: UpstreamError | None = None
        for provider in self.providers:
            attempt = 0
            while True:
                pieces = provider.stream(messages, tools=tools, options=options)
                started = False
                try:
                    async for piece in pieces:
                        started = True
                        yield piece
                    return
                except UpstreamError as error:
                    if started:
                        raise
                    last = error
                finally:
                    aclose = getattr(pieces, "aclose", None)
                    if aclose is not None:
                        await aclose()
                if not await self._next_attempt(provider, attempt, last):
                    break
                attempt += 1
        assert last is not None
        raise last

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> Completion:
        """The whole answer from the first provider that gives one."""
        last: UpstreamError | None = None
        for provider in self.providers:
            attempt = 0
            while True:
                try:
                    return await provider.complete(messages, tools=tools, options=options)
                except UpstreamError as error:
                    last = error
                if not await self._next_attempt(provider, attempt, last):
                    break
                attempt += 1
        assert last is not None
        raise last

    def count_tokens(self, text: str) -> int:
        """The primary provider's count."""
        return self.providers[0].count_tokens(text)

    async def check(self) -> bool:
        """True when any provider is ready."""
        for provider in self.providers:
            if await provider.check():
                return True
        return False

    async def aclose(self) -> None:
        """Nothing to release: the providers belong to the registry."""
