"""Routes of a chat turn: send a message (streamed or not), cancel, re-join, confirm."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from chatkiosk.agents.confirm import confirm
from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.schemas import MessagePublic, Strict, errors
from chatkiosk.api.sse import generation_stream, replay_stream
from chatkiosk.chat.generations import Generation
from chatkiosk.chat.options import TurnOptions
from chatkiosk.chat.turn import TurnRequest
from chatkiosk.errors import ChatkioskError, NotFound
from chatkiosk.jsontypes import JsonBool
from chatkiosk.events import DeltaEvent, DoneEvent, Event, MessageEvent
from chatkiosk.runtime import Runtime
from chatkiosk.store import conversations, messages

router = APIRouter(prefix="/api/conversations", tags=["chat"])

SSE_DOC = {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "with `stream: true`: numbered events"}


class MessageCreate(Strict):
    content: str = Field(min_length=1, max_length=100_000)
    stream: JsonBool = False
    options: TurnOptions = Field(default_factory=TurnOptions)


class TurnResult(BaseModel):
    message: MessagePublic
    usage: dict[str, Any]


class CancelResult(BaseModel):
    cancelled: bool


class ConfirmResult(BaseModel):
    tool: str
    status: str
    result: Any


def _sse(events: AsyncIterator[str], on_close: Any = None) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        try:
            async for chunk in events:
                yield chunk
        finally:
            if on_close is not None:
                on_close()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


async def wait_or_cancel(generation: Generation, request: Request) -> None:
    """Wait for the generation; if the client leaves first, cancel it."""
    assert generation.task is not None

    async def watch() -> None:
        while not await request.is_disconnected():
            await asyncio.sleep(0.5)
        generation.cancel()

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.shield(generation.task)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


@router.post("/{conversation_id}/messages", responses={200: SSE_DOC, **errors(400, 401, 404, 409, 413, 422, 429, 502, 504)})
async def send_message(
    conversation_id: str, body: MessageCreate, principal: CurrentUser, runtime: RuntimeDep, request: Request
) -> TurnResult:
    """Send a message and get the answer: whole (`stream: false`) or as server-sent events."""
    assert runtime.chat is not None
    generation = await runtime.chat.start(
        TurnRequest(principal.id, conversation_id, body.content, body.options, request.state.request_id)
    )
    if body.stream:
        # The client that started the turn owns it: when it goes away, the turn is cancelled.
        return _sse(generation_stream(generation), on_close=generation.cancel)  # type: ignore[return-value]
    await wait_or_cancel(generation, request)
    done = next((e for e in reversed(generation.events) if isinstance(e, DoneEvent)), None)
    if generation.error is not None:
        raise generation.error if isinstance(generation.error, ChatkioskError) else ChatkioskError("the answer failed")
    assert done is not None
    return TurnResult(message=MessagePublic(**done.message), usage=done.usage)


async def _owned(runtime: Runtime, conversation_id: str, user_id: str) -> Any:
    async with runtime.db.read() as session:
        conv = await conversations.get(session, conversation_id, user_id)
    if conv is None:
        raise NotFound("no such conversation")
    return conv


@router.post("/{conversation_id}/cancel", responses=errors(401, 404))
async def cancel(conversation_id: str, principal: CurrentUser, runtime: RuntimeDep) -> CancelResult:
    """Stop the answer being generated in this conversation (on whichever worker runs it)."""
    assert runtime.chat is not None
    return CancelResult(cancelled=await runtime.chat.cancel(conversation_id, principal.id))


async def _replay(runtime: Runtime, conversation_id: str, after: int) -> AsyncIterator[tuple[int, Event]]:
    """The last finished turn rebuilt from storage: message, delta, done."""
    async with runtime.db.read() as session:
        rows = await messages.recent(session, conversation_id, limit=2)
    if not rows or rows[-1].role != "assistant":
        return
    assistant = MessagePublic.of(rows[-1]).model_dump(mode="json")
    events: list[Event] = []
    if len(rows) == 2 and rows[0].role == "user":
        events.append(MessageEvent(MessagePublic.of(rows[0]).model_dump(mode="json")))
    if rows[-1].content:
        events.append(DeltaEvent(rows[-1].content))
    events.append(DoneEvent(assistant, rows[-1].usage or {}))
    for seq, event in enumerate(events, start=1):
        if seq > after:
            yield seq, event


@router.get("/{conversation_id}/events", responses={200: SSE_DOC, **errors(401, 404, 422)})
async def events(
    conversation_id: str,
    principal: CurrentUser,
    runtime: RuntimeDep,
    after: Annotated[int, Query(ge=0, description="the last sequence number already seen")] = 0,
) -> StreamingResponse:
    """Re-join the generation in flight, or replay the last finished one (server-sent events)."""
    await _owned(runtime, conversation_id, principal.id)
    assert runtime.chat is not None
    generation = runtime.chat.generations.get(conversation_id, principal.id)
    if generation is not None:
        return _sse(generation_stream(generation, after))
    return _sse(replay_stream(_replay(runtime, conversation_id, after)))


@router.post("/{conversation_id}/confirmations/{confirmation_id}", responses=errors(401, 404, 409))
async def confirm_action(conversation_id: str, confirmation_id: str, principal: CurrentUser, runtime: RuntimeDep) -> ConfirmResult:
    """Confirm an action an agent asked for; it runs once, for you, with the arguments shown."""
    conv = await _owned(runtime, conversation_id, principal.id)
    gate = runtime.confirmations
    assert gate is not None
    agent = runtime.agents.get(conv.agent)
    confirmation, outcome = await confirm(
        gate.store, gate.secret, confirmation_id, principal.id, conversation_id, tools=agent.tools,
        services=runtime, state=dict(conv.state or {}),
    )
    return ConfirmResult(tool=confirmation.tool, status=outcome.status, result=outcome.result)
