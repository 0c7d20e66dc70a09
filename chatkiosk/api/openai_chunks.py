"""Chat events as OpenAI `chat.completion.chunk`s: the third encoder, next to SSE and WebSocket.

An agent's turn is encoded from its `events.Event`s; a passthrough call from the provider's
stream pieces (it has tool-call pieces, which are no chat event). Both end the same way: a
chunk with `finish_reason`, the usage chunk when the client asked for it, then `[DONE]`.
Server-side tool calls of an agent are not sent: they are the agent's business, and an OpenAI
client would try to run them.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from chatkiosk.events import DeltaEvent, DoneEvent, ErrorEvent, Event
from chatkiosk.llm.base import Usage

DONE = "data: [DONE]\n\n"


def completion_id() -> str:
    """A new `chatcmpl-…` id."""
    return "chatcmpl-" + secrets.token_hex(12)


def usage_body(usage: Usage | dict[str, Any]) -> dict[str, int]:
    """OpenAI's usage object from ours (a `Usage` or a turn's usage dict)."""
    if isinstance(usage, Usage):
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
    else:
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class ChunkEncoder:
    """Encodes one streamed answer; each method returns the SSE text to send."""

    def __init__(self, model: str, *, include_usage: bool = False, id: str | None = None) -> None:
        self.model = model
        self.include_usage = include_usage
        self.id = id or completion_id()
        self.created = int(time.time())
        self._tool_ids: set[int] = set()

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        body: dict[str, Any] = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            body["usage"] = None  # as OpenAI: null on every chunk but the last
        return _sse(body)

    def start(self) -> str:
        """The first chunk: the assistant's role."""
        return self._chunk({"role": "assistant", "content": ""})

    def text(self, text: str) -> str:
        return self._chunk({"content": text}) if text else ""

    def tool_call(self, index: int, id: str | None, name: str | None, arguments: str) -> str:
        """A piece of a tool call; the first piece of an index carries its id, type and name."""
        call: dict[str, Any] = {"index": index}
        if index not in self._tool_ids:
            self._tool_ids.add(index)
            call.update(id=id or f"call_{secrets.token_hex(8)}", type="function")
            call["function"] = {"name": name or "", "arguments": arguments}
        else:
            call["function"] = {"arguments": arguments}
        return self._chunk({"tool_calls": [call]})

    def end(self, reason: str, usage: Usage | dict[str, Any] | None) -> str:
        """The finishing chunk, the usage chunk (when asked for) and `[DONE]`."""
        out = self._chunk({}, reason)
        if self.include_usage:
            out += _sse({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "system_fingerprint": None, "choices": [], "usage": usage_body(usage or Usage()),
            })
        return out + DONE

    @staticmethod
    def error(error: dict[str, Any]) -> str:
        """An error after the stream began, as OpenAI sends one (the client raises `APIError`)."""
        return _sse({"error": error})

    def event(self, event: Event) -> str:
        """A chat event of an agent's turn (the user message and tool events send nothing)."""
        if isinstance(event, DeltaEvent):
            return self.text(event.text)
        if isinstance(event, DoneEvent):
            return self.end("stop", event.usage)
        if isinstance(event, ErrorEvent):
            return self.error(event.error)
        return ""


def completion(
    model: str, text: str, usage: Usage | dict[str, Any], *, finish: str = "stop",
    tool_calls: list[dict[str, Any]] | None = None, id: str | None = None,
) -> dict[str, Any]:
    """A whole `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not tool_calls else None, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": id or completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage_body(usage),
    }
