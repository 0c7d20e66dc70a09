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

`first_token_wait` bounds the whole wait before the first piece — every try, backoff and
fallback together — so a hung upstream costs that long, not `tries × first_token_timeout`;
the error then says how long it waited and how many tries it made.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TypeVar
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from ..errors import UpstreamError, UpstreamTimeout
from .base import Completion, GenerationOptions, Message, Provider, StreamPiece, ToolSpec

T = TypeVar("T")

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
        first_token_wait: float | None = None,
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
        self.supports_response_format = all(getattr(p, "supports_response_format", False) for p in self.providers)
        self.supports_images = all(getattr(p, "supports_images", False) for p in self.providers)
        self._sleep = sleep
        self.first_token_wait = first_token_wait

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))

    async def _next_attempt(self, provider: Provider, attempt: int, error: UpstreamError, wait: _Wait | None = None) -> bool:
        """Log the failure; sleep and return True when `provider` gets another try."""
        if wait is not None:
            wait.failed(provider.name, error)
        if should_retry(error) and attempt < self.max_retries:
            delay = self.backoff(attempt + 1)
            if wait is not None and not wait.allows(delay):
                raise wait.exhausted()
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
        wait = _Wait(self.name, self.first_token_wait)
        for provider in self.providers:
            attempt = 0
            while True:
                pieces = provider.stream(messages, tools=tools, options=options)
                started = False
                try:
                    iterator = aiter(pieces)
                    while True:
                        try:
                            if started:
                                piece = await anext(iterator)
                            else:
                                piece = await wait.bounded(provider.name, anext(iterator))
                        except StopAsyncIteration:
                            return
                        started = True
                        yield piece
                except _WaitExhausted:
                    raise
                except UpstreamError as error:
                    if started:
                        raise
                    last = error
                finally:
                    aclose = getattr(pieces, "aclose", None)
                    if aclose is not None:
                        await aclose()
                if not await self._next_attempt(provider, attempt, last, wait):
                    break
                attempt += 1
        assert last is not None
        raise wait.final(last)

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> Completion:
        """The whole answer from the first provider that gives one."""
        last: UpstreamError | None = None
        wait = _Wait(self.name, self.first_token_wait)
        for provider in self.providers:
            attempt = 0
            while True:
                try:
                    return await wait.bounded(provider.name, provider.complete(messages, tools=tools, options=options))
                except _WaitExhausted:
                    raise
                except UpstreamError as error:
                    last = error
                if not await self._next_attempt(provider, attempt, last, wait):
                    break
                attempt += 1
        assert last is not None
        raise wait.final(last)

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


class _WaitExhausted(UpstreamTimeout):
    """The whole wait before the first token ran out: no more tries, whatever the policy."""


class _Wait:
    """The wait before the first piece of one call: its bound, its tries, and the true story."""

    def __init__(self, route: str, limit: float | None) -> None:
        self.route = route
        self.limit = limit
        self.started = asyncio.get_running_loop().time()
        self.deadline = self.started + limit if limit is not None else None
        self.tries: list[str] = []
        self.last: UpstreamError | None = None

    def failed(self, provider: str, error: UpstreamError) -> None:
        self.tries.append(provider)
        self.last = error

    def allows(self, delay: float) -> bool:
        """True when a backoff of `delay` seconds still leaves time for another try."""
        return self.deadline is None or asyncio.get_running_loop().time() + delay < self.deadline

    async def bounded(self, provider: str, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` (a try at `provider`); past the bound raise the whole-wait timeout."""
        try:
            async with asyncio.timeout_at(self.deadline):
                return await awaitable
        except TimeoutError:
            self.tries.append(f"{provider} (cut off)")
            raise self.exhausted() from None

    def _story(self) -> str:
        elapsed = asyncio.get_running_loop().time() - self.started
        n = len(self.tries)
        return f"{n} {'try' if n == 1 else 'tries'} in {elapsed:.1f} s: {', '.join(self.tries)}"

    def exhausted(self) -> UpstreamTimeout:
        """The error for a bound that ran out (or has no room left for another try)."""
        last = f"; last error: {self.last.message}" if self.last is not None else ""
        return _WaitExhausted(
            f"LLM route {self.route!r} sent nothing within {self.limit:g} s, the bound on the whole wait "
            f"before the first token ({self._story()}){last}; check the upstream or raise first_token_wait",
            retryable=True,
        )

    def final(self, error: UpstreamError) -> UpstreamError:
        """`error` as the caller sees it, saying how many tries it took when there were several."""
        if len(self.tries) <= 1:
            return error
        return type(error)(
            f"{error.message} (after {self._story()})",
            code=error.code, retryable=error.retryable, upstream_status=error.upstream_status,
        )
