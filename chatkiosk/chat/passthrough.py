"""Passthrough: a client's call relayed to an upstream model that an admin marked `passthrough`.

The client's tools are offered to that model but never run here: its tool calls go back to the
client as they stream. The upstream is always the configured one (the client names a model,
never a URL). The turn's limits apply (message rate, a stream slot, the token quota, which
settles with the real usage) and tokens are counted; nothing is stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from chatkiosk.chat.turn import ChatService
from chatkiosk.errors import UpstreamError, ValidationFailed
from chatkiosk.llm.base import (
    GenerationOptions,
    Message,
    Provider,
    StreamPiece,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageReport,
)
from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.openai_compat import OpenAICompatProvider

AGENT_LABEL = "passthrough"  # the `agent` label of its metrics


@dataclass(frozen=True, slots=True)
class PassthroughModel:
    """An upstream model clients may call directly: its name and the provider serving it."""

    model: str
    provider_name: str
    provider: Provider


def passthrough_models(providers: Mapping[str, Provider]) -> list[PassthroughModel]:
    """Every model of every provider whose config says `passthrough: true`, in config order."""
    found: dict[str, PassthroughModel] = {}
    for name, provider in providers.items():
        cfg = getattr(provider, "cfg", None)
        if isinstance(cfg, ProviderConfig) and cfg.passthrough:
            for model in cfg.all_models:
                found.setdefault(model, PassthroughModel(model, name, provider))
    return list(found.values())


def find_passthrough(providers: Mapping[str, Provider], model: str) -> PassthroughModel | None:
    """The passthrough model of that name, or None."""
    return next((m for m in passthrough_models(providers) if m.model == model), None)


class _ToolChoiceProvider(OpenAICompatProvider):
    """The same upstream (config, key, connection pool) with the client's `tool_choice` added.

    The Provider interface has no `tool_choice`; only passthrough needs it, so it is added
    here, to the one wire format that has it.
    """

    def __init__(self, inner: OpenAICompatProvider, tool_choice: Any) -> None:
        self.__dict__.update(inner.__dict__)  # shares inner's client: closing stays inner's job
        self._tool_choice = tool_choice

    def _body(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        body = super()._body(*args, **kwargs)
        if "tools" in body:
            body["tool_choice"] = self._tool_choice
        return body


@dataclass(slots=True)
class PassthroughCall:
    """One relayed call, already started: iterate `pieces()` once; `usage` is final after it."""

    chat: ChatService
    user_id: str
    target: PassthroughModel
    reserved: int
    _stream: AsyncIterator[StreamPiece]
    _first: list[StreamPiece]
    usage: Usage = field(default_factory=Usage)
    _prompt_estimate: int = 0
    _text: list[str] = field(default_factory=list)
    _closed: bool = False

    async def pieces(self) -> AsyncIterator[StreamPiece]:
        """The upstream's pieces as they come (text, tool-call pieces, finish, usage)."""
        status = "complete"
        reported: Usage | None = None
        try:
            for piece in self._first:
                yield piece
                reported = self._note(piece, reported)
            async for piece in self._stream:
                reported = self._note(piece, reported)
                yield piece
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        except UpstreamError as exc:
            status = "error"
            self.chat.metrics.upstream_errors.labels(self.target.provider_name, exc.code).inc()
            raise
        except BaseException:
            status = "error"
            raise
        finally:
            if reported is None:
                text = "".join(self._text)
                reported = Usage(self._prompt_estimate, self.target.provider.count_tokens(text) if text else 0)
            self.usage = reported
            await asyncio.shield(self.close(status))

    def _note(self, piece: StreamPiece, reported: Usage | None) -> Usage | None:
        if isinstance(piece, TextDelta):
            self._text.append(piece.text)
        elif isinstance(piece, ToolCallDelta):
            self._text.append(piece.arguments)
        elif isinstance(piece, UsageReport):
            return piece.usage
        return reported

    async def close(self, status: str = "cancelled") -> None:
        """Close the upstream stream, free the slot, settle the quota and count (once)."""
        if self._closed:
            return
        self._closed = True
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()
        metrics, name = self.chat.metrics, self.target.provider_name
        metrics.tokens.labels("in", name).inc(self.usage.prompt_tokens)
        metrics.tokens.labels("out", name).inc(self.usage.completion_tokens)
        metrics.turns.labels(AGENT_LABEL, "llm", status).inc()
        metrics.active_streams.dec()
        await self.chat.limits.release(self.user_id, self.reserved, self.usage.total_tokens)


async def start_passthrough(
    chat: ChatService,
    user_id: str,
    target: PassthroughModel,
    messages: list[Message],
    *,
    tools: list[ToolSpec] | None = None,
    tool_choice: Any = None,
    options: GenerationOptions = GenerationOptions(),
) -> PassthroughCall:
    """Check the limits, call the upstream and wait for its first piece.

    Raises before anything is streamed: 422 (max_tokens), 429 (a limit) or the upstream's
    502/504 when it fails before its first piece — so a caller can still answer with a status.
    """
    settings = chat.settings
    max_tokens = options.max_tokens or settings.default_max_tokens
    if max_tokens > settings.max_tokens_limit:
        raise ValidationFailed(f"max_tokens is at most {settings.max_tokens_limit}", param="max_tokens")
    await chat.limits.admit(user_id, max_tokens)
    chat.metrics.active_streams.inc()
    provider = target.provider
    if tool_choice == "none":
        tools = None
    elif tool_choice is not None and tools and isinstance(provider, OpenAICompatProvider):
        provider = _ToolChoiceProvider(provider, tool_choice)
    options = replace(options, model=target.model, max_tokens=max_tokens)
    started = time.perf_counter()
    stream = provider.stream(messages, tools=tools, options=options)
    estimate = sum(provider.count_tokens(str(m.get("content") or "")) for m in messages)
    call = PassthroughCall(chat, user_id, target, max_tokens, stream, [], _prompt_estimate=estimate)
    try:
        first = await anext(stream, None)
    except BaseException as exc:
        if isinstance(exc, UpstreamError):
            chat.metrics.upstream_errors.labels(target.provider_name, exc.code).inc()
        call.usage = Usage(call._prompt_estimate, 0)
        await asyncio.shield(call.close("error"))
        raise
    chat.metrics.ttft.labels(AGENT_LABEL).observe(time.perf_counter() - started)
    if first is not None:
        call._first.append(first)
    return call
