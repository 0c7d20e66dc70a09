"""What the clients people use send around an OpenAI body, and how a call finds its conversation.

- The binding: `metadata.conversation_id`, the `X-Conversation-Id` header, or Open WebUI's
  forwarded `X-OpenWebUI-Chat-Id` (sent when its user-info headers are on), in that order. An
  external id the caller has not used creates that caller's conversation (store/bindings.py).
- Background tasks: Open WebUI asks the same model for a title, tags, follow-up questions and
  search queries ("### Task: …"), LibreChat for a title. They are not the customer speaking, so
  they are answered ephemerally (no tools, no rules, nothing stored), never as turns of the
  bound conversation.
- Asked again: a client that sends the whole chat and re-sends it up to its last user message
  (Open WebUI's Regenerate / Try Again) asks for an answer the conversation already holds.
  Running the turn again would repeat it (a second cola in the cart), so the stored answer is
  given back and nothing runs or is stored. A body with no earlier answer in it (a client that
  sends only the latest message) is never taken for a repeat: saying the same thing twice is
  two turns. Editing an earlier message cannot rewind what its turn did: it is a new turn.
- One turn at a time: a second call while the conversation is answering (a client that sends
  its next message, or a task, at the same moment) waits up to `openai_binding_wait` seconds for
  the answer in flight to end — on whichever worker runs it — instead of failing with 409.
"""

from __future__ import annotations

import asyncio

from fastapi import Request

from chatkiosk.api.openai_schemas import ChatCompletionRequest, ChatMessageIn
from chatkiosk.chat.generations import Generation
from chatkiosk.chat.turn import TurnRequest
from chatkiosk.errors import Conflict, UserError
from chatkiosk.runtime import Runtime
from chatkiosk.store import conversations, messages
from chatkiosk.store.tables import Message

OPEN_WEBUI_CHAT_HEADER = "x-openwebui-chat-id"

# How the background prompts of the clients begin (Open WebUI's task templates, LibreChat's title).
_TASK_OPENINGS = ("### task:", "please generate a concise, 5-word-or-less title")


def binding_id(body: ChatCompletionRequest, request: Request) -> str | None:
    """The conversation the caller names, if any (400 when two explicit names disagree)."""
    from_body = (body.metadata or {}).get("conversation_id")
    from_header = request.headers.get("x-conversation-id")
    if from_body and from_header and from_body != from_header:
        raise UserError("metadata.conversation_id and X-Conversation-Id name different conversations", param="metadata.conversation_id")
    binding = from_body or from_header or request.headers.get(OPEN_WEBUI_CHAT_HEADER) or None
    if binding is not None and not 0 < len(binding) <= 64:
        raise UserError("conversation_id must have 1–64 characters", param="metadata.conversation_id")
    return binding


def is_background_task(messages: list[ChatMessageIn]) -> bool:
    """True for a client's own housekeeping prompt (title, tags, follow-ups, search queries)."""
    last = messages[-1]
    return last.role == "user" and last.text().lstrip().lower().startswith(_TASK_OPENINGS)


_ANSWERED = ("complete", "blocked")  # a turn that ended on purpose; a failed one may be retried


async def answer_on_record(runtime: Runtime, user_id: str, conversation_id: str, agent: str, sent: list[ChatMessageIn]) -> Message | None:
    """The conversation's last answer when the client asks again for it (see the module's
    docstring), else None: the body's last user message and the two messages before it are the
    conversation's last exchange before that answer."""
    said = [(m.role, m.text().strip()) for m in sent if m.role in ("user", "assistant") and m.text().strip()]
    if len(said) < 3 or said[-2][0] != "assistant":
        return None
    async with runtime.db.read() as session:
        conv = await conversations.get(session, conversation_id, user_id)
        if conv is None or conv.agent != agent:
            return None  # not the caller's, or another agent's: the turn says why
        stored = await messages.recent(session, conversation_id, limit=4)
    if len(stored) < 4 or stored[-1].role != "assistant" or stored[-1].status not in _ANSWERED:
        return None
    if [(m.role, m.content.strip()) for m in stored[:3]] != said[-3:]:
        return None
    return stored[-1]


async def start_in_turn(runtime: Runtime, turn: TurnRequest) -> Generation:
    """Start the turn; while another answer runs in its conversation, wait (a few seconds at
    most) for it to end, then start on the history it left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + runtime.settings.openai_binding_wait
    while True:
        try:
            return await runtime.chat.start(turn)
        except Conflict as exc:
            left = deadline - loop.time()
            if exc.code != "generation_in_progress" or turn.conversation_id is None or left <= 0:
                raise
            # The answer in flight may run here or on another worker (with Redis): its end either way.
            await runtime.chat.generations.wait_turn(turn.conversation_id, left)
