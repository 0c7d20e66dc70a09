"""Fixtures for the agent tests: a context, a few small tools, and a way to drain a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from chatkiosk.agents.loop import AgentResult, AgentRun
from chatkiosk.agents.tools import ToolContext, ToolRegistry, tool
from chatkiosk.errors import ToolError


@dataclass
class Drained:
    """A run's events, split by kind."""

    events: list[Any] = field(default_factory=list)
    result: AgentResult | None = None

    def of(self, type_name: str) -> list[Any]:
        return [e for e in self.events if getattr(e, "type", None) == type_name]

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.of("delta"))


async def drain(run: AgentRun) -> Drained:
    """Iterate a run to its end; the final `AgentResult` goes to `.result`."""
    out = Drained()
    async for item in run:
        if isinstance(item, AgentResult):
            out.result = item
        else:
            out.events.append(item)
    return out


@pytest.fixture
def ctx() -> ToolContext:
    return ToolContext(user_id="u-alice", conversation_id="c-1", agent="test", request_id="r-1")


@pytest.fixture
def calls() -> list[tuple[str, dict[str, Any]]]:
    """What the sample tools were run with, in order."""
    return []


@pytest.fixture
def registry(calls: list[tuple[str, dict[str, Any]]]) -> ToolRegistry:
    """`add(a, b)`, `lookup(key)` and `fail(message)`: small tools that record their runs."""

    @tool
    async def add(ctx: ToolContext, a: int, b: int = 0) -> dict:
        """Add two integers.

        Args:
            a: The first number.
            b: The second number.
        """
        calls.append(("add", {"a": a, "b": b}))
        return {"sum": a + b}

    @tool
    async def lookup(ctx: ToolContext, key: str) -> dict:
        """Look a key up."""
        calls.append(("lookup", {"key": key}))
        return {"key": key, "value": key.upper(), "user": ctx.user_id}

    @tool
    async def fail(ctx: ToolContext, message: str) -> dict:
        """Always fails with the given message."""
        calls.append(("fail", {"message": message}))
        raise ToolError(message)

    return ToolRegistry([add, lookup, fail])


@pytest.fixture(name="drain")
def drain_fixture():
    """The `drain` helper, as a fixture (test modules do not import the conftest)."""
    return drain
