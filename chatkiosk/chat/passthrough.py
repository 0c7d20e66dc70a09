"""Passthrough: a turn with no server tools, relaying an upstream model an admin marked `passthrough`.

What the client sent is forwarded as it is (tools with `strict`, `tool_choice`, `response_format`,
`seed`, `n`, `logprobs`, `max_completion_tokens`, image parts, …) and nothing is added (no default
`max_tokens`); every choice (`n`) and the upstream's `logprobs` come back as it sent them. The client's tools are offered to that model but never run here: its tool calls
go back to the client as they stream. The upstream is always the configured one (the client names a model,
never a URL). It runs as any turn does (chat/turn.py): the same admission, limits, accounting
and metrics (under the `passthrough` agent label), and nothing is stored. Its events are the
upstream's own pieces (`PieceEvent`), which only the OpenAI encoder turns into chunks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field

from chatkiosk.llm.base import (
    ChoicePiece,
    Finish,
    GenerationOptions,
    Message,
    Provider,
    TextDelta,
    ToolCallDelta,
    StreamPiece,
    ToolSpec,
)
from chatkiosk.llm.config import ProviderConfig
from chatkiosk.llm.openai_compat import OpenAICompatProvider

AGENT_LABEL = "passthrough"  # the `agent` label of its metrics

ToolChoice = str | dict[str, object] | None
"""OpenAI's `tool_choice`: "none", "auto", "required" or {"type": "function", ...}."""

PieceSink = Callable[[StreamPiece], Awaitable[None]]
"""Where a relayed piece goes (the turn publishes it and keeps the accounts)."""


@dataclass(frozen=True, slots=True)
class PassthroughModel:
    """An upstream model clients may call directly: its name and the provider serving it."""

    model: str
    provider_name: str
    provider: Provider


@dataclass(slots=True)
class UpstreamCall:
    """What a passthrough turn sends: the client's messages and tools, to `target`."""

    target: PassthroughModel
    messages: list[Message]
    tools: list[ToolSpec] | None = None
    tool_choice: ToolChoice = None
    # The client's own fields (tools as sent, `strict` included; response_format, seed,
    # logprobs, max_completion_tokens, …), put on the upstream body as they are.
    fields: dict[str, object] = field(default_factory=dict)
    max_tokens: int | None = None  # the client's `max_tokens`; none is sent when it set none

    def provider(self) -> Provider:
        """The target's provider, with the client's own fields where the wire has them."""
        provider = self.target.provider
        fields = dict(self.fields)
        if self.tool_choice is not None and self.tools:
            fields.setdefault("tool_choice", self.tool_choice)  # "none" too: the tools are on the body
        if fields and isinstance(provider, OpenAICompatProvider):
            return _ForwardingProvider(provider, fields)
        return provider

    @property
    def choices(self) -> int:
        """How many answers the client asked for (`n`)."""
        return int(self.fields.get("n") or 1)  # type: ignore[call-overload]

    def relays_fields(self) -> bool:
        """Whether the target's wire takes the client's own fields (`n`, `logprobs`, …)."""
        return isinstance(self.target.provider, OpenAICompatProvider)

    def offered_tools(self) -> list[ToolSpec] | None:
        """The tools offered to the model (none with `tool_choice: "none"`)."""
        return None if self.tool_choice == "none" else self.tools


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


class _ForwardingProvider(OpenAICompatProvider):
    """The same upstream (config, key, connection pool) with the client's own fields on the body.

    The Provider interface has no `tool_choice`, `response_format`, `seed`, …; only passthrough
    needs them, so they are added here, to the one wire format that has them. A client's
    `max_completion_tokens` goes as it is (OpenAI's reasoning models refuse `max_tokens`).
    """

    def __init__(self, inner: OpenAICompatProvider, fields: dict[str, object]) -> None:
        self.__dict__.update(inner.__dict__)  # shares inner's client: closing stays inner's job
        self._fields = fields

    def _body(self, *args: object, **kwargs: object) -> dict[str, object]:
        body = super()._body(*args, **kwargs)  # type: ignore[arg-type]
        body.update(self._fields)
        if "max_completion_tokens" in self._fields:
            body.pop("max_tokens", None)
        return body


@dataclass(slots=True)
class Relayed:
    """What a passthrough stream said: its text, everything it produced (for the token
    estimate), and its finish reason."""

    text: list[str]
    produced: list[str]
    finish: str = "stop"


async def relay_upstream(call: UpstreamCall, options: GenerationOptions, publish: PieceSink, relayed: Relayed) -> None:
    """Stream the upstream call, handing every piece to `publish` as it comes (filling `relayed`)."""
    provider = call.provider()
    async with aclosing(provider.stream(call.messages, tools=call.offered_tools(), options=options)) as stream:
        async for piece in stream:
            first = True  # the first choice is the turn's own text and finish
            own = piece
            if isinstance(piece, ChoicePiece):
                first, own = piece.index == 0, piece.piece
            if isinstance(own, TextDelta):
                if first:
                    relayed.text.append(own.text)
                relayed.produced.append(own.text)
            elif isinstance(own, ToolCallDelta):
                relayed.produced.append(own.arguments)
            elif isinstance(own, Finish) and first:
                relayed.finish = own.reason
            await publish(piece)

