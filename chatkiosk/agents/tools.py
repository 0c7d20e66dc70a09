"""Tools: typed async functions the model may call, their schemas, and how one call runs.

A tool is a plain function whose first parameter is a `ToolContext`; the rest of its
signature (with the docstring's per-parameter lines) becomes the JSON schema the model sees.
The context carries who is asking (user, conversation) — the model never writes those, and a
tool whose schema has a parameter that names a user is refused when it is defined.

    @tool
    async def add_item(ctx: ToolContext, item_id: str, quantity: int = 1) -> dict:
        '''Add an item to the order.

        Args:
            item_id: The menu item's id.
            quantity: How many, 1 to 20.
        '''
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from chatkiosk.agents.deps import ToolDeps
from chatkiosk.errors import Conflict, NotFound, PermissionDenied, ToolError, UserError
from chatkiosk.llm.base import ToolSpec

logger = logging.getLogger(__name__)

# Errors whose message the model may see as the tool's result (a store's "not found" too).
_MODEL_VISIBLE = (ToolError, UserError, NotFound, PermissionDenied, Conflict)

DEFAULT_TOOL_TIMEOUT = 30.0

# Parameter names that would let the model choose whose data a tool touches. Compared after
# lower-casing and dropping `_`/`-`, anywhere in the schema (nested objects included).
_IDENTITY_NAMES = frozenset(
    {"user", "userid", "uid", "username", "owner", "ownerid", "account", "accountid",
     "customer", "customerid", "asuser", "onbehalfof", "actor", "actorid"}
)
_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class ToolDefinitionError(ValueError):
    """A tool is defined wrongly (a programming error found at registration)."""


@dataclass(slots=True)
class ToolContext:
    """Who is asking and with what: passed by the server, never written by the model."""

    user_id: Any
    conversation_id: Any = None
    agent: str = ""
    deps: ToolDeps = field(default_factory=ToolDeps)
    state: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    # Set when a confirmed call runs: the state the user saw and said yes to (see `Tool.fingerprint`).
    confirmed_state: dict[str, Any] | None = None
    # The photos sent with this turn's message (chat.photos.ChatPhoto), for a tool that files them.
    photos: list[Any] = field(default_factory=list)


# What a confirmation-gated tool acts on, as JSON data: `await fingerprint(ctx, arguments)`.
Fingerprint = Callable[[ToolContext, dict[str, Any]], Awaitable[dict[str, Any]]]


ToolStatus = Literal["ok", "error", "confirmation_required"]


@dataclass(slots=True)
class ToolOutcome:
    """What one call produced: `result` is JSON-serialisable and is what the model sees."""

    status: ToolStatus
    result: Any
    arguments: dict[str, Any] | str
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def content(self) -> str:
        """The result as the text of a `tool` message."""
        return json.dumps(self.result, ensure_ascii=False)


@dataclass(slots=True)
class ToolCallRecord:
    """One tool call of a turn, as stored: arguments, result, status and duration."""

    id: str
    name: str
    arguments: dict[str, Any] | str
    result: Any
    status: ToolStatus
    duration_ms: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call, with its validated argument model and JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]
    arguments_model: type[BaseModel]
    fn: Callable[..., Any]
    takes_context: bool = True
    requires_confirmation: bool = False
    timeout: float | None = None
    summary: Callable[..., str] | None = None
    # For a tool that needs confirmation: the state it acts on (a cart and its total, an order
    # and its status). It is bound into the confirmation and checked again before the call runs.
    fingerprint: Fingerprint | None = None
    # A tighter schema of the arguments for constrained decoding (the JSON command format),
    # e.g. which options go with which item; validation still uses `arguments_model`.
    decoding_schema: dict[str, Any] | None = None
    # The decoding schema for one turn, from its context (the kiosk: only the words it heard);
    # None from it falls back to `decoding_schema`.
    decoding_for: Callable[[ToolContext], dict[str, Any] | None] | None = None

    def spec(self) -> ToolSpec:
        """The tool as the provider sends it to the model."""
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    def validate(self, arguments: dict[str, Any]) -> BaseModel:
        """Validate model-written arguments; raises `ToolError` with a short, readable reason."""
        try:
            return self.arguments_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(_validation_message(exc), code="invalid_arguments") from None

    def summarize(self, arguments: dict[str, Any], state: dict[str, Any] | None = None) -> str:
        """One line telling the user what the call would do (for confirmations).

        A summary function of two parameters also gets the fingerprinted state, so the line
        can say what is being confirmed ("pay ₩1,800 for 1 × Cola").
        """
        if self.summary is not None:
            if state is not None and _arity(self.summary) >= 2:
                return self.summary(arguments, state)
            return self.summary(arguments)
        args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
        return f"{self.name}({args})"

    async def __call__(self, ctx: ToolContext, arguments: BaseModel) -> Any:
        kwargs = {name: getattr(arguments, name) for name in type(arguments).model_fields}
        result = self.fn(ctx, **kwargs) if self.takes_context else self.fn(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result


# --- defining a tool -------------------------------------------------------------------


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    requires_confirmation: bool = False,
    timeout: float | None = None,
    summary: Callable[..., str] | None = None,
    fingerprint: Fingerprint | None = None,
) -> Any:
    """Turn a typed (async) function into a `Tool`; usable as `@tool` or `@tool(...)`.

    `requires_confirmation=True` holds a call back until its user says yes; `fingerprint`
    (only with it) names the state the call acts on, so a yes to a state that has changed since
    is refused.
    """

    def wrap(func: Callable[..., Any]) -> Tool:
        return make_tool(
            func,
            name=name,
            description=description,
            requires_confirmation=requires_confirmation,
            timeout=timeout,
            summary=summary,
            fingerprint=fingerprint,
        )

    return wrap(fn) if fn is not None else wrap


def make_tool(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    requires_confirmation: bool = False,
    timeout: float | None = None,
    summary: Callable[..., str] | None = None,
    fingerprint: Fingerprint | None = None,
) -> Tool:
    """Build a `Tool` from a function's signature and docstring (see `tool`)."""
    tool_name = name or func.__name__
    if not _TOOL_NAME.match(tool_name):
        raise ToolDefinitionError(f"invalid tool name {tool_name!r}")
    _check_fingerprint(tool_name, requires_confirmation, fingerprint)
    doc_text, param_docs = parse_docstring(inspect.getdoc(func) or "")
    model, takes_context = _arguments_model(func, tool_name, param_docs)
    parameters = _clean_schema(model.model_json_schema())
    check_no_identity_parameters(tool_name, parameters)
    return Tool(
        name=tool_name,
        description=(description or doc_text or tool_name).strip(),
        parameters=parameters,
        arguments_model=model,
        fn=func,
        takes_context=takes_context,
        requires_confirmation=requires_confirmation,
        timeout=timeout,
        summary=summary,
        fingerprint=fingerprint,
    )


def _check_fingerprint(tool_name: str, requires_confirmation: bool, fingerprint: Fingerprint | None) -> None:
    if fingerprint is not None and not requires_confirmation:
        raise ToolDefinitionError(f"tool {tool_name}: a fingerprint only makes sense with requires_confirmation=True")


def _arity(fn: Callable[..., Any]) -> int:
    try:
        return len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return 1


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Returns?|Raises|Yields|Examples?|Notes?)\s*:\s*$")
_GOOGLE_PARAM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def tool_from_model(
    name: str,
    description: str,
    arguments_model: type[BaseModel],
    fn: Callable[..., Any],
    *,
    requires_confirmation: bool = False,
    timeout: float | None = None,
    summary: Callable[..., str] | None = None,
    fingerprint: Fingerprint | None = None,
) -> Tool:
    """A `Tool` whose arguments are an existing pydantic model; `fn(ctx, **arguments)` runs it.

    For command sets that already define their argument models (the kiosk's commands).
    """
    if not _TOOL_NAME.match(name):
        raise ToolDefinitionError(f"invalid tool name {name!r}")
    _check_fingerprint(name, requires_confirmation, fingerprint)
    parameters = _clean_schema(arguments_model.model_json_schema())
    check_no_identity_parameters(name, parameters)
    return Tool(
        name=name, description=description, parameters=parameters, arguments_model=arguments_model, fn=fn,
        takes_context=True, requires_confirmation=requires_confirmation, timeout=timeout, summary=summary,
        fingerprint=fingerprint,
    )


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its first paragraph and `{parameter: description}`.

    Understands Google style (`Args:` then `name: text` / `name (type): text`, continuation
    lines indented deeper) and Sphinx style (`:param name: text`).
    """
    lines = doc.expandtabs().splitlines()
    first: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            if first:
                break
            continue
        if _SECTION.match(stripped) or stripped.startswith(":"):
            break
        first.append(stripped)
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    base_indent = 0
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if m := _SPHINX_PARAM.match(stripped):
            current, section = m.group(1), "sphinx"
            params[current] = m.group(2).strip()
            base_indent = indent
            continue
        if m := _SECTION.match(stripped):
            section = m.group(1).lower()
            current = None
            base_indent = -1
            continue
        if section in ("args", "arguments", "parameters", "params"):
            if not stripped:
                continue
            m = _GOOGLE_PARAM.match(stripped)
            if m and (base_indent < 0 or indent <= base_indent):
                base_indent = indent
                current = m.group(1).lstrip("*")
                params[current] = m.group(2).strip()
            elif current and indent > base_indent:
                params[current] = f"{params[current]} {stripped}".strip()
            elif indent == 0:
                section, current = None, None
        elif section == "sphinx" and current and stripped and not stripped.startswith(":"):
            params[current] = f"{params[current]} {stripped}".strip()
    return " ".join(first), params


def _is_context(annotation: Any, param_name: str) -> bool:
    if annotation is ToolContext:
        return True
    return annotation is inspect.Parameter.empty and param_name in ("ctx", "context")


def _arguments_model(
    func: Callable[..., Any], tool_name: str, param_docs: dict[str, str]
) -> tuple[type[BaseModel], bool]:
    signature = inspect.signature(func)
    try:
        hints = get_type_hints(func, include_extras=True)
    except Exception as exc:  # an annotation that does not resolve is a definition bug
        raise ToolDefinitionError(f"tool {tool_name}: cannot resolve annotations: {exc}") from exc
    params = list(signature.parameters.values())
    takes_context = bool(params) and _is_context(hints.get(params[0].name, params[0].annotation), params[0].name)
    if takes_context:
        params = params[1:]
    fields: dict[str, Any] = {}
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise ToolDefinitionError(f"tool {tool_name}: parameter {param.name} must be a plain named parameter")
        annotation = hints.get(param.name, param.annotation)
        if annotation is ToolContext:
            raise ToolDefinitionError(f"tool {tool_name}: the ToolContext must be the first parameter")
        if annotation is inspect.Parameter.empty:
            raise ToolDefinitionError(f"tool {tool_name}: parameter {param.name} needs a type annotation")
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, Field(default, description=param_docs.get(param.name)))
    model = create_model(  # type: ignore[call-overload]
        f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model, takes_context


def _clean_schema(schema: Any) -> Any:
    """Drop pydantic's generated `title`s (noise for small models), keep everything else."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in ("properties", "$defs") and isinstance(value, dict):
                out[key] = {k: _clean_schema(v) for k, v in value.items()}
            else:
                out[key] = _clean_schema(value) if isinstance(value, (dict, list)) else value
        return out
    if isinstance(schema, list):
        return [_clean_schema(item) for item in schema]
    return schema


def _property_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            yield from props
        for value in schema.values():
            yield from _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _property_names(item)


def check_no_identity_parameters(tool_name: str, schema: dict[str, Any]) -> None:
    """Refuse a schema with a parameter that names a user: identity comes from the context."""
    for prop in _property_names(schema):
        if re.sub(r"[_\-]", "", prop.lower()) in _IDENTITY_NAMES:
            raise ToolDefinitionError(
                f"tool {tool_name}: parameter {prop!r} would let the model choose the user; "
                "read it from ToolContext instead"
            )


# --- the set of tools an agent grants --------------------------------------------------


class ToolRegistry:
    """The ordered tools one agent grants; the loop offers and runs only these."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.register(t)

    def register(self, t: Tool) -> Tool:
        """Add a tool; a second tool of the same name or a user-id parameter is refused."""
        if not isinstance(t, Tool):
            raise ToolDefinitionError(f"not a Tool: {t!r} (decorate it with @tool)")
        if t.name in self._tools:
            raise ToolDefinitionError(f"tool {t.name} is already registered")
        check_no_identity_parameters(t.name, t.parameters)
        self._tools[t.name] = t
        return t

    def get(self, name: str) -> Tool | None:
        """The tool of that name, or None when this agent does not grant it."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        """The tools as the model sees them, in registration order."""
        return [t.spec() for t in self._tools.values()]

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A registry with only the named tools that this one grants (unknown names are ignored)."""
        wanted = set(names)
        return ToolRegistry(t for t in self._tools.values() if t.name in wanted)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)


# --- running one call ------------------------------------------------------------------


def error_result(message: str, code: str = "tool_error") -> dict[str, Any]:
    """The result the model sees when a call failed."""
    return {"error": {"code": code, "message": message}}


def parse_arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Model-written arguments as a dict; raises `ToolError` when they are not a JSON object."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"arguments are not valid JSON: {exc}", code="invalid_arguments") from None
    if not isinstance(value, dict):
        raise ToolError("arguments must be a JSON object", code="invalid_arguments")
    return value


def to_jsonable(value: Any) -> Any:
    """Turn a tool's return value into plain JSON data (dataclasses and pydantic models too)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "invalid arguments: " + "; ".join(parts)


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def invoke(
    t: Tool,
    ctx: ToolContext,
    raw_arguments: str | dict[str, Any] | None,
    *,
    timeout: float | None = DEFAULT_TOOL_TIMEOUT,
) -> ToolOutcome:
    """Parse, validate and run one call; every failure becomes an error result, never a raise.

    `ToolError` messages reach the model as they are; any other exception is logged and the
    model sees only that the tool failed (no traceback). Cancellation propagates.
    """
    started = time.perf_counter()
    arguments: dict[str, Any] | str = raw_arguments if isinstance(raw_arguments, str) else dict(raw_arguments or {})
    try:
        parsed = parse_arguments(raw_arguments)
        arguments = parsed
        validated = t.validate(parsed)
        arguments = validated.model_dump(mode="json")
        return await run_validated(t, ctx, validated, timeout=timeout, started=started)
    except ToolError as exc:
        return ToolOutcome("error", error_result(exc.message, exc.code), arguments, _elapsed_ms(started))


async def run_validated(
    t: Tool,
    ctx: ToolContext,
    validated: BaseModel,
    *,
    timeout: float | None = DEFAULT_TOOL_TIMEOUT,
    started: float | None = None,
) -> ToolOutcome:
    """Run a tool on already validated arguments, with a timeout; failures become error results."""
    started = time.perf_counter() if started is None else started
    arguments = validated.model_dump(mode="json")
    limit = t.timeout if t.timeout is not None else timeout
    try:
        async with asyncio.timeout(limit) as scope:
            value = await t(ctx, validated)
    except _MODEL_VISIBLE as exc:
        return ToolOutcome("error", error_result(exc.message, exc.code), arguments, _elapsed_ms(started))
    except TimeoutError:
        if scope.expired():
            return ToolOutcome(
                "error", error_result(f"the tool timed out after {limit:g} s", "tool_timeout"),
                arguments, _elapsed_ms(started),
            )
        logger.error("tool %s raised TimeoutError", t.name, exc_info=True)
        return ToolOutcome("error", error_result("the tool failed", "tool_failed"), arguments, _elapsed_ms(started))
    except Exception:
        logger.error("tool %s failed", t.name, exc_info=True)
        return ToolOutcome("error", error_result("the tool failed", "tool_failed"), arguments, _elapsed_ms(started))
    try:
        result = to_jsonable(value)
        json.dumps(result, allow_nan=False)  # the model and the store both need JSON
    except (TypeError, ValueError) as exc:
        logger.error("tool %s returned a value that is not JSON: %s", t.name, type(exc).__name__)
        return ToolOutcome("error", error_result("the tool failed", "tool_failed"), arguments, _elapsed_ms(started))
    return ToolOutcome("ok", result, arguments, _elapsed_ms(started))


ToolRecorder = Callable[[ToolCallRecord], Awaitable[None]]
