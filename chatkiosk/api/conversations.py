"""Routes of conversations and their history: `/api/conversations`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from chatkiosk.api.deps import CurrentUser, Paging, RuntimeDep
from chatkiosk.api.schemas import (
    ConversationCreate,
    ConversationPublic,
    ConversationUpdate,
    ListPage,
    MessagePublic,
    errors,
)
from chatkiosk.errors import NotFound, ValidationFailed
from chatkiosk.runtime import Runtime
from chatkiosk.store import conversations, messages, presets

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
_STOP_WAIT = 5.0  # seconds a deleted conversation's turn gets to store itself as cancelled


@router.post("", status_code=201, responses=errors(401, 404, 413, 422))
async def create_conversation(body: ConversationCreate, principal: CurrentUser, runtime: RuntimeDep) -> ConversationPublic:
    """Start a conversation with an agent (default `assistant`)."""
    if body.agent not in runtime.agent_names():
        raise ValidationFailed(f"unknown agent {body.agent!r}", code="unknown_agent", param="agent")
    title, metadata = body.title, body.metadata
    async with runtime.db.write() as session:
        if body.preset_id is not None:
            preset = await presets.get(session, body.preset_id, principal.id)
            if preset is None:
                raise NotFound("no such preset", param="preset_id")
            title, metadata = title or preset.name, {**metadata, "preset_id": preset.id}
        conv = await conversations.create(session, user_id=principal.id, agent=body.agent, title=title, metadata=metadata)
    return ConversationPublic.of(conv)


@router.get("", responses=errors(401, 422))
async def list_conversations(principal: CurrentUser, runtime: RuntimeDep, paging: Paging) -> ListPage[ConversationPublic]:
    """Your conversations, newest first."""
    async with runtime.db.read() as session:
        page = await conversations.page(session, principal.id, limit=paging.limit, before=paging.before)
    return ListPage[ConversationPublic](data=[ConversationPublic.of(c) for c in page.data], has_more=page.has_more)


@router.get("/{conversation_id}", responses=errors(401, 404))
async def get_conversation(conversation_id: str, principal: CurrentUser, runtime: RuntimeDep) -> ConversationPublic:
    """One of your conversations."""
    async with runtime.db.read() as session:
        conv = await conversations.get(session, conversation_id, principal.id)
    if conv is None:
        raise NotFound("no such conversation")
    return ConversationPublic.of(conv)


@router.patch("/{conversation_id}", responses=errors(401, 404, 413, 422))
async def update_conversation(
    conversation_id: str, body: ConversationUpdate, principal: CurrentUser, runtime: RuntimeDep
) -> ConversationPublic:
    """Rename a conversation or replace its metadata."""
    async with runtime.db.write() as session:
        conv = await conversations.get(session, conversation_id, principal.id)
        if conv is None:
            raise NotFound("no such conversation")
        await conversations.update_fields(session, conv, title=body.title, metadata=body.metadata)
    return ConversationPublic.of(conv)


@router.delete("/{conversation_id}", status_code=204, responses=errors(401, 404))
async def delete_conversation(conversation_id: str, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """Delete a conversation and all its messages; an answer being generated in it stops first."""
    await _stop_turn(runtime, conversation_id, principal.id)
    async with runtime.db.write() as session:
        if not await conversations.remove(session, conversation_id, principal.id):
            raise NotFound("no such conversation")
    return Response(status_code=204)


async def _stop_turn(runtime: Runtime, conversation_id: str, user_id: str) -> None:
    """Cancel the conversation's turn in flight (here, or relayed to its worker) and let it end."""
    assert runtime.chat is not None
    await runtime.chat.cancel(conversation_id, user_id)  # NotFound when it is not the user's
    generation = runtime.chat.generations.get(conversation_id, user_id)
    if generation is not None and generation.task is not None and not generation.task.done():
        await asyncio.wait({generation.task}, timeout=_STOP_WAIT)


@router.get("/{conversation_id}/messages", responses=errors(401, 404, 422))
async def list_messages(
    conversation_id: str, principal: CurrentUser, runtime: RuntimeDep, paging: Paging
) -> ListPage[MessagePublic]:
    """The conversation's history, newest first."""
    # An answer whose done event went out is being stored beside it: read it once it is.
    await runtime.chat.settled(conversation_id, principal.id)
    async with runtime.db.read() as session:
        if await conversations.get(session, conversation_id, principal.id) is None:
            raise NotFound("no such conversation")
        page = await messages.page(session, conversation_id, principal.id, limit=paging.limit, before=paging.before)
    return ListPage[MessagePublic](data=[MessagePublic.of(m) for m in page.data], has_more=page.has_more)
