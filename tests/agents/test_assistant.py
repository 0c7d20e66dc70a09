"""The assistant agent: a calculator without eval, the time, knowledge search; the registry."""

from __future__ import annotations

from datetime import datetime


import pytest

from chatkiosk.agents.assistant.tools import calculate, calculator, current_time, knowledge_search
from chatkiosk.agents.registry import AgentRegistry, default_agents
from chatkiosk.agents.loop import run_agent
from chatkiosk.agents.deps import ToolDeps
from chatkiosk.agents.tools import ToolContext, check_no_identity_parameters, invoke
from chatkiosk.errors import NotFound, ToolError
from chatkiosk.llm.fake import ScriptedProvider, tool_call


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("-4 + 10", 6),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("2 ** 10", 1024),
        ("2 ^ 8", 256),
        ("-(3 - 5)", 2),
        ("sqrt(16) + abs(-2)", 6.0),
        ("max(1, 5, 3)", 5),
        ("round(pi, 2)", 3.14),
        ("1.5e3 / 3", 500.0),
        ("12 × 3 ÷ 4", 9.0),
    ],
)
def test_calculate(expression: str, value: float) -> None:
    assert calculate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('echo pwned')",
        "(1).__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "open('/etc/passwd')",
        "x + 1",
        "lambda: 1",
        "[i for i in range(10)]",
        "'a' * 10",
        "True + 1",
        "9 ** 9 ** 9",
        "10 ** 100000",
        "2 ** 5000",
        "10.0 ** 1000",
        "(-8) ** 0.5",
        "1 / 0",
        "5 % 0",
        "sqrt(-1)",
        "1 +",
        "1 < 2",
        "sqrt(x=4)",
        "1" + "+1" * 150,
        "(" * 150 + "1" + ")" * 150,
        "9**999 * 9**999 * 9**999",
    ],
)
def test_calculate_refuses(expression: str) -> None:
    with pytest.raises(ToolError):
        calculate(expression)


async def test_calculator_as_a_tool(ctx: ToolContext) -> None:
    ok = await invoke(calculator, ctx, {"expression": "6 * 7"})
    assert ok.status == "ok" and ok.result == {"expression": "6 * 7", "result": 42}
    bad = await invoke(calculator, ctx, {"expression": "__import__('os')"})
    assert bad.status == "error" and bad.result["error"]["code"] == "calculation_error"
    too_long = await invoke(calculator, ctx, {"expression": "1+" * 150 + "1"})
    assert too_long.status == "error"


async def test_current_time(ctx: ToolContext) -> None:
    utc = await invoke(current_time, ctx, {})
    assert utc.status == "ok" and utc.result["timezone"] == "UTC" and utc.result["utc_offset"] == "+0000"
    seoul = await invoke(current_time, ctx, {"timezone": "Asia/Seoul"})
    assert seoul.result["utc_offset"] == "+0900"
    assert abs(datetime.fromisoformat(seoul.result["datetime"]).timestamp() - datetime.now().timestamp()) < 5


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "/etc/localtime"])
async def test_current_time_refuses_unknown_zones(ctx: ToolContext, zone: str) -> None:
    outcome = await invoke(current_time, ctx, {"timezone": zone})
    assert outcome.status == "error" and outcome.result["error"]["code"] == "unknown_timezone"


async def test_knowledge_search_without_a_knowledge_base(ctx: ToolContext) -> None:
    outcome = await invoke(knowledge_search, ctx, {"query": "refund policy"})
    assert outcome.status == "ok"
    assert outcome.result["results"] == [] and "no knowledge base" in outcome.result["message"]
    ctx.deps = ToolDeps(knowledge=None)
    outcome = await invoke(knowledge_search, ctx, {"query": "refund policy"})
    assert "no knowledge base" in outcome.result["message"]


async def test_knowledge_search_asks_for_the_contexts_user(ctx: ToolContext) -> None:
    asked = []

    class Knowledge:
        async def search(self, *, user_id, query, top_k):
            asked.append((user_id, query, top_k))
            return [{"document": "refunds.md", "chunk": 2, "score": 0.9, "text": "30 days"}]

    ctx.deps = ToolDeps(knowledge=Knowledge())
    outcome = await invoke(knowledge_search, ctx, {"query": "refund", "top_k": 3})
    assert asked == [("u-alice", "refund", 3)]
    assert outcome.result["results"][0]["document"] == "refunds.md"
    refused = await invoke(knowledge_search, ctx, {"query": "refund", "top_k": 500})
    assert refused.status == "error" and len(asked) == 1


async def test_the_assistant_answers_with_its_tools(drain, ctx: ToolContext) -> None:
    agent = default_agents().get("assistant")
    llm = ScriptedProvider([tool_call("calculator", {"expression": "17 * 23"}), "17 × 23 = 391."])
    messages = [{"role": "system", "content": agent.system_prompt}, {"role": "user", "content": "17*23?"}]
    out = await drain(run_agent(llm, messages, ctx, agent.tools, step_limit=agent.step_limit))
    assert out.result.tool_calls[0].result == {"expression": "17 * 23", "result": 391}
    assert out.result.text == "17 × 23 = 391."


def test_default_agents() -> None:
    registry = default_agents()
    assert registry.names() == ["assistant"]
    agent = registry.get("assistant")
    assert agent.info() == {
        "name": "assistant",
        "description": agent.description,
        "tools": ["knowledge_search", "calculator", "current_time", "save_snippet", "search_snippets"],
    }
    assert agent.provider is None and agent.step_limit == 8 and agent.context.max_messages == 40
    for spec in agent.tools.specs():  # no schema sent to a model names a user
        check_no_identity_parameters(spec.name, spec.parameters)
        assert not any("user" in name.lower() for name in spec.parameters["properties"])
    with pytest.raises(NotFound):
        registry.get("nope")
    with pytest.raises(ValueError):
        registry.register(agent)


async def test_an_agent_without_intercept_leaves_the_turn_to_the_llm(ctx: ToolContext) -> None:
    assert await default_agents().get("assistant").try_intercept(ctx, "hello") is None


def test_registry_keeps_order() -> None:
    from chatkiosk.agents.base import Agent

    registry = AgentRegistry()
    for name in ("b", "a"):
        registry.register(Agent(name=name, description="", system_prompt=""))
    assert [a.name for a in registry.list()] == ["b", "a"] and "a" in registry

