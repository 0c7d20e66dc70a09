"""Routes of a chat turn: send a message (streamed or not), cancel, re-join, confirm."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatkiosk.agents.confirm import confirm
from chatkiosk.api import rejoin, sse
from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.schemas import MessagePublic, Strict, errors
from chatkiosk.api.stream import STREAM_HEADERS, EventStream, wait_done
from chatkiosk.chat.options import TurnOptions
from chatkiosk.chat.photos import DATA_URL_PATTERN
from chatkiosk.chat.turn import TurnRequest
from chatkiosk.jsontypes import JsonBool

router = APIRouter(prefix="/api/conversations", tags=["chat"])

SSE_DOC = {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "with `stream: true`: numbered events"}


class ImageIn(Strict):
    url: str = Field(
        min_length=1, json_schema_extra={"pattern": DATA_URL_PATTERN},
        description="the photo as a base64 data: URL (`data:image/jpeg;base64,…`): PNG, JPEG or WebP, its type read "
        "from the bytes (415 otherwise). No other URL is fetched (422 `image_url_not_allowed`)",
    )


class MessageCreate(Strict):
    # Text, photos, or both (422 for neither), as the schema says.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["content"], "properties": {"content": {"minLength": 1}}},
        {"required": ["images"], "properties": {"images": {"minItems": 1}}},
    ]})

    content: str = Field("", max_length=100_000, description="the message; may be empty when `images` are sent")
    stream: JsonBool = False
    options: TurnOptions = Field(default_factory=TurnOptions)
    images: list[ImageIn] = Field(
        default_factory=list, max_length=16,
        description="photos sent with the message, to an agent that takes them (the shop): checked, stripped of their "
        "metadata and kept with the message (which stores a reference, not the bytes); 413/415/422 for a bad one",
    )

    @model_validator(mode="after")
    def _something_sent(self) -> MessageCreate:
        if not self.content and not self.images:
            raise ValueError("content must not be empty")
        return self


class TurnResult(BaseModel):
    message: MessagePublic
    usage: dict[str, Any]


class CancelResult(BaseModel):
    cancelled: bool


class ConfirmResult(BaseModel):
    tool: str
    status: str
    result: Any


@router.post("/{conversation_id}/messages", responses={200: SSE_DOC, **errors(400, 401, 404, 409, 413, 415, 422, 429, 502, 504)})
async def send_message(
    conversation_id: str, body: MessageCreate, principal: CurrentUser, runtime: RuntimeDep, request: Request
) -> TurnResult:
    """Send a message and get the answer: whole (`stream: false`) or as server-sent events."""
    turn = TurnRequest(principal.id, conversation_id, body.content, body.options, request.state.request_id)
    turn.images = [image.url for image in body.images] or None
    generation = await runtime.chat.start(turn)
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
