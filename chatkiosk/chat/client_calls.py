"""Calls to the client's own tools in a stored conversation: asked for, then answered.

An agent bound to a conversation (the OpenAI API with a binding) may call a tool the client
offered. The turn ends there (`finish_reason: "tool_calls"`) and its assistant message is stored
with those calls: `tool_calls` entries with `"status": "client"` beside the records of the
agent's own tools. The client runs them and sends the `tool` messages in its next request,
which goes on with the same turn: the results are stored as `tool` messages, and the agent
continues from the stored user message, the stored calls and those results.

The calls come from the store, never from the request: the client only answers calls the agent
made, so it cannot make the agent believe it ran a tool (SECURITY 16).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chatkiosk.errors import ValidationFailed
from chatkiosk.llm.base import Message as ChatMessage
from chatkiosk.llm.base import ToolCall
from chatkiosk.store.tables import Message

CLIENT = "client"  # the status of a stored call the client runs


def entries(calls: list[ToolCall]) -> list[dict[str, Any]]:
    """The client's calls as the assistant message stores them (shaped like tool-call records)."""
    return [
        {"id": c.id, "name": c.name, "arguments": _arguments(c.arguments), "result": None, "status": CLIENT, "duration_ms": 0}
        for c in calls
    ]


def _arguments(raw: str) -> dict[str, Any] | str:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return raw
    return value if isinstance(value, dict) else raw


def _client_calls(row: Message) -> list[dict[str, Any]]:
    return [c for c in row.tool_calls or [] if isinstance(c, dict) and c.get("status") == CLIENT]


@dataclass(slots=True)
class Exchange:
    """The stored turn a client's tool results continue: its user message, the messages before
    it, and what followed it (the assistant's client calls and the results stored so far)."""

    user: Message
    before: list[Message]
    messages: list[ChatMessage] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)  # call id -> tool name, still unanswered
    answered: set[str] = field(default_factory=set)

    def answers(self, continued: list[ChatMessage]) -> list[ChatMessage]:
        """The request's new `tool` results, each answering a call still pending; every pending
        call must be answered. Results already stored are skipped; any other is a 400."""
        new: dict[str, ChatMessage] = {}
        for m in continued:
            if m.get("role") != "tool":
                continue
            call_id = str(m.get("tool_call_id") or "")
            if call_id in self.pending:
                new.setdefault(call_id, {"role": "tool", "tool_call_id": call_id, "content": str(m.get("content") or "")})
            elif call_id not in self.answered:
                raise ValidationFailed(
                    f"the tool result {call_id!r} answers no call the agent made in this conversation",
                    code="unknown_tool_call", param="messages",
                )
        missing = [call_id for call_id in self.pending if call_id not in new]
        if missing:
            raise ValidationFailed(
                f"the result of the call {missing[0]!r} ({self.pending[missing[0]]}) is missing: answer every call of the last assistant message",
                code="tool_result_missing", param="messages",
            )
        return list(new.values())


def open_exchange(rows: list[Message]) -> Exchange | None:
    """The turn whose client calls wait for results, from the end of the stored history (None:
    the agent's last answer called none of the client's tools). Answers that failed after the
    results were stored do not count: the client may send the same results again."""
    last_user = next((i for i in range(len(rows) - 1, -1, -1) if rows[i].role == "user"), None)
    if last_user is None:
        return None
    exchange = Exchange(rows[last_user], rows[:last_user])
    for row in rows[last_user + 1:]:
        if row.role == "assistant" and row.status == "complete":
            calls = _client_calls(row)
            if not calls:
                return None  # the agent answered after the calls: nothing waits
            exchange.messages.append({
                "role": "assistant", "content": row.content or None,
                "tool_calls": [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": _wire(c.get("arguments"))}}
                    for c in calls
                ],
            })
            exchange.answered.update(exchange.pending)
            exchange.pending = {c["id"]: c["name"] for c in calls}
        elif row.role == "tool" and row.tool_call_id in exchange.pending:
            exchange.messages.append({"role": "tool", "tool_call_id": row.tool_call_id, "content": row.content})
            del exchange.pending[row.tool_call_id]
            exchange.answered.add(row.tool_call_id)
    return exchange if exchange.messages else None


def _wire(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
