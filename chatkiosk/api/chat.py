"""Routes of a chat turn: send a message (streamed or not), cancel, re-join, confirm."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from chatkiosk.agents.confirm import confirm
from chatkiosk.api import rejoin, sse
from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.schemas import MessagePublic, Strict, errors
from chatkiosk.api.stream import STREAM_HEADERS, EventStream, wait_done
from chatkiosk.chat.options import TurnOptions
from chatkiosk.chat.turn import TurnRequest
from chatkiosk.jsontypes import JsonBool

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


@router.post("/{conversation_id}/messages", responses={200: SSE_DOC, **errors(400, 401, 404, 409, 413, 422, 429, 502, 504)})
async def send_message(
    conversation_id: str, body: MessageCreate, principal: CurrentUser, runtime: RuntimeDep, request: Request
) -> TurnResult:
    """Send a message and get the answer: whole (`stream: false`) or as server-sent events."""
    generation = await runtime.chat.start(
        TurnRequest(principal.id, conversation_id, body.content, body.options, request.state.request_id)
    )
    if body.stream:
        # The client that started the turn owns it: when it goes away, the turn is cancelled.
        return EventStream(generation, sse.encode, owner=True)  # type: ignore[return-value]
    done = await wait_done(generation, request.receive)
    return TurnResult(message=MessagePublic.of(done.message), usage=done.usage.as_dict())


@router.post("/{conversation_id}/cancel", responses=errors(401, 404))
async def cancel(conversation_id: str, principal: CurrentUser, runtime: RuntimeDep) -> CancelResult:
    """Stop the answer being generated in this conversation (on whichever worker runs it)."""
    return CancelResult(cancelled=await runtime.chat.cancel(conversation_id, principal.id))


@router.get("/{conversation_id}/events", responses={200: SSE_DOC, **errors(401, 404, 422)})
async def events(
    conversation_id: str,
    request: Request,
    principal: CurrentUser,
    runtime: RuntimeDep,
    after: Annotated[int, Query(ge=0, description="the last sequence number already seen")] = 0,
) -> StreamingResponse:
    """Re-join the generation in flight (on any worker), or replay the last finished one (server-sent events)."""
    answer = await rejoin.find(runtime, request.app.state.live, conversation_id, principal.id, after)
    if answer.generation is not None:
        return EventStream(answer.generation, sse.encode, after=after)  # type: ignore[return-value]
    if answer.mirrored is not None:  # generating on another worker
        return StreamingResponse(sse.live_stream(answer.mirrored), media_type="text/event-stream", headers=STREAM_HEADERS)
    assert answer.stored is not None
    return StreamingResponse(sse.replay_stream(answer.stored), media_type="text/event-stream", headers=STREAM_HEADERS)


@router.post("/{conversation_id}/confirmations/{confirmation_id}", responses=errors(401, 404, 409))
async def confirm_action(conversation_id: str, confirmation_id: str, principal: CurrentUser, runtime: RuntimeDep) -> ConfirmResult:
    """Confirm an action an agent asked for; it runs once, for you, with the arguments shown."""
    conv = await rejoin.owned(runtime, conversation_id, principal.id)
    gate = runtime.confirmations
    agent = runtime.agents.get(conv.agent)
    confirmation, outcome = await confirm(
        gate.store, gate.secret, confirmation_id, principal.id, conversation_id, tools=agent.tools,
        deps=runtime.tools, state=dict(conv.state or {}),
    )
    return ConfirmResult(tool=confirmation.tool, status=outcome.status, result=outcome.result)
