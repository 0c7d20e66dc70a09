"""Stream events of a chat turn: one tagged union of domain values.

The engine (chat/) produces these; they carry domain values — stored message rows, the turn's
usage, the error raised, the upstream's own stream pieces — never bodies shaped for a wire.
SSE, WebSocket frames and OpenAI chunks / whole completions are the three encoders of them, at
the edge (api/). Every event of a turn has a sequence number (its place in the generation's
log) so a client can re-join with `events?after=<seq>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from chatkiosk.errors import ChatkioskError
from chatkiosk.llm.base import StreamPiece

if TYPE_CHECKING:
    from chatkiosk.store.turn_rows import AnyMessage


@dataclass(frozen=True, slots=True)
class TurnUsage:
    """What a turn cost: tokens in and out, whether its context was cut, whether an LLM ran.

    `estimated`: the upstream reported no usage (it failed first), so the server counted.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    context_truncated: bool = False
    llm: bool = True
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        """The usage as stored with the message and sent on every wire."""
        body: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens, "context_truncated": self.context_truncated, "llm": self.llm,
        }
        if self.estimated:
            body["estimated"] = True
        return body

    @classmethod
    def of_stored(cls, stored: dict[str, Any] | None) -> TurnUsage:
        """The usage read back from a stored message (`as_dict`'s output)."""
        stored = stored or {}
        return cls(
            int(stored.get("prompt_tokens") or 0), int(stored.get("completion_tokens") or 0),
            bool(stored.get("context_truncated")), bool(stored.get("llm", True)), bool(stored.get("estimated")),
        )


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """The stored user message that started the turn."""

    message: AnyMessage
    type: Literal["message"] = "message"


@dataclass(frozen=True, slots=True)
class DeltaEvent:
    """A piece of the assistant's answer."""

    text: str
    type: Literal["delta"] = "delta"


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """The model asked for a tool."""

    id: str
    name: str
    arguments: dict[str, Any] | str
    type: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """A tool answered (or failed; then `result` holds the error the model saw)."""

    id: str
    name: str
    result: Any
    type: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True, slots=True)
class PieceEvent:
    """A raw piece of the upstream's stream (text, a tool-call piece, finish, usage): what a
    passthrough turn — one with no server tools — emits instead of deltas."""

    piece: StreamPiece
    type: Literal["piece"] = "piece"


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The turn ended; `message` is the assistant message in its final status.

    `finish` is the upstream's finish reason (`stop`, `length`, `tool_calls`).
    """

    message: AnyMessage
    usage: TurnUsage
    finish: str = "stop"
    type: Literal["done"] = "done"


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """The turn failed with `error`; a `DoneEvent` follows."""

    error: ChatkioskError
    type: Literal["error"] = "error"


Event = MessageEvent | DeltaEvent | ToolCallEvent | ToolResultEvent | PieceEvent | DoneEvent | ErrorEvent
