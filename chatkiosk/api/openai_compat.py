"""The OpenAI-compatible API: `GET /v1/models` and `POST /v1/chat/completions`.

A `model` is either an agent (it runs with its own server-side tools and limits, on the
messages given or — bound with `metadata.conversation_id` / `X-Conversation-Id` — in one of
the caller's conversations, where the turn is stored and the agent's state carries over), or
an upstream model of a provider an admin marked `passthrough` (the client's `tools` are
relayed and the model's tool calls come back to the client; nothing runs here).

Decisions: `tools` sent with an agent model are refused (400 `tools_not_allowed`) rather than
ignored, so a client never believes it enabled a tool. A bound call stores the last user
message in the conversation and builds the context from the stored history (earlier messages
in the body are not used: the conversation is the record). An unbound call is ephemeral: it
is rate-limited, quota-charged and counted like any turn, but nothing is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from chatkiosk.api.bodies import parse_json
from chatkiosk.api.chat import wait_or_cancel
from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.openai_chunks import ChunkEncoder, completion
from chatkiosk.api.openai_schemas import ChatCompletionRequest, ChatMessageIn
from chatkiosk.api.schemas import errors
from chatkiosk.chat.generations import Generation
from chatkiosk.chat.options import TurnOptions
from chatkiosk.chat.passthrough import PassthroughCall, find_passthrough, passthrough_models, start_passthrough
from chatkiosk.chat.turn import TurnRequest
from chatkiosk.errors import ChatkioskError, NotFound, UpstreamError, UserError, ValidationFailed
from chatkiosk.events import DoneEvent, ErrorEvent, Event, MessageEvent
from chatkiosk.llm.base import Finish, Message, TextDelta, ToolCallDelta
from chatkiosk.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["openai"])

_STARTED = int(time.time())
_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_BODY_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": ChatCompletionRequest.model_json_schema()}}}}
_STREAM_DOC = {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "`chat.completion` or, streamed, `chat.completion.chunk`s"}


# --- models --------------------------------------------------------------------------------


def _models(runtime: Runtime) -> list[dict[str, Any]]:
    agents = [{"id": a.name, "object": "model", "created": _STARTED, "owned_by": "chatkiosk"} for a in runtime.agents]
    names = {a["id"] for a in agents}
    upstream = [
        {"id": m.model, "object": "model", "created": _STARTED, "owned_by": m.provider_name}
        for m in passthrough_models(runtime.providers) if m.model not in names
    ]
    return agents + upstream


@router.get("/models", responses=errors(401))
async def list_models(principal: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    """The agents (`owned_by: chatkiosk`), then the upstream models open to passthrough."""
    return {"object": "list", "data": _models(runtime)}


@router.get("/models/{model}", responses=errors(401, 404))
async def get_model(model: str, principal: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    """One model of the list."""
    found = next((m for m in _models(runtime) if m["id"] == model), None)
    if found is None:
        raise NotFound(f"the model {model!r} does not exist", code="model_not_found", param="model")
    return found


# --- the request -----------------------------------------------------------------------------


async def _parse(request: Request) -> ChatCompletionRequest:
    """The body, validated; every problem with it is a 400 as OpenAI answers it."""
    raw = parse_json(await request.body(), unprocessable=UserError)  # bad, too deep, or not text: 400
    if not isinstance(raw, dict):
        raise UserError("the request body must be a JSON object", code="invalid_json")
    try:
        body = ChatCompletionRequest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        raise UserError(f"{param}: {first.get('msg')}" if param else str(first.get("msg")), code="invalid_value", param=param) from None
    refused = body.refused_field()
    if refused is not None:
        raise UserError(
            f"{refused} cannot be set by a client: the server calls only the upstreams its admin configured",
            code="upstream_not_allowed", param=refused,
        )
    return body


def _binding(body: ChatCompletionRequest, request: Request) -> str | None:
    from_body = (body.metadata or {}).get("conversation_id")
    from_header = request.headers.get("x-conversation-id")
    if from_body and from_header and from_body != from_header:
        raise UserError("metadata.conversation_id and X-Conversation-Id name different conversations", param="metadata.conversation_id")
    binding = from_body or from_header
    if binding is not None and not 0 < len(binding) <= 64:
        raise UserError("conversation_id must have 1–64 characters", param="metadata.conversation_id")
    return binding


def _turn_options(body: ChatCompletionRequest) -> TurnOptions:
    try:
        return TurnOptions(
            temperature=body.temperature, top_p=body.top_p, max_tokens=body.completion_limit, stop=body.stop,
            presence_penalty=body.presence_penalty, frequency_penalty=body.frequency_penalty,
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        raise UserError(f"{param}: {first.get('msg')}", code="invalid_value", param=param) from None


def _agent_history(messages: list[ChatMessageIn]) -> list[Message]:
    """The client's earlier messages as an agent's context: text only, no client tool traffic."""
    history: list[Message] = []
    for i, m in enumerate(messages):
        if m.role == "tool" or m.tool_calls:
            raise UserError(
                "agent models run their own tools: tool calls and tool results cannot be sent to them",
                code="tools_not_allowed", param=f"messages.{i}",
            )
        role = "system" if m.role in ("system", "developer") else m.role
        if m.text():
            history.append({"role": role, "content": m.text()})
    return history


@router.post(
    "/chat/completions", openapi_extra=_BODY_DOC,
    responses={200: _STREAM_DOC, **errors(400, 401, 404, 409, 413, 429, 502, 504)},
)
async def chat_completions(request: Request, principal: CurrentUser, runtime: RuntimeDep) -> Any:
    """Chat completions, streamed or not, with an agent or a passthrough model as `model`."""
    body = await _parse(request)
    if body.n not in (None, 1):
        raise UserError("only n=1 is supported", param="n")
    binding = _binding(body, request)
    if body.model in runtime.agents:
        return await _agent_turn(request, runtime, principal.id, body, binding)
    target = find_passthrough(runtime.providers, body.model)
    if target is None:
        raise NotFound(f"the model {body.model!r} does not exist", code="model_not_found", param="model")
    if binding is not None:
        raise UserError("only agent models can be bound to a conversation", code="binding_not_supported", param="metadata.conversation_id")
    options = _turn_options(body).to_generation(runtime.settings.default_max_tokens)
    assert runtime.chat is not None
    try:
        call = await start_passthrough(
            runtime.chat, principal.id, target, [m.upstream() for m in body.messages],
            tools=[t.spec() for t in body.tools] if body.tools else None,
            tool_choice=_tool_choice(body), options=options,
        )
    except ValidationFailed as exc:
        raise UserError(exc.message, code=exc.code, param=exc.param) from None
    if body.stream:
        encoder = ChunkEncoder(body.model, include_usage=body.include_usage)
        return StreamingResponse(_relay(call, encoder), media_type="text/event-stream", headers=_STREAM_HEADERS)
    return JSONResponse(await _gather(call, body.model))


def _tool_choice(body: ChatCompletionRequest) -> Any:
    choice = body.tool_choice
    return choice.model_dump() if hasattr(choice, "model_dump") else choice


# --- agent models ----------------------------------------------------------------------------


async def _agent_turn(request: Request, runtime: Runtime, user_id: str, body: ChatCompletionRequest, binding: str | None) -> Any:
    if body.tools or body.tool_choice not in (None, "none", "auto"):
        raise UserError(
            f"{body.model!r} is an agent that runs its own tools; client tools are only for passthrough models",
            code="tools_not_allowed", param="tools",
        )
    *earlier, last = body.messages
    if last.role != "user" or not last.text().strip():
        raise UserError("the last message must be the user's, with text", param=f"messages.{len(earlier)}")
    history = _agent_history(earlier) if binding is None else None
    turn = TurnRequest(
        user_id, binding, last.text(), _turn_options(body), request.state.request_id, agent=body.model, history=history,
    )
    assert runtime.chat is not None
    try:
        generation = await runtime.chat.start(turn)
    except ValidationFailed as exc:
        raise UserError(exc.message, code=exc.code, param="messages" if exc.param == "content" else exc.param) from None
    headers = {"X-Conversation-Id": binding} if binding else {}
    if not body.stream:
        await wait_or_cancel(generation, request)
        if generation.error is not None:
            raise generation.error if isinstance(generation.error, ChatkioskError) else ChatkioskError("the answer failed")
        done = next(e for e in reversed(generation.events) if isinstance(e, DoneEvent))
        return JSONResponse(completion(body.model, done.message["content"], done.usage), headers=headers)
    events = generation.follow()
    head = await _first_answer(events, generation, request)
    if isinstance(head[-1], ErrorEvent) and isinstance(generation.error, ChatkioskError):
        raise generation.error  # failed before anything was said: answer with its status
    encoder = ChunkEncoder(body.model, include_usage=body.include_usage)
    return StreamingResponse(_encode(generation, head, events, encoder), media_type="text/event-stream", headers={**_STREAM_HEADERS, **headers})


async def _first_answer(events: AsyncIterator[tuple[int, Event]], generation: Generation, request: Request) -> list[Event]:
    """Events up to the first one that is part of the answer; a client that leaves cancels the turn."""

    async def watch() -> None:
        while not await request.is_disconnected():
            await asyncio.sleep(0.5)
        generation.cancel()

    watcher = asyncio.create_task(watch())
    head: list[Event] = []
    try:
        async for _seq, event in events:
            head.append(event)
            if not isinstance(event, MessageEvent):
                break
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    return head


async def _encode(
    generation: Generation, head: list[Event], events: AsyncIterator[tuple[int, Event]], encoder: ChunkEncoder
) -> AsyncIterator[str]:
    try:
        yield encoder.start()
        for event in head:
            yield encoder.event(event)
        if head and isinstance(head[-1], (DoneEvent, ErrorEvent)):
            return
        async for _seq, event in events:
            chunk = encoder.event(event)
            if chunk:
                yield chunk
            if isinstance(event, (DoneEvent, ErrorEvent)):
                return
    finally:
        generation.cancel()  # the client left early: stop the turn (a no-op once it ended)


# --- passthrough models ------------------------------------------------------------------------


async def _relay(call: PassthroughCall, encoder: ChunkEncoder) -> AsyncIterator[str]:
    finish = "stop"
    try:
        yield encoder.start()
        async with aclosing(call.pieces()) as pieces:
            async for piece in pieces:
                if isinstance(piece, TextDelta):
                    yield encoder.text(piece.text)
                elif isinstance(piece, ToolCallDelta):
                    yield encoder.tool_call(piece.index, piece.id, piece.name, piece.arguments)
                elif isinstance(piece, Finish):
                    finish = piece.reason
        yield encoder.end(finish, call.usage)
    except UpstreamError as exc:
        yield encoder.error(exc.body()["error"])
    finally:
        await asyncio.shield(call.close())


async def _gather(call: PassthroughCall, model: str) -> dict[str, Any]:
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish = "stop"
    async with aclosing(call.pieces()) as pieces:
        async for piece in pieces:
            if isinstance(piece, TextDelta):
                text.append(piece.text)
            elif isinstance(piece, ToolCallDelta):
                slot = calls.setdefault(piece.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                slot["id"] = slot["id"] or piece.id
                slot["function"]["name"] = slot["function"]["name"] or (piece.name or "")
                slot["function"]["arguments"] += piece.arguments
            elif isinstance(piece, Finish):
                finish = piece.reason
    tool_calls = [calls[i] for i in sorted(calls)] or None
    return completion(model, "".join(text), call.usage, finish=finish, tool_calls=tool_calls)
