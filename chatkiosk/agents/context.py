"""Context policies: which messages of a conversation the model sees on a turn.

The system prompt always comes first; then as many of the most recent messages as fit in the
policy's message count and token budget. History is walked newest to oldest and the walk stops
as soon as the window is full, so the 10,000th turn of a conversation costs what the 10th did.
An assistant message with `tool_calls` is never separated from its tool results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]
TokenCounter = Callable[[str], int]

# What a message costs beyond its text (role, separators of the chat template).
MESSAGE_OVERHEAD = 4
_WIRE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


@dataclass(frozen=True, slots=True)
class ContextPolicy:
    """How much history an agent sends: the last `max_messages`, within `max_context_tokens`.

    With `summary`, a running summary of what was cut (when the caller has one) is sent as a
    second system message.
    """

    max_messages: int = 40
    max_context_tokens: int = 3000
    summary: bool = False

    def history_window(self) -> int:
        """How many stored messages a caller needs to load at most (newest first)."""
        return self.max_messages


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: count the text ones
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def message_tokens(message: Message, count_tokens: TokenCounter) -> int:
    """Tokens one message costs: its text, its tool calls' names and arguments, and overhead."""
    tokens = MESSAGE_OVERHEAD + count_tokens(_text(message.get("content")))
    for call in message.get("tool_calls") or ():
        fn = call.get("function", call)
        tokens += count_tokens(str(fn.get("name", ""))) + count_tokens(str(fn.get("arguments", "")))
    return tokens


def wire_message(message: Message) -> Message:
    """The message as a provider takes it: stored fields like id, status and usage dropped."""
    return {k: message[k] for k in _WIRE_KEYS if k in message and message[k] is not None}


def _unit(message: Message, cost: int, group: list[Message], group_tokens: int) -> tuple[list[Message], int]:
    """A message with the tool results that answer it, chronological; never half a pair."""
    calls = message.get("tool_calls")
    if not calls:
        # Tool results with no asking message before them cannot be sent: drop them.
        return [message], cost
    asked = {c.get("id") for c in calls}
    answered = {g.get("tool_call_id") for g in group}
    if asked == answered:
        return [message, *reversed(group)], cost + group_tokens
    # Calls without all their results (an interrupted turn) are sent as plain text, if any.
    content = message.get("content")
    return ([{"role": message.get("role", "assistant"), "content": content}] if content else []), cost


def build_context(
    policy: ContextPolicy,
    system_prompt: str | None,
    history: Sequence[Message],
    new_messages: Sequence[Message],
    count_tokens: TokenCounter,
    *,
    summary: str | None = None,
) -> tuple[list[Message], bool]:
    """The messages for one model call, and whether older history was left out.

    `history` is oldest → newest (a caller may pass just its newest `policy.history_window()`
    messages); `new_messages` (the turn's user message) are always kept. Only the newest end of
    `history` is read, and at most `max_messages` + one group of it. `summary` is a running
    summary of what was cut; with `policy.summary` it is sent when something was cut.
    """
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    fresh = [wire_message(m) for m in new_messages]
    budget = policy.max_context_tokens
    budget -= sum(message_tokens(m, count_tokens) for m in system + fresh)
    summary_message = None
    if policy.summary and summary:
        summary_message = {"role": "system", "content": f"Summary of the earlier conversation: {summary}"}
        budget -= message_tokens(summary_message, count_tokens)

    kept: list[Message] = []  # newest first, reversed at the end
    room = max(policy.max_messages - len(fresh), 0)
    group: list[Message] = []  # tool results waiting for the assistant message that asked
    group_tokens = 0
    index = len(history) - 1
    truncated = False
    while index >= 0:
        message = history[index]
        cost = message_tokens(message, count_tokens)
        if message.get("role") == "tool":
            group.append(message)
            group_tokens += cost
            if len(kept) + len(group) > room or group_tokens > budget:
                truncated = True
                break
            index -= 1
            continue
        unit, unit_tokens = _unit(message, cost, group, group_tokens)
        if len(kept) + len(unit) > room or unit_tokens > budget:
            truncated = True
            break
        kept.extend(reversed(unit))
        budget -= unit_tokens
        group, group_tokens = [], 0
        index -= 1
    else:
        truncated = bool(group)  # orphan tool results at the very start were left out

    messages = system
    if truncated and summary_message is not None:
        messages = messages + [summary_message]
    messages = messages + [wire_message(m) for m in reversed(kept)] + fresh
    return messages, truncated
