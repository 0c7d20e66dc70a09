"""Conversation titles from their first message: no LLM call, set where messages are stored.

When a conversation's first user message is inserted — by a chat turn, the OpenAI-compatible
route, anything — an untitled conversation takes a title cut from it. A title the user (or a
preset) gave is never replaced: the UPDATE only touches rows whose title is still empty.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, update

from chatkiosk.store.tables import Conversation, Message

TITLE_CHARS = 48
_SPACE = re.compile(r"\s+")


def title_from(text: str, limit: int = TITLE_CHARS) -> str:
    """The first `limit` characters of `text` on one line, cut at a word where there are words."""
    line = _SPACE.sub(" ", text).strip()
    if len(line) <= limit:
        return line
    cut = line[:limit]
    space = cut.rfind(" ")
    if space >= limit // 2:  # Korean and English break at spaces; Chinese has none to find
        cut = cut[:space]
    return cut.rstrip(" ,.;:!?、，。") + "…"


@event.listens_for(Message, "after_insert")
def _title_untitled_conversation(_mapper: Any, connection: Any, message: Message) -> None:
    if message.role != "user" or not message.content.strip():
        return
    connection.execute(
        update(Conversation)
        .where(Conversation.id == message.conversation_id, Conversation.title == "")
        .values(title=title_from(message.content))
    )
