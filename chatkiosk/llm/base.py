"""The provider interface: what every LLM backend must offer, and the values it returns.

A provider speaks one wire format to one host. Messages are plain OpenAI-style dicts
(`{"role", "content", "tool_calls"?, "tool_call_id"?}`) because every backend we talk to
either speaks that format or is a short translation away from it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Sampling options for one call; `None` means the provider's default."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    model: str | None = None
    # The JSON command format's answer schema (agents.command_format): a provider that can
    # constrain decoding lets the model write plain text or JSON of exactly this shape.
    command_schema: dict[str, Any] | None = None
    text_only: bool = False  # with command_schema: this answer must be plain text
    repeat_penalty: float | None = None
    # OpenAI's `response_format` (json_object / json_schema), for providers whose
    # `supports_response_format` is true; the others are never given one.
    response_format: dict[str, Any] | None = None
    # OpenAI's `tool_choice` for this call when a tool call is forced: "required" or
    # {"type": "function", "function": {"name": ...}}; None leaves the choice to the model.
    # Sent only with tools; a local model's grammar then admits only commands.
    tool_choice: str | dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model sees it: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call requested by the model; `arguments` is the raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class Usage:
    """Token counts of one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


# --- streamed pieces -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call: `index` groups pieces; id and name come in the first piece."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    kind: Literal["tool_call_delta"] = "tool_call_delta"


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Usage of the call, usually the last piece of a stream."""

    usage: Usage
    kind: Literal["usage"] = "usage"


@dataclass(frozen=True, slots=True)
class Finish:
    """The model stopped: `stop`, `length`, `tool_calls` or `content_filter`."""

    reason: str
    kind: Literal["finish"] = "finish"


@dataclass(frozen=True, slots=True)
class ChoicePiece:
    """A piece of another choice than the first (a client's `n`), or one that carries the
    upstream's `logprobs` as it sent them: only passthrough asks for those, and relays them.
    `piece` is None for a chunk that carried logprobs and no text."""

    index: int
    piece: TextDelta | ToolCallDelta | Finish | None
    logprobs: dict[str, Any] | None = None
    kind: Literal["choice"] = "choice"


StreamPiece = TextDelta | ToolCallDelta | UsageReport | Finish | ChoicePiece


@dataclass(slots=True)
class Completion:
    """The whole answer of a non-streamed call."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    model: str = ""


@runtime_checkable
class Provider(Protocol):
    """An LLM backend. Implementations: openai_compat, anthropic, local, fake."""

    name: str
    supports_tools: bool
    # Optional capabilities, read with `getattr(provider, ..., False)`: `supports_response_format`
    # (takes `GenerationOptions.response_format`) and `supports_images` (the model sees image parts:
    # a user message whose content is a list of `{"type": "text"}` and `{"type": "image_url",
    # "image_url": {"url": "data:…"}}` parts, as OpenAI defines them).

    def stream(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[StreamPiece]:
        """Stream the answer. Raises `UpstreamError` (see errors) on failure.

        Closing the iterator early (the caller went away) must cancel the upstream request.
        """
        ...

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> Completion:
        """Return the whole answer at once."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` costs with this provider's tokenizer, or a documented estimate."""
        ...

    async def check(self) -> bool:
        """True when the backend is reachable and ready (used by `/ready`)."""
        ...

    async def aclose(self) -> None:
        """Release connections, threads and models."""
        ...


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: ~4 characters a token for Latin script, 1 a token for CJK.

    BPE tokenizers of small models spend about one token per Hangul or Han character and about
    one per four ASCII characters; this errs on the high side so budgets are never overrun.
    """
    if text.isascii():  # the common case, on every streamed piece: no walk over the characters
        return (len(text) + 3) // 4
    cjk = len(_WIDE.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


_WIDE = re.compile("[\u1100-\U0010ffff]")  # what `estimate_tokens` counts as a token each
