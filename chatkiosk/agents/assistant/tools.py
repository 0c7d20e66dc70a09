"""The assistant's tools: a safe calculator, the current time, knowledge search and code snippets."""

from __future__ import annotations

import ast
import inspect
import math
import operator
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from chatkiosk.agents.tools import ToolContext, tool
from chatkiosk.errors import ToolError
from chatkiosk.knowledge.hits import tool_result
from chatkiosk.knowledge.snippets import SnippetBook

MAX_EXPRESSION_LENGTH = 200
MAX_NODES = 100
MAX_EXPONENT = 1000
MAX_INT_BITS = 4096  # about 1,200 decimal digits

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {
    "sqrt": math.sqrt, "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil,
    "exp": math.exp, "log": math.log, "log10": math.log10, "log2": math.log2,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "min": min, "max": max,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}

Number = int | float


def _check_size(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ToolError("the result is too large", code="calculation_error")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is not a finite number", code="calculation_error")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolError(f"exponents are limited to ±{MAX_EXPONENT}", code="calculation_error")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise ToolError("the result is too large", code="calculation_error")
    result = base**exponent
    if isinstance(result, complex):
        raise ToolError("the result is not a real number", code="calculation_error")
    return result


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ToolError("only numbers are allowed", code="calculation_error")
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            return _check_size(_power(left, right))
        return _check_size(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and 0 < len(node.args) <= 4
    ):
        args = [_evaluate(a) for a in node.args]
        return _check_size(_FUNCTIONS[node.func.id](*args))
    raise ToolError(f"not allowed in an expression: {type(node).__name__}", code="calculation_error")


def calculate(expression: str) -> Number:
    """Evaluate an arithmetic expression without `eval`: numbers, + - * / // % **, parentheses,
    unary minus, and a few math functions and constants. Raises `ToolError` otherwise."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ToolError(
            f"expressions are limited to {MAX_EXPRESSION_LENGTH} characters", code="calculation_error"
        )
    text = expression.replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ToolError("not a valid arithmetic expression", code="calculation_error") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolError("the expression is too complex", code="calculation_error")
    try:
        return _evaluate(tree)
    except ZeroDivisionError:
        raise ToolError("division by zero", code="calculation_error") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolError(f"cannot calculate this: {exc}", code="calculation_error") from None


@tool
async def calculator(
    ctx: ToolContext, expression: Annotated[str, Field(max_length=MAX_EXPRESSION_LENGTH)]
) -> dict[str, Any]:
    """Calculate an arithmetic expression exactly.

    Args:
        expression: The expression, e.g. "(3 + 4) * 2" or "sqrt(2) ** 3". Supports + - * / // % **,
            parentheses, sqrt, abs, round, floor, ceil, exp, log, log10, sin, cos, tan, min, max, pi, e.
    """
    return {"expression": expression, "result": calculate(expression)}


@tool
async def current_time(ctx: ToolContext, timezone: str = "UTC") -> dict[str, Any]:
    """Tell the current date and time in a time zone.

    Args:
        timezone: An IANA time zone name such as "UTC", "Asia/Seoul" or "Europe/Berlin".
    """
    try:
        zone = ZoneInfo(timezone.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ToolError(f"unknown time zone {timezone!r}; use an IANA name like 'Asia/Seoul'",
                        code="unknown_timezone") from None
    now = datetime.now(zone)
    return {
        "timezone": timezone.strip(),
        "datetime": now.isoformat(timespec="seconds"),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M:%S"),
        "weekday": now.strftime("%A"),
        "utc_offset": now.strftime("%z"),
    }


@tool
async def knowledge_search(
    ctx: ToolContext,
    query: Annotated[str, Field(min_length=1, max_length=500)],
    top_k: Annotated[int, Field(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    """Search the knowledge base for passages relevant to a question; cite the ones you use.

    Args:
        query: What to look for, in the user's words.
        top_k: How many passages to return (1-20).
    """
    knowledge = ctx.deps.knowledge
    if knowledge is None:
        return {"results": [], "message": "no knowledge base is configured on this server"}
    # The user comes from the context, so retrieval only sees documents this user may read.
    found = knowledge.search(user_id=ctx.user_id, query=query, top_k=top_k)
    if inspect.isawaitable(found):
        found = await found
    return tool_result(found or [])


def _snippets(ctx: ToolContext) -> SnippetBook:
    book = ctx.deps.snippets
    if book is None:
        raise ToolError("snippets are not available on this server", code="snippets_unavailable")
    return book


@tool
async def save_snippet(
    ctx: ToolContext,
    code: Annotated[str, Field(min_length=1, max_length=100_000)],
    description: Annotated[str, Field(min_length=1, max_length=2000)],
    language: Annotated[str, Field(max_length=40)] = "",
) -> dict[str, Any]:
    """Save code to the user's snippets.

    Args:
        code: The code.
        description: What it does.
        language: e.g. "python".
    """
    saved = await _snippets(ctx).save(str(ctx.user_id), code=code, language=language, description=description)
    return {"saved": {"id": saved.id, "language": saved.language, "description": saved.description}}


@tool
async def search_snippets(ctx: ToolContext, query: Annotated[str, Field(min_length=1, max_length=500)]) -> dict[str, Any]:
    """Find the user's saved code snippets (the best five).

    Args:
        query: What the code does.
    """
    found = await _snippets(ctx).search(str(ctx.user_id), query, top_k=5)
    return {"results": [
        {"id": s.id, "language": s.language, "description": s.description, "code": s.code, "score": s.score} for s in found
    ]}
