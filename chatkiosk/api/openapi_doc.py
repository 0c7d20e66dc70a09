"""The OpenAPI document at `/openapi.json`, made to say what the server really does.

FastAPI's generated document is refined once, when first asked for:

- every error status a route can answer is documented with the one error body: 400 (bad
  JSON, a Host off the allowed list), 401 (every route but the public ones), 403 (admin
  routes), 404 (routes with an id in the path), 413 (any body too large), 422 (parameters or
  a body that do not validate), besides what each route declares itself (409, 429, 502, …);
- a conversation's `agent` is one of the agents this server offers (an enum), so an unknown
  agent is invalid input with its documented 422, not a surprise;
- a kiosk command's `args` are those of its command (one schema per command);
- limits that are settings (`max_tokens_limit`, `max_message_chars`) are the schema's bounds,
  and `options.model` is offered only when some agent lets a client choose the model;
- server-sent events are described event by event (`id`, `event`, JSON `data`), as OpenAPI
  3.1 describes a `text/event-stream` response;
- request schemas embedded with their own `$defs` are hoisted into `components`, so every
  reference resolves.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from chatkiosk.api.deps import admin_principal, current_principal
from chatkiosk.api.routes import flat_routes

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_REASONS = {
    400: "the body is not JSON, or the Host is not one this server answers to",
    401: "missing, invalid or revoked credentials",
    403: "administrators only",
    404: "no such object (or someone else's)",
    413: "the request body is too large",
    422: "a parameter or a field of the body is invalid",
}
_WITH_BODY = {"post", "put", "patch", "delete"}

# One chatkiosk event: `event:` names it, `data:` is its JSON payload (see docs/api.md).
CHAT_EVENT = {
    "type": "object",
    "description": (
        "One server-sent event: `event` is `message` (the stored user message), `delta {text}`, "
        "`tool_call {id, name, arguments}`, `tool_result {id, name, result}`, `done {message, usage}` "
        "or `error {error}`; `data` is its JSON payload; `id` numbers the events for `?after=`. "
        "A comment line (`: heartbeat`) comes every 15 s."
    ),
    "required": ["data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "event": {"type": "string", "examples": ["message", "delta", "tool_call", "tool_result", "done", "error"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "retry": {"type": "integer"},
    },
}
# One OpenAI chunk event: `data:` is a `chat.completion.chunk` (or an error), then `[DONE]`.
CHUNK_EVENT = {
    "type": "object",
    "description": "`data` is a JSON `chat.completion.chunk` (or `{\"error\": …}`); the last event's data is `[DONE]`.",
    "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}},
}


Bounds = dict[tuple[str, str, str], Any]  # (schema, property, keyword) -> value


def install(
    app: FastAPI, agent_names: Callable[[], Iterable[str]], commands: dict[str, Any] | None = None, bounds: Bounds | None = None,
    model_choice: bool = True,
) -> None:
    """Serve the refined document as `app.openapi()` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes,
            )
            refine(schema, app.routes, sorted(agent_names()), commands or {}, bounds or {}, model_choice)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def refine(
    schema: dict[str, Any], routes: Iterable[Any], agents: list[str], commands: dict[str, Any], bounds: Bounds, model_choice: bool = True,
) -> None:
    """Apply every refinement of the module docstring to `schema`, in place."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _ensure_error_body(components)
    for route in flat_routes(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _document_errors(operation, route.original_route, method.lower())
                _describe_streams(operation, route.path_format)
                _hoist_defs(operation, components)
    if "ConversationCreate" in components and agents:
        components["ConversationCreate"]["properties"]["agent"]["enum"] = agents
    for (name, prop, keyword), value in bounds.items():
        if name in components and prop in components[name].get("properties", {}):
            _set_bound(components[name]["properties"][prop], keyword, value)
    if not model_choice and "model" in components.get("TurnOptions", {}).get("properties", {}):
        components["TurnOptions"]["properties"]["model"] = {
            "type": "null", "default": None, "title": "Model",
            "description": "no agent of this server lets a client choose the model (422 `model_not_allowed`)",
        }
    if "CommandRequest" in components and commands:
        components["CommandRequest"] = _command_request(components["CommandRequest"], commands, components)


def _set_bound(prop: dict[str, Any], keyword: str, value: Any) -> None:
    """Set `keyword` on the property, or on its non-null branches (`X | None`)."""
    branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"] or [prop]
    for branch in branches:
        if keyword in branch or not prop.get("anyOf"):
            branch[keyword] = value


def _ensure_error_body(components: dict[str, Any]) -> None:
    if "ErrorBody" not in components:
        from chatkiosk.api.schemas import ErrorBody

        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in body.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components["ErrorBody"] = body


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _document_errors(operation: dict[str, Any], route: APIRoute, method: str) -> None:
    statuses = {400}
    if _depends_on(route.dependant, current_principal):
        statuses.add(401)
    if _depends_on(route.dependant, admin_principal):
        statuses.add(403)
    if route.dependant.path_params:
        statuses.add(404)
    if method in _WITH_BODY:
        statuses.add(413)
    if route.dependant.body_params or route.dependant.query_params or "requestBody" in operation:
        statuses.add(422)
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(str(status), {"description": _REASONS[status], "content": {"application/json": {"schema": ERROR_REF}}})
    for code, response in responses.items():
        if not code.startswith("4"):
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        # Declared with a description only, or FastAPI's own 422 body, which this API never sends.
        if schema is None or schema == {"$ref": "#/components/schemas/HTTPValidationError"}:
            response["content"] = {"application/json": {"schema": ERROR_REF}}
            if code == "422":
                response["description"] = _REASONS[422]
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: item[0]))


def _describe_streams(operation: dict[str, Any], path: str) -> None:
    for response in operation.get("responses", {}).values():
        stream = response.get("content", {}).get("text/event-stream")
        if stream is not None:
            stream["schema"] = copy.deepcopy(CHUNK_EVENT if path.startswith("/v1/") else CHAT_EVENT)


def _hoist_defs(operation: dict[str, Any], components: dict[str, Any]) -> None:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        schema = media.get("schema")
        if isinstance(schema, dict) and "$defs" in schema:
            media["schema"] = _hoisted(schema, components)


def _hoisted(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$defs` moved into `components` and its references pointed there."""
    schema = copy.deepcopy(schema)
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, _repointed(sub))
    return _repointed(schema)


def _repointed(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str) else _repointed(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_repointed(v) for v in value]
    return value


def _command_request(request: dict[str, Any], commands: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """One object schema per kiosk command, each with that command's own `args`."""
    lang = request.get("properties", {}).get("lang", {})
    variants = []
    for name, command in commands.items():
        args = _hoisted(command.args.model_json_schema(), components)
        args.pop("title", None)
        variants.append({
            "type": "object",
            "additionalProperties": False,
            "required": ["command", "args"] if args.get("required") else ["command"],
            "properties": {"command": {"const": name}, "args": args, "lang": lang},
        })
    return {"title": "CommandRequest", "description": "one order command and its arguments", "oneOf": variants}
