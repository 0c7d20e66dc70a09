"""Stream events of a chat turn: one tagged union.

The core produces these; SSE, WebSocket frames and OpenAI chunks are three encoders of them
at the edge (api/). Every event of a turn carries a sequence number so a client can re-join
with `events?after=<seq>`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """The stored user message that started the turn."""

    message: dict[str, Any]
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
class DoneEvent:
    """The turn ended; `message` is the stored assistant message in its final status."""

    message: dict[str, Any]
    usage: dict[str, Any] = field(default_factory=dict)
    type: Literal["done"] = "done"


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """The turn failed; `error` is the API's error object."""

    error: dict[str, Any]
    type: Literal["error"] = "error"


Event = MessageEvent | DeltaEvent | ToolCallEvent | ToolResultEvent | DoneEvent | ErrorEvent


def event_data(event: Event) -> dict[str, Any]:
    """The event's payload without its tag, as sent on the wire."""
    data = asdict(event)
    data.pop("type")
    return data
