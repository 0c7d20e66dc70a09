"""Exception handlers: every error leaves in the one shape `{"error": {...}}`."""

from __future__ import annotations

import logging
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import WebSocketRoute

from chatkiosk.api.routes import flat_routes

from chatkiosk.errors import ChatkioskError, NotAuthenticated

log = logging.getLogger("chatkiosk.errors")

_HTTP_CODES = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "invalid_credentials"),
    403: ("permission_error", "forbidden"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "payload_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
}
_PROTECTED_PREFIXES = ("/api/", "/v1/")


def error_response(status: int, type_: str, code: str, message: str, param: str | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"error": {"type": type_, "code": code, "message": message, "param": param}}
    return JSONResponse(body, status_code=status, headers=headers)


def _known(request: Request, exc: ChatkioskError) -> JSONResponse:
    headers = dict(exc.headers)
    if isinstance(exc, NotAuthenticated):
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    param = ".".join(loc) or None
    if first.get("type") in ("json_invalid", "model_attributes_type") and not loc:
        return error_response(400, "invalid_request_error", "invalid_json", "request body must be a JSON object")
    message = first.get("msg", "invalid request")
    if param:
        message = f"{param}: {message}"
    return error_response(422, "invalid_request_error", "validation_error", message, param)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    path = unquote(request.url.path).lower()
    # Deny by default: an unknown protected path without credentials is a 401, not a map of routes.
    if exc.status_code in (404, 405) and path.startswith(_PROTECTED_PREFIXES) and not request.headers.get("authorization"):
        return error_response(401, "authentication_error", "missing_credentials", "authentication required", headers={"WWW-Authenticate": "Bearer"})
    type_, code = _HTTP_CODES.get(exc.status_code, ("invalid_request_error", "http_error"))
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 404:
        message = "not found"
    if exc.status_code == 405:
        # Every method of the path, not just those of the one route Starlette tried (RFC 9110).
        headers["Allow"] = ", ".join(allowed_methods(request))
        message = f"{request.method} is not allowed here; use {headers['Allow']}"
    return error_response(exc.status_code, type_, code, message, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """The methods some route or mount of the app answers on the request's path."""
    path = request.scope.get("path", "")
    matching = [
        route for route in flat_routes(request.app.router.routes)
        if getattr(route, "path_regex", None) is not None and not isinstance(route.original_route, WebSocketRoute)
        and route.path_regex.match(path)
    ]
    # A literal path (`/api/snippets/search`) is its own resource, though `/api/snippets/{id}` matches it too.
    literal = [route for route in matching if getattr(route, "path_format", None) == path]
    methods: set[str] = set()
    for route in literal or matching:
        methods |= set(route.methods or ()) or {"GET", "HEAD"}  # a mount (static files) serves GET
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))


def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("a backing service failed", exc_info=(type(exc), exc, exc.__traceback__))
    return error_response(503, "server_error", "unavailable", "a backing service is unavailable; try again shortly", headers={"Retry-After": "5"})


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__))
    return error_response(500, "server_error", "internal_error", "the server failed; the error was logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ChatkioskError, _known)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(RedisError, _dependency_down)
    app.add_exception_handler(OperationalError, _dependency_down)
    app.add_exception_handler(Exception, _unexpected)
