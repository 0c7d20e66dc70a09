"""Chat events as OpenAI `chat.completion.chunk`s and whole `chat.completion`s: the third
encoder, next to SSE and WebSocket.

An agent's turn is encoded from its deltas; a passthrough turn from the upstream's own pieces
(`PieceEvent`: text, tool-call pieces, finish; with the client's `n` and `logprobs`, every
choice's pieces with the upstream's logprobs as it sent them). Both end the same way: a chunk with
`finish_reason`, the usage chunk when the client asked for it, then `[DONE]`; an error after
the stream began is one error chunk and the end. Server-side tool calls of an agent are not
sent: they are the agent's business, and an OpenAI client would try to run them.

The chunks are rendered from templates made once per answer (the envelope's bytes around the
delta), so a content chunk costs one string dump.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from chatkiosk.events import DeltaEvent, DoneEvent, ErrorEvent, Event, PieceEvent, TurnUsage
from chatkiosk.llm.base import ChoicePiece, Finish, TextDelta, ToolCallDelta, Usage

DONE = b"data: [DONE]\n\n"


def completion_id() -> str:
    """A new `chatcmpl-…` id."""
    return "chatcmpl-" + secrets.token_hex(12)


def finish_reason(done: DoneEvent) -> str:
    """OpenAI's `finish_reason` for a finished turn: a turn a guardrail blocked is `content_filter`."""
    return "content_filter" if done.message.status == "blocked" else done.finish


def usage_body(usage: Usage | TurnUsage) -> dict[str, int]:
    """OpenAI's usage object from ours."""
    prompt, completion = usage.prompt_tokens, usage.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _sse(data: Any) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


class ChunkEncoder:
    """Encodes one streamed answer; each method returns the SSE bytes to send."""

    def __init__(self, model: str, *, include_usage: bool = False, id: str | None = None) -> None:
        self.model = model
        self.include_usage = include_usage
        self.id = id or completion_id()
        self.created = int(time.time())
        self._tool_ids: set[tuple[int, int]] = set()  # (choice, tool call index) already opened
        self._choices: set[int] = {0}  # choices whose role chunk was sent
        self._ended = False
        envelope = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": model, "system_fingerprint": None}
        self._open = b'data: ' + orjson.dumps(envelope)[:-1] + b',"choices":[{"index":0,"delta":'
        self._close = b',"logprobs":null,"finish_reason":null}]' + (b',"usage":null' if include_usage else b"") + b"}\n\n"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        if finish is None:
            return self._open + orjson.dumps(delta) + self._close
        tail = b',"logprobs":null,"finish_reason":' + orjson.dumps(finish) + b"}]"
        return self._open + orjson.dumps(delta) + tail + (b',"usage":null' if self.include_usage else b"") + b"}\n\n"

    def start(self) -> bytes:
        """The first chunk: the assistant's role."""
        return self._chunk({"role": "assistant", "content": ""})

    def text(self, text: str) -> bytes:
        """A content chunk (nothing for empty text)."""
        return self._open + b'{"content":' + orjson.dumps(text) + b"}" + self._close if text else b""

    def _call(self, piece: ToolCallDelta, choice: int = 0) -> dict[str, Any]:
        call: dict[str, Any] = {"index": piece.index}
        if (choice, piece.index) not in self._tool_ids:
            self._tool_ids.add((choice, piece.index))
            call.update(id=piece.id or f"call_{secrets.token_hex(8)}", type="function")
            call["function"] = {"name": piece.name or "", "arguments": piece.arguments}
        else:
            call["function"] = {"arguments": piece.arguments}
        return call

    def tool_call(self, piece: ToolCallDelta) -> bytes:
        """A piece of a tool call; the first piece of an index carries its id, type and name."""
        return self._chunk({"tool_calls": [self._call(piece)]})

    def choice(self, part: ChoicePiece) -> bytes:
        """A piece of any choice (`n`), with the upstream's logprobs; the first choice's finish
        is sent at the end, with the turn's own."""
        piece, delta = part.piece, {}
        finish = piece.reason if isinstance(piece, Finish) and part.index != 0 else None
        if isinstance(piece, TextDelta):
            delta = {"content": piece.text}
        elif isinstance(piece, ToolCallDelta):
            delta = {"tool_calls": [self._call(piece, part.index)]}
        if finish is None and not delta and part.logprobs is None:
            return b""
        if part.index not in self._choices:
            self._choices.add(part.index)
            delta = {"role": "assistant", **delta}
        return _sse({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": part.index, "delta": delta, "logprobs": part.logprobs, "finish_reason": finish}],
            **({"usage": None} if self.include_usage else {}),
        })

    def end(self, reason: str, usage: Usage | TurnUsage | None) -> bytes:
        """The finishing chunk, the usage chunk (when asked for) and `[DONE]`."""
        out = self._chunk({}, reason)
        if self.include_usage:
            out += _sse({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "system_fingerprint": None, "choices": [], "usage": usage_body(usage or Usage()),
            })
        return out + DONE

    @staticmethod
    def error(error: dict[str, Any]) -> bytes:
        """An error after the stream began, as OpenAI sends one (the client raises `APIError`)."""
        return _sse({"error": error})

    def event(self, seq: int, event: Event) -> bytes:
        """One event of the turn (the user message and server tool events send nothing)."""
        if self._ended:
            return b""
        if isinstance(event, DeltaEvent):
            return self.text(event.text)
        if isinstance(event, PieceEvent):
            piece = event.piece
            if isinstance(piece, TextDelta):
                return self.text(piece.text)
            if isinstance(piece, ToolCallDelta):
                return self.tool_call(piece)
            if isinstance(piece, ChoicePiece):
                return self.choice(piece)
            return b""
        if isinstance(event, DoneEvent):
            self._ended = True
            return self.end(finish_reason(event), event.usage)
        if isinstance(event, ErrorEvent):
            self._ended = True  # as OpenAI: the error chunk ends the stream
            return self.error(event.error.body()["error"])
        return b""


@dataclass(slots=True)
class _Choice:
    """One choice of a whole completion, gathered from its pieces."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish: str = "stop"
    logprobs: dict[str, Any] | None = None

    def add(self, piece: TextDelta | ToolCallDelta | Finish | None, logprobs: dict[str, Any] | None = None) -> None:
        if isinstance(piece, TextDelta):
            self.text.append(piece.text)
        elif isinstance(piece, ToolCallDelta):
            slot = self.calls.setdefault(piece.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
            slot["id"] = slot["id"] or piece.id
            slot["function"]["name"] = slot["function"]["name"] or (piece.name or "")
            slot["function"]["arguments"] += piece.arguments
        elif isinstance(piece, Finish):
            self.finish = piece.reason
        if logprobs is not None:  # streamed logprobs come a token list per chunk: joined, as a whole answer has them
            merged = self.logprobs if self.logprobs is not None else {}
            for key, value in logprobs.items():
                if isinstance(value, list):
                    merged[key] = [*(merged.get(key) or []), *value]
                elif merged.get(key) is None:
                    merged[key] = value
            self.logprobs = merged

    def body(self, index: int, text: str | None = None) -> dict[str, Any]:
        tool_calls = [self.calls[i] for i in sorted(self.calls)] or None
        content = "".join(self.text) if text is None else text
        message: dict[str, Any] = {"role": "assistant", "content": content if content or not tool_calls else None, "refusal": None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return {"index": index, "message": message, "logprobs": self.logprobs, "finish_reason": self.finish}


def completion(events: list[Event], model: str, *, id: str | None = None) -> dict[str, Any]:
    """A whole `chat.completion` object from a finished turn's events (every choice of them)."""
    done = next(e for e in reversed(events) if isinstance(e, DoneEvent))
    choices: dict[int, _Choice] = {0: _Choice()}
    for event in events:
        if isinstance(event, PieceEvent):
            piece = event.piece
            if isinstance(piece, ChoicePiece):
                choices.setdefault(piece.index, _Choice()).add(piece.piece, piece.logprobs)
            elif isinstance(piece, ToolCallDelta):
                choices[0].add(piece)
    first = choices[0]
    first.finish = finish_reason(done)  # the turn's own (a blocked turn: content_filter)
    return {
        "id": id or completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "system_fingerprint": None,
        "choices": [choices[i].body(i, done.message.content if i == 0 else None) for i in sorted(choices)],
        "usage": usage_body(done.usage),
    }
