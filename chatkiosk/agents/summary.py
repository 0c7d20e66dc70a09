"""The running summary of history that fell out of the context window.

When a turn's context leaves older messages out, `schedule_summary` folds the messages cut
since the last summary into the conversation's running summary, in the background after the
turn (so it never delays the answer): one short model call with the previous summary and the
newly cut messages. `conversations.summary_through` is the id of the newest message the
summary covers, so nothing is summarised twice. The context builder sends the summary as a
second system message (agents with `ContextPolicy.summary`), and the API shows it on the
conversation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from chatkiosk.llm.base import GenerationOptions, Message, Provider
from chatkiosk.store.turn_rows import TurnRows

log = logging.getLogger(__name__)

SUMMARY_MAX_TOKENS = 96
SUMMARY_MAX_CHARS = 1200
_MESSAGE_CHARS = 400  # each cut message, as the summariser sees it
_INSTRUCTIONS = (
    "You keep a running summary of a conversation for an assistant whose memory is short. "
    "Write at most three sentences, in the conversation's language, keeping names, numbers, "
    "decisions and open questions. Reply with the summary only."
)
_tasks: set[asyncio.Task[None]] = set()


def cut_messages(rows: Sequence[Any], context: Sequence[Message]) -> list[Any]:
    """The stored rows the context left out: the older end of the visible history.

    `rows` are the stored messages read for the turn (oldest first); `context` is what the
    model got (system messages, the kept history, the new user message last).
    """
    visible = [m for m in rows if m.role in ("user", "assistant") and m.content and m.status != "streaming"]
    kept = sum(1 for m in context if m.get("role") != "system") - 1  # the new user message is not history
    return visible[: max(0, len(visible) - max(kept, 0))]


def summary_prompt(previous: str | None, cut: Sequence[Any]) -> list[Message]:
    """The messages of the summariser's one call."""
    lines = [f"{m.role}: {' '.join(str(m.content).split())[:_MESSAGE_CHARS]}" for m in cut]
    body = (f"Summary so far: {previous}\n\n" if previous else "") + "Messages to add:\n" + "\n".join(lines)
    return [{"role": "system", "content": _INSTRUCTIONS}, {"role": "user", "content": body}]


async def update_summary(store: TurnRows, provider: Provider, conversation_id: str, user_id: str, cut: Sequence[Any]) -> str | None:
    """Fold the cut messages newer than the summary into it; returns the new summary (or None)."""
    found = await store.summary(conversation_id, user_id)  # again: an earlier turn's summary may have landed since
    if found is None:
        return None
    previous, through = found
    new = [m for m in cut if through is None or m.id > through]
    if not new:
        return previous
    completion = await provider.complete(
        summary_prompt(previous, new), options=GenerationOptions(max_tokens=SUMMARY_MAX_TOKENS, temperature=0)
    )
    text = " ".join(completion.text.split())[:SUMMARY_MAX_CHARS]
    if not text:
        return previous
    await store.set_summary(conversation_id, text, new[-1].id)
    return text


def schedule_summary(store: TurnRows, provider: Provider, conv: Any, rows: Sequence[Any], context: Sequence[Message]) -> None:
    """Start updating the summary in the background when the context cut history."""
    cut = cut_messages(rows, context)
    if conv is None or not cut:
        return

    async def run() -> None:
        try:
            await update_summary(store, provider, conv.id, conv.user_id, cut)
        except Exception:  # a failed summary must never disturb a conversation
            log.warning("the running summary of a conversation could not be updated", exc_info=True)

    task = asyncio.get_running_loop().create_task(run())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def wait_for_summaries() -> None:
    """Wait until the summaries in progress are written (tests, shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
