"""Tools: schema from signature and docstring, validation before the run, safe failures."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from pydantic import BaseModel

from chatkiosk.agents.tools import (
    Tool,
    ToolContext,
    ToolDefinitionError,
    ToolRegistry,
    invoke,
    make_tool,
    parse_docstring,
    tool,
)
from chatkiosk.errors import NotFound, ToolError


@tool
async def add_item(ctx: ToolContext, item_id: str, quantity: int = 1, note: str | None = None) -> dict:
    """Add an item to the order.

    The item must be on the menu.

    Args:
        item_id: The menu item's id.
        quantity (int): How many,
            from 1 to 20.
        note: Anything the kitchen should know.

    Returns:
        The order.
    """
    return {"item_id": item_id, "quantity": quantity}


def test_schema_comes_from_signature_and_docstring() -> None:
    assert add_item.name == "add_item"
    assert add_item.description == "Add an item to the order."
    schema = add_item.parameters
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == ["item_id", "quantity", "note"]
    assert schema["required"] == ["item_id"]
    assert schema["properties"]["item_id"] == {"type": "string", "description": "The menu item's id."}
    assert schema["properties"]["quantity"]["type"] == "integer"
    assert schema["properties"]["quantity"]["default"] == 1
    assert schema["properties"]["quantity"]["description"] == "How many, from 1 to 20."
    assert "ctx" not in schema["properties"]
    assert "title" not in schema and "title" not in schema["properties"]["item_id"]


def test_spec_is_what_the_provider_gets() -> None:
    spec = add_item.spec()
    assert (spec.name, spec.description, spec.parameters) == ("add_item", add_item.description, add_item.parameters)


def test_sphinx_docstring_and_overrides() -> None:
    async def get_weather(ctx: ToolContext, city: str) -> str:
        """Tell the weather.

        :param city: The city's name.
        """
        return "sunny"

    t = make_tool(get_weather, name="weather", description="Weather now.")
    assert t.name == "weather" and t.description == "Weather now."
    assert t.parameters["properties"]["city"]["description"] == "The city's name."


def test_parse_docstring_without_sections() -> None:
    assert parse_docstring("Just one line.") == ("Just one line.", {})
    assert parse_docstring("") == ("", {})


def test_decorator_with_options_and_no_context() -> None:
    @tool(name="pay_now", requires_confirmation=True)
    async def pay(amount: int) -> dict:
        """Pay."""
        return {"paid": amount}

    assert isinstance(pay, Tool)
    assert pay.name == "pay_now" and pay.requires_confirmation and not pay.takes_context
    assert asyncio.run(invoke(pay, ToolContext(user_id="u"), {"amount": 3})).result == {"paid": 3}


@pytest.mark.parametrize("name", ["user_id", "user", "owner_id", "userId", "ownerId", "customer_id", "UID"])
def test_a_parameter_naming_a_user_is_refused(name: str) -> None:
    async def f(ctx: ToolContext, x: str) -> None:
        """F."""

    f.__annotations__ = {"ctx": ToolContext, name: str, "return": None}
    import inspect

    f.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ToolContext),
         inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)]
    )
    with pytest.raises(ToolDefinitionError, match="ToolContext"):
        make_tool(f)


def test_a_nested_user_id_is_refused_too() -> None:
    class Target(BaseModel):
        order_id: str
        owner_id: str

    async def cancel(ctx: ToolContext, target: Target) -> None:
        """Cancel."""

    with pytest.raises(ToolDefinitionError):
        make_tool(cancel)


def test_registry_refuses_a_hand_built_tool_with_a_user_parameter() -> None:
    bad = Tool(
        name="bad", description="", parameters={"type": "object", "properties": {"user_id": {"type": "string"}}},
        arguments_model=BaseModel, fn=lambda ctx: None,
    )
    with pytest.raises(ToolDefinitionError):
        ToolRegistry([bad])


def test_bad_definitions_are_refused() -> None:
    async def untyped(ctx: ToolContext, x) -> None:  # type: ignore[no-untyped-def]
        """U."""

    async def late_context(x: int, ctx: ToolContext) -> None:
        """L."""

    async def star(ctx: ToolContext, *args: int) -> None:
        """S."""

    for fn in (untyped, late_context, star):
        with pytest.raises(ToolDefinitionError):
            make_tool(fn)
    with pytest.raises(ToolDefinitionError):
        make_tool(untyped, name="has space")


async def test_arguments_are_validated_before_the_tool_runs(ctx: ToolContext) -> None:
    ran = []

    @tool
    async def setq(ctx: ToolContext, quantity: int) -> int:
        """Set."""
        ran.append(quantity)
        return quantity

    for raw in ['{"quantity": "many"}', '{"quantity": 1, "extra": 2}', "{}", '{"quantity": [1]}']:
        outcome = await invoke(setq, ctx, raw)
        assert outcome.status == "error"
        assert outcome.result["error"]["code"] == "invalid_arguments"
    assert ran == []
    ok = await invoke(setq, ctx, '{"quantity": "3"}')  # lax: a numeric string is fine
    assert ok.status == "ok" and ok.result == 3 and ok.arguments == {"quantity": 3}
    assert ran == [3]


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"text"', "{"])
async def test_arguments_must_be_a_json_object(ctx: ToolContext, raw: str) -> None:
    outcome = await invoke(add_item, ctx, raw)
    assert outcome.status == "error"
    assert outcome.result["error"]["code"] == "invalid_arguments"
    assert outcome.arguments == raw


async def test_empty_arguments_mean_no_arguments(ctx: ToolContext) -> None:
    @tool
    async def ping(ctx: ToolContext) -> str:
        """Ping."""
        return "pong"

    assert (await invoke(ping, ctx, "")).result == "pong"
    assert (await invoke(ping, ctx, None)).result == "pong"


async def test_tool_error_reaches_the_model_as_a_result(ctx: ToolContext) -> None:
    @tool
    async def refuse(ctx: ToolContext) -> None:
        """Refuse."""
        raise ToolError("that item is sold out", code="sold_out")

    outcome = await invoke(refuse, ctx, {})
    assert outcome.status == "error"
    assert outcome.result == {"error": {"code": "sold_out", "message": "that item is sold out"}}
    json.loads(outcome.content())


async def test_not_found_from_a_store_reaches_the_model(ctx: ToolContext) -> None:
    @tool
    async def get_order(ctx: ToolContext, order_id: str) -> None:
        """Get."""
        raise NotFound("order not found")

    outcome = await invoke(get_order, ctx, {"order_id": "o-1"})
    assert outcome.result["error"]["message"] == "order not found"


async def test_an_unexpected_exception_leaks_no_detail(ctx: ToolContext, caplog: pytest.LogCaptureFixture) -> None:
    @tool
    async def boom(ctx: ToolContext) -> None:
        """Boom."""
        raise RuntimeError("password=hunter2 at /srv/app/secret.py line 3")

    outcome = await invoke(boom, ctx, {})
    assert outcome.status == "error"
    text = outcome.content()
    assert "hunter2" not in text and "Traceback" not in text and "secret.py" not in text
    assert outcome.result["error"]["code"] == "tool_failed"


async def test_a_slow_tool_times_out(ctx: ToolContext) -> None:
    @tool(timeout=0.05)
    async def slow(ctx: ToolContext) -> None:
        """Slow."""
        await asyncio.sleep(5)

    outcome = await invoke(slow, ctx, {})
    assert outcome.status == "error" and outcome.result["error"]["code"] == "tool_timeout"

    @tool
    async def slow2(ctx: ToolContext) -> None:
        """Slow."""
        await asyncio.sleep(5)

    outcome = await invoke(slow2, ctx, {}, timeout=0.05)
    assert outcome.result["error"]["code"] == "tool_timeout"


async def test_duration_is_measured(ctx: ToolContext) -> None:
    @tool
    async def nap(ctx: ToolContext) -> str:
        """Nap."""
        await asyncio.sleep(0.05)
        return "rested"

    outcome = await invoke(nap, ctx, {})
    assert outcome.duration_ms >= 40


async def test_results_are_made_json(ctx: ToolContext) -> None:
    @dataclass
    class Line:
        item: str
        qty: int

    class Total(BaseModel):
        amount: int

    @tool
    async def order(ctx: ToolContext) -> dict:
        """Order."""
        return {"lines": [Line("cola", 2)], "total": Total(amount=3000), "tags": ("a",)}

    outcome = await invoke(order, ctx, {})
    assert outcome.result == {"lines": [{"item": "cola", "qty": 2}], "total": {"amount": 3000}, "tags": ["a"]}

    @tool
    async def odd(ctx: ToolContext) -> object:
        """Odd."""
        return object()

    assert (await invoke(odd, ctx, {})).result["error"]["code"] == "tool_failed"


async def test_context_reaches_the_tool_not_from_arguments(ctx: ToolContext) -> None:
    seen = {}

    @tool
    async def whoami(ctx: ToolContext) -> str:
        """Who."""
        seen["user"] = ctx.user_id
        return "ok"

    outcome = await invoke(whoami, ctx, {"user_id": "u-mallory"})
    assert outcome.status == "error"  # an extra argument is refused ...
    assert seen == {}
    await invoke(whoami, ctx, {})
    assert seen == {"user": "u-alice"}  # ... and the user comes from the context


def test_registry_order_subset_and_lookup(registry: ToolRegistry) -> None:
    assert registry.names() == ["add", "lookup", "fail"]
    assert [s.name for s in registry.specs()] == ["add", "lookup", "fail"]
    sub = registry.subset(["fail", "add", "not_a_tool"])
    assert sub.names() == ["add", "fail"]
    assert registry.get("nope") is None and "add" in registry and len(registry) == 3
    with pytest.raises(ToolDefinitionError):
        registry.register(registry.get("add"))  # type: ignore[arg-type]
    with pytest.raises(ToolDefinitionError):
        registry.register(lambda: None)  # type: ignore[arg-type]
