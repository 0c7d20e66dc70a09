"""The OpenAI-compatible API: `GET /v1/models` and `POST /v1/chat/completions`.

A `model` is either an agent (it runs with its own server-side tools and limits, on the
messages given or — bound with `metadata.conversation_id` / `X-Conversation-Id` — in one of
the caller's conversations, where the turn is stored and the agent's state carries over), or
an upstream model of a provider an admin marked `passthrough` (the client's `tools` are
relayed and the model's tool calls come back to the client; nothing runs here).

Decisions: `tools` sent with an agent model are offered beside the agent's own, and a call
to one goes back to the client (`openai_client_tools` may ignore or refuse them instead);
`tool_choice` is honoured ("required": a call on every step until the client's tool is called;
a named tool: that call first; "none": no tool at all). The client's tool traffic in later
requests is accepted only for tools it offers, so a client never makes an agent run a tool it
does not grant. A bound call (openai_clients.py) stores the last user message in the
conversation and builds the context from the stored history (earlier messages in the body are
not used: the conversation is the record); its client tool results answer the calls stored
with the conversation's last answer (chat/client_calls.py). An unbound call is
ephemeral: it is rate-limited, quota-charged and counted like any turn, but nothing is stored.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from chatkiosk.api.bodies import parse_json
from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.openai_clients import answer_on_record, binding_id, is_background_task, start_in_turn
from chatkiosk.api.openai_embeddings import embedding_model
from chatkiosk.api.openai_chunks import ChunkEncoder, completion
from chatkiosk.api.openai_schemas import ChatCompletionRequest, ChatMessageIn
from chatkiosk.api.schemas import errors
from chatkiosk.api.stream import STREAM_HEADERS, EventStream, until, wait_done
from chatkiosk.chat.generations import Generation
from chatkiosk.chat.options import TurnOptions
from chatkiosk.chat.photos import history_text
from chatkiosk.chat.passthrough import ToolChoice, UpstreamCall, find_passthrough, passthrough_models
from chatkiosk.chat.turn import TurnRequest
from chatkiosk.errors import ChatkioskError, NotFound, UserError, ValidationFailed
from chatkiosk.events import DoneEvent, TurnUsage
from chatkiosk.llm.base import Message, ToolSpec
from chatkiosk.runtime import Runtime
from chatkiosk.store import bindings
from chatkiosk.store.tables import Message as StoredMessage

router = APIRouter(prefix="/v1", tags=["openai"])

_STARTED = int(time.time())
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
    embedder = embedding_model(runtime)
    return agents + [embedder] + [m for m in upstream if m["id"] != embedder["id"]]


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


def _turn_options(body: ChatCompletionRequest) -> TurnOptions:
    try:
        return TurnOptions(
            temperature=body.temperature, top_p=body.top_p, max_tokens=body.completion_limit, stop=body.stop,
            presence_penalty=body.presence_penalty, frequency_penalty=body.frequency_penalty,
            response_format=_response_format(body),
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        raise UserError(f"{param}: {first.get('msg')}", code="invalid_value", param=param) from None


def _response_format(body: ChatCompletionRequest) -> dict[str, Any] | None:
    """The client's structured-output request (`text` asks for nothing)."""
    fmt = body.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_schema" and not (fmt.json_schema and isinstance(fmt.json_schema.get("schema"), dict)):
        raise UserError("response_format.json_schema needs a name and a schema", code="invalid_value", param="response_format.json_schema")
    return fmt.model_dump(exclude_none=True)


def _agent_history(messages: list[ChatMessageIn], client_tools: set[str], start: int = 0) -> list[Message]:
    """The client's messages as an agent's context: text, and the client's own tool traffic
    (calls to tools it offered in this request, and their results) — never a call to any other
    tool, so a client cannot pretend the agent ran a tool it does not grant (SECURITY 16)."""
    history: list[Message] = []
    for i, m in enumerate(messages, start):
        if m.role == "tool" or m.tool_calls:
            if not client_tools or any(c.function.name not in client_tools for c in m.tool_calls or []):
                raise UserError(
                    "agent models run their own tools: tool calls and results can only be sent for the client's own `tools`",
                    code="tools_not_allowed", param=f"messages.{i}",
                )
            if m.role == "tool":
                history.append({"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.text()})
            else:
                history.append({"role": "assistant", "content": m.text() or None,
                                "tool_calls": [c.model_dump() for c in m.tool_calls or []]})
            continue
        role = "system" if m.role in ("system", "developer") else m.role
        text = history_text(m.text(), [{} for _ in m.image_urls()])  # earlier photos: a note, not re-sent
        if text:
            history.append({"role": role, "content": text})
    return history


def _tool_offer(runtime: Runtime, body: ChatCompletionRequest) -> tuple[list[ToolSpec] | None, ToolChoice]:
    """The client's tools to offer beside the agent's own (None: none are), and the forced
    `tool_choice` ("required", a named tool, "none": no tool at all; None: the model's choice),
    as the settings say."""
    mode = runtime.settings.openai_client_tools
    choice = _tool_choice(body)
    if mode == "refuse" and body.tools:
        raise UserError(f"{body.model!r} is an agent that runs its own tools; client tools are only for passthrough models",
                        code="tools_not_allowed", param="tools")
    if mode == "ignore":
        return None, None  # the client's tools and its tool_choice are disregarded
    own = set(runtime.agents.get(body.model).tools.names())
    clash = next((t.function.name for t in body.tools or [] if t.function.name in own), None)
    if clash is not None:
        raise UserError(f"the tool name {clash!r} is one of the agent's own tools: rename the client tool",
                        code="tools_not_allowed", param="tools")
    if choice == "none":
        return None, "none"
    client = [t.spec() for t in body.tools or []] or None
    if choice == "required" and client is None:
        raise UserError("tool_choice \"required\" needs the client's `tools`: the agent decides on its own tools itself",
                        code="invalid_value", param="tool_choice")
    named = _named_tool(choice)
    if named is not None and named not in own | {t.name for t in client or []}:
        raise UserError(f"tool_choice names {named!r}, which is neither one of the client's tools nor the agent's",
                        code="unknown_tool", param="tool_choice.function.name")
    return client, None if choice == "auto" else choice


def _named_tool(choice: ToolChoice) -> str | None:
    if not isinstance(choice, dict):
        return None
    name = (choice.get("function") or {}).get("name") if isinstance(choice.get("function"), dict) else None
    if not isinstance(name, str) or not name:
        raise UserError("tool_choice.function.name must name a tool", code="invalid_value", param="tool_choice.function.name")
    return name


@router.post(
    "/chat/completions", openapi_extra=_BODY_DOC,
    responses={200: _STREAM_DOC, **errors(400, 401, 404, 409, 413, 415, 429, 502, 504)},
)
async def chat_completions(request: Request, principal: CurrentUser, runtime: RuntimeDep) -> Any:
    """Chat completions, streamed or not, with an agent or a passthrough model as `model`."""
    body = await _parse(request)
    binding = binding_id(body, request)
    if body.model in runtime.agents:
        if body.n not in (None, 1):
            raise UserError(f"n must be 1: the agent {body.model!r} gives one answer per turn", code="n_not_supported", param="n")
        return await _agent_turn(request, runtime, principal.id, body, binding)
    target = find_passthrough(runtime.providers, body.model)
    if target is None:
        raise NotFound(f"the model {body.model!r} does not exist", code="model_not_found", param="model")
    if binding is not None and not _binding_sent(body, request):
        binding = None  # Open WebUI forwards its chat id to every model: only agents keep conversations
    if binding is not None:
        raise UserError("only agent models can be bound to a conversation", code="binding_not_supported", param="metadata.conversation_id")
    named = _named_tool(_tool_choice(body))
    if body.tool_choice not in (None, "none", "auto") and not body.tools:
        raise UserError("tool_choice asks for a tool call, but no tools were sent", code="invalid_value", param="tool_choice")
    if named is not None and named not in {t.function.name for t in body.tools or []}:
        raise UserError(f"tool_choice names {named!r}, which is not one of the `tools`", code="unknown_tool", param="tool_choice.function.name")
    call = UpstreamCall(
        target, [m.upstream() for m in body.messages], tools=[t.spec() for t in body.tools] if body.tools else None,
        tool_choice=_tool_choice(body), fields=body.forwarded(), max_tokens=body.max_tokens,
    )
    if call.choices > 1 and not call.relays_fields():
        raise UserError(f"n must be 1: the upstream of {body.model!r} gives one answer per call", code="n_not_supported", param="n")
    turn = TurnRequest(principal.id, None, "", _turn_options(body), request.state.request_id, upstream=call)
    return await _answer(request, runtime, turn, body, {})


def _binding_sent(body: ChatCompletionRequest, request: Request) -> bool:
    return bool((body.metadata or {}).get("conversation_id") or request.headers.get("x-conversation-id"))


def _tool_choice(body: ChatCompletionRequest) -> ToolChoice:
    choice = body.tool_choice
    return choice.model_dump() if hasattr(choice, "model_dump") else choice


# --- agent models ----------------------------------------------------------------------------


async def _agent_turn(request: Request, runtime: Runtime, user_id: str, body: ChatCompletionRequest, binding: str | None) -> Any:
    client_tools, tool_choice = _tool_offer(runtime, body)
    pictured = next((i for i, m in enumerate(body.messages) if m.has_images), None)
    if pictured is not None and not runtime.agents.get(body.model).takes_photos:
        raise UserError(f"the agent {body.model!r} reads text only: image content parts are for passthrough models",
                        code="images_not_supported", param=f"messages.{pictured}")
    # The client's own tool traffic may follow its last user message (with "none" too: a text
    # answer from the results), for tools it sent and the agent does not have.
    names = {t.function.name for t in body.tools or []} if client_tools or tool_choice == "none" else set()
    at = max((i for i, m in enumerate(body.messages) if m.role == "user"), default=len(body.messages) - 1)
    earlier, last, after = body.messages[:at], body.messages[at], body.messages[at + 1:]
    if last.role != "user" or not (last.text().strip() or last.image_urls()) or (after and not names):
        raise UserError("the last message must be the user's, with text", param=f"messages.{len(body.messages) - 1}")
    if after and after[-1].role != "tool":
        raise UserError("after the user's message only the client's tool calls and their results may follow",
                        param=f"messages.{len(body.messages) - 1}")
    continued = _agent_history(after, names, at + 1) if after else None
    background = is_background_task(body.messages)
    if background:
        binding = None  # a title or tags prompt is the client's business, not a turn of the conversation
        client_tools = tool_choice = None
    history = _agent_history(earlier, names) if binding is None else None
    conversation_id = await bindings.resolve(runtime.db, user_id, binding, body.model) if binding is not None else None
    headers = {"X-Conversation-Id": binding} if binding else {}
    if conversation_id is not None and continued is None:
        on_record = await answer_on_record(runtime, user_id, conversation_id, body.model, body.messages)
        if on_record is not None:
            return _replay(body, on_record, headers)
    turn = TurnRequest(
        user_id, conversation_id, last.text(), _turn_options(body), request.state.request_id, agent=body.model,
        history=history, background=background, client_tools=client_tools, continued=continued, tool_choice=tool_choice,
    )
    # The photos of this turn (chat/photos.py): the last user message's, unless the call only goes on
    # after the client's tools (those photos came with the call that started the turn).
    turn.images = None if background or continued else last.image_urls() or None
    return await _answer(request, runtime, turn, body, headers)


def _replay(body: ChatCompletionRequest, answer: StoredMessage, headers: dict[str, str]) -> Response:
    """The answer on record for a call that asks again (openai_clients.py), shaped as the client
    asked; nothing ran, so the usage is zero."""
    done = DoneEvent(answer, TurnUsage(llm=False))
    if not body.stream:
        return Response(orjson.dumps(completion([done], body.model)), media_type="application/json", headers=headers)
    encoder = ChunkEncoder(body.model, include_usage=body.include_usage)
    chunks = encoder.start() + encoder.text(answer.content) + encoder.event(0, done)
    return Response(chunks, media_type="text/event-stream", headers={**STREAM_HEADERS, **headers})


# --- both kinds of model ---------------------------------------------------------------------


async def _answer(request: Request, runtime: Runtime, turn: TurnRequest, body: ChatCompletionRequest, headers: dict[str, str]) -> Any:
    """Run the turn; answer with the whole completion or stream its chunks."""
    try:
        generation = await start_in_turn(runtime, turn)
    except ValidationFailed as exc:
        raise UserError(exc.message, code=exc.code, param=_param(turn, exc.param)) from None
    except ChatkioskError as exc:  # a photo too large (413) or of another type (415): said of the messages
        exc.param = _param(turn, exc.param)
        raise
    if not body.stream:
        await wait_done(generation, request.receive)
        return Response(orjson.dumps(completion(generation.events, body.model)), media_type="application/json", headers=headers)
    await _first_answer(generation, request)
    encoder = ChunkEncoder(body.model, include_usage=body.include_usage)
    return EventStream(generation, encoder.event, owner=True, head=encoder.start(), headers=headers)


def _param(turn: TurnRequest, param: str | None) -> str | None:
    if param == "content" or (param or "").startswith("images"):
        return "messages"
    if turn.upstream is not None and param == "options.max_tokens":
        return "max_tokens"
    return param


async def _first_answer(generation: Generation, request: Request) -> None:
    """Wait for the first part of the answer; when the turn failed before it, answer with the
    failure's status (a client that leaves meanwhile cancels the turn)."""
    await until(generation, request.receive, generation.wait_answering())
    error = generation.error
    if error is not None and not any(e.type in ("delta", "piece") for e in generation.events):
        raise error
