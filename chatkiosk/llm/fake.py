"""A scripted provider for tests: each call plays the next scripted turn.

    llm = ScriptedProvider([
        "Hello!",                                   # one text piece
        tool_call("add_item", {"item_id": "cola"}), # one tool call
        ["chunk1", "chunk2", usage(10, 2)],         # several pieces
        [delay(0.5), "late"],                       # wait, then answer
        UpstreamError("down", retryable=True),      # fail before the first piece
        lambda messages, tools, options: "echo: " + messages[-1]["content"],
    ])
    ...
    llm.assert_complete()

A turn without a `Finish` gets one (`tool_calls` when it called a tool, else `stop`) and,
unless `auto_usage=False`, a `UsageReport` estimated from the messages and the text.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Union

from .base import (
    Completion,
    Finish,
    GenerationOptions,
    Message,
    StreamPiece,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageReport,
    estimate_tokens,
)


@dataclass(frozen=True)
class ScriptedToolCall:
    """A whole tool call in a script; `chunks` splits its arguments over several pieces."""

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None
    chunks: int = 1


@dataclass(frozen=True)
class Delay:
    """Wait before the next piece (to test deadlines, cancellation, slow upstreams)."""

    seconds: float


def tool_call(name: str, arguments: dict[str, Any] | str | None = None, *, id: str | None = None, chunks: int = 1) -> ScriptedToolCall:
    """A scripted tool call; `arguments` is a dict (dumped to JSON) or raw JSON text."""
    return ScriptedToolCall(name, {} if arguments is None else arguments, id, max(1, chunks))


def usage(prompt_tokens: int, completion_tokens: int) -> UsageReport:
    """A scripted usage piece."""
    return UsageReport(Usage(prompt_tokens, completion_tokens))


def delay(seconds: float) -> Delay:
    """A scripted pause."""
    return Delay(seconds)


Spec = Union[str, StreamPiece, ScriptedToolCall, Delay, BaseException, Completion]
Turn = Union[Spec, list[Spec], Callable[[list[Message], list[ToolSpec] | None, GenerationOptions], Any]]


@dataclass
class ScriptedCall:
    """One recorded call: what the provider was asked, and how the call ended."""

    method: str
    messages: list[Message]
    tools: list[ToolSpec] | None
    options: GenerationOptions
    finished: bool = False
    closed_early: bool = False

    @property
    def last_user_text(self) -> str:
        """Text of the last user message (its text parts, when it has image parts), handy in assertions."""
        return next((_text(m.get("content")) for m in reversed(self.messages) if m.get("role") == "user"), "")

    @property
    def images(self) -> list[str]:
        """The image URLs (data: URLs) of the call's messages, in order."""
        return [
            part["image_url"]["url"] for m in self.messages if isinstance(m.get("content"), list)
            for part in m["content"] if part.get("type") == "image_url"
        ]


def _text(content: Any) -> str:
    """A message's text: the string, or its text parts joined (image parts cost no text here)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content or "")


@dataclass
class ScriptedProvider:
    """Plays `turns` in order, one per `stream()`/`complete()` call, recording each call."""

    turns: list[Turn] = field(default_factory=list)
    name: str = "scripted"
    supports_tools: bool = True
    supports_response_format: bool = True  # recorded in the call's options
    supports_images: bool = True  # image parts are recorded in `calls[i].messages` as sent
    auto_usage: bool = True
    ready: bool = True

    def __post_init__(self) -> None:
        self.turns = list(self.turns)
        self.calls: list[ScriptedCall] = []
        self.closed = False

    def add(self, *turns: Turn) -> ScriptedProvider:
        """Append turns to the script."""
        self.turns.extend(turns)
        return self

    @property
    def remaining(self) -> int:
        """How many scripted turns have not been played yet."""
        return len(self.turns)

    def assert_complete(self) -> None:
        """Raise AssertionError when scripted turns were never played."""
        if self.turns:
            raise AssertionError(f"{self.name}: {len(self.turns)} scripted turn(s) never played: {self.turns!r}")

    # --- Provider --------------------------------------------------------------------

    async def stream(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[StreamPiece]:
        """Play the next turn as a stream."""
        call = self._record("stream", messages, tools, options)
        try:
            async for piece in self._play(call):
                yield piece
        except GeneratorExit:
            call.closed_early = True
            raise
        except asyncio.CancelledError:
            call.closed_early = True
            raise
        call.finished = True

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        options: GenerationOptions = GenerationOptions(),
    ) -> Completion:
        """Play the next turn and gather it into one `Completion`."""
        call = self._record("complete", messages, tools, options)
        result = Completion(model=self.name)
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        async for piece in self._play(call):
            if isinstance(piece, TextDelta):
                text.append(piece.text)
            elif isinstance(piece, ToolCallDelta):
                entry = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] = piece.id or entry["id"]
                entry["name"] = piece.name or entry["name"]
                entry["arguments"] += piece.arguments
            elif isinstance(piece, UsageReport):
                result.usage = piece.usage
            elif isinstance(piece, Finish):
                result.finish_reason = piece.reason
        result.text = "".join(text)
        result.tool_calls = [ToolCall(**calls[i]) for i in sorted(calls)]
        call.finished = True
        return result

    def count_tokens(self, text: str) -> int:
        """The shared estimate (see `estimate_tokens`)."""
        return estimate_tokens(text)

    async def check(self) -> bool:
        """`ready`, settable by tests."""
        return self.ready

    async def aclose(self) -> None:
        """Mark the provider closed."""
        self.closed = True

    # --- playing a turn ----------------------------------------------------------------

    def _record(self, method: str, messages: list[Message], tools: list[ToolSpec] | None, options: GenerationOptions) -> ScriptedCall:
        # A deep copy: callers mutate their message lists after the call.
        call = ScriptedCall(method, copy.deepcopy(messages), list(tools) if tools else tools, options)
        self.calls.append(call)
        return call

    async def _play(self, call: ScriptedCall) -> AsyncIterator[StreamPiece]:
        if not self.turns:
            raise AssertionError(
                f"{self.name}: no scripted turn left for call #{len(self.calls)} "
                f"(last user message: {call.last_user_text!r})"
            )
        turn = self.turns.pop(0)
        if callable(turn) and not isinstance(turn, (BaseException, type)):
            turn = turn(call.messages, call.tools, call.options)
        specs = turn if isinstance(turn, list) else [turn]

        text: list[str] = []
        n_tools = 0
        finished = reported = False
        for spec in specs:
            if isinstance(spec, BaseException):
                raise spec
            if isinstance(spec, Delay):
                await asyncio.sleep(spec.seconds)
                continue
            for piece in self._expand(spec, n_tools):
                if isinstance(piece, TextDelta):
                    text.append(piece.text)
                elif isinstance(piece, ToolCallDelta) and piece.name:
                    n_tools += 1
                elif isinstance(piece, Finish):
                    finished = True
                elif isinstance(piece, UsageReport):
                    reported = True
                yield piece
                await asyncio.sleep(0)  # let other tasks (and cancellation) in between pieces
        if not finished:
            yield Finish("tool_calls" if n_tools else "stop")
        if self.auto_usage and not reported:
            prompt = sum(estimate_tokens(_text(m.get("content"))) for m in call.messages)
            yield UsageReport(Usage(prompt, max(1, estimate_tokens("".join(text)))))

    def _expand(self, spec: Spec, n_tools: int) -> list[StreamPiece]:
        if isinstance(spec, str):
            return [TextDelta(spec)] if spec else []
        if isinstance(spec, ScriptedToolCall):
            args = spec.arguments if isinstance(spec.arguments, str) else json.dumps(spec.arguments, ensure_ascii=False)
            size = -(-len(args) // spec.chunks) or 1
            parts = [args[i : i + size] for i in range(0, len(args), size)] or [""]
            call_id = spec.id or f"call_{n_tools}_{spec.name}"
            first = ToolCallDelta(n_tools, id=call_id, name=spec.name, arguments=parts[0])
            return [first, *(ToolCallDelta(n_tools, arguments=p) for p in parts[1:])]
        if isinstance(spec, Completion):
            pieces: list[StreamPiece] = [TextDelta(spec.text)] if spec.text else []
            for i, tc in enumerate(spec.tool_calls):
                pieces.append(ToolCallDelta(n_tools + i, id=tc.id, name=tc.name, arguments=tc.arguments))
            return [*pieces, UsageReport(spec.usage), Finish(spec.finish_reason)]
        if isinstance(spec, (TextDelta, ToolCallDelta, UsageReport, Finish)):
            return [spec]
        raise TypeError(f"ScriptedProvider: cannot play {spec!r}; use text, tool_call(), usage(), delay() or an exception")
