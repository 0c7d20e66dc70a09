"""The agent loop: tools, limits, budgets, errors as results, and the JSON command format."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from chatkiosk.agents.loop import (
    StepLimitExceeded,
    TimeBudgetExceeded,
    TokenBudgetExceeded,
    parse_command,
    run_agent,
)
from chatkiosk.agents.tools import ToolCallRecord, ToolContext, ToolRegistry, tool
from chatkiosk.errors import UpstreamError
from chatkiosk.events import DeltaEvent
from chatkiosk.llm.base import GenerationOptions
from chatkiosk.llm.fake import ScriptedProvider, delay, tool_call, usage

USER = [{"role": "system", "content": "You are a test."}, {"role": "user", "content": "hi"}]


async def test_a_plain_answer_streams_and_ends_with_a_result(drain, ctx, registry) -> None:
    llm = ScriptedProvider([["Hel", "lo!", usage(12, 3)]])
    out = await drain(run_agent(llm, USER, ctx, registry))
    assert [e.text for e in out.of("delta")] == ["Hel", "lo!"]
    assert out.result.text == "Hello!" and out.result.steps == 1
    assert (out.result.usage.prompt_tokens, out.result.usage.completion_tokens) == (12, 3)
    assert out.result.tool_calls == [] and out.result.transcript == []
    assert [t.name for t in llm.calls[0].tools] == ["add", "lookup", "fail"]
    llm.assert_complete()


async def test_tool_call_then_answer(drain, ctx, registry, calls) -> None:
    records: list[ToolCallRecord] = []

    async def recorder(record: ToolCallRecord) -> None:
        records.append(record)

    llm = ScriptedProvider([
        [tool_call("add", {"a": 2, "b": 3}, id="call_1", chunks=3), usage(10, 5)],
        ["The sum is 5.", usage(20, 4)],
    ])
    out = await drain(run_agent(llm, USER, ctx, registry, recorder=recorder))
    assert [e.type for e in out.events] == ["tool_call", "tool_result", "delta"]
    call, result = out.events[0], out.events[1]
    assert (call.id, call.name, call.arguments) == ("call_1", "add", {"a": 2, "b": 3})
    assert (result.id, result.result) == ("call_1", {"sum": 5})
    assert calls == [("add", {"a": 2, "b": 3})]
    assert out.result.text == "The sum is 5." and out.result.steps == 2
    assert out.result.usage.total_tokens == 39
    (record,) = out.result.tool_calls
    assert (record.id, record.name, record.arguments, record.result, record.status) == (
        "call_1", "add", {"a": 2, "b": 3}, {"sum": 5}, "ok")
    assert records == [record]
    assert out.result.transcript == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"sum": 5}'},
    ]
    # The second call saw the tool's result; the caller's list was not changed.
    assert llm.calls[1].messages[-1] == {"role": "tool", "tool_call_id": "call_1", "content": '{"sum": 5}'}
    assert USER == [{"role": "system", "content": "You are a test."}, {"role": "user", "content": "hi"}]


async def test_a_model_that_always_calls_a_tool_stops_at_the_step_limit(drain, ctx, registry, calls) -> None:
    llm = ScriptedProvider([tool_call("lookup", {"key": "k"}) for _ in range(20)])
    with pytest.raises(StepLimitExceeded) as exc:
        await drain(run_agent(llm, USER, ctx, registry, step_limit=4))
    assert len(llm.calls) == 4
    assert len(calls) == 3  # the calls asked for in the last step do not run
    assert exc.value.code == "step_limit_exceeded"
    assert exc.value.result.steps == 4 and len(exc.value.result.tool_calls) == 3
    assert exc.value.body()["error"]["code"] == "step_limit_exceeded"


async def test_the_default_step_limit_is_8(drain, ctx: ToolContext, registry: ToolRegistry) -> None:
    llm = ScriptedProvider([tool_call("lookup", {"key": "k"}) for _ in range(20)])
    with pytest.raises(StepLimitExceeded):
        await drain(run_agent(llm, USER, ctx, registry))
    assert len(llm.calls) == 8


async def test_the_token_budget_holds(drain, ctx: ToolContext, registry: ToolRegistry) -> None:
    llm = ScriptedProvider([[tool_call("lookup", {"key": "k"}), usage(300, 50)] for _ in range(20)])
    with pytest.raises(TokenBudgetExceeded) as exc:
        await drain(run_agent(llm, USER, ctx, registry, token_budget=1000))
    assert exc.value.result.usage.total_tokens <= 1000
    assert len(llm.calls) <= 3
    # Each call was told how much it may still write.
    assert all(c.options.max_tokens is not None and c.options.max_tokens < 1000 for c in llm.calls)


async def test_max_tokens_is_lowered_to_what_the_budget_leaves(drain, ctx: ToolContext) -> None:
    llm = ScriptedProvider([["ok", usage(5, 1)]])
    options = GenerationOptions(max_tokens=5000, temperature=0.2)
    await drain(run_agent(llm, USER, ctx, options=options, token_budget=200))
    assert llm.calls[0].options.max_tokens < 200 and llm.calls[0].options.temperature == 0.2
    llm = ScriptedProvider([["ok", usage(5, 1)]])
    await drain(run_agent(llm, USER, ctx, options=GenerationOptions(max_tokens=50), token_budget=200))
    assert llm.calls[0].options.max_tokens == 50


async def test_a_provider_that_ignores_max_tokens_is_cut_off(drain, ctx: ToolContext) -> None:
    llm = ScriptedProvider([["word " * 10 for _ in range(200)]])
    with pytest.raises(TokenBudgetExceeded) as exc:
        await drain(run_agent(llm, USER, ctx, token_budget=300))
    assert llm.calls[0].closed_early
    assert exc.value.result.usage.completion_tokens < 400


async def test_the_time_budget_holds_against_a_hung_model(drain, ctx, registry) -> None:
    llm = ScriptedProvider([["Thinking", delay(30), "never"]])
    started = time.monotonic()
    with pytest.raises(TimeBudgetExceeded) as exc:
        await drain(run_agent(llm, USER, ctx, registry, time_budget=0.2))
    assert time.monotonic() - started < 2
    assert llm.calls[0].closed_early
    assert exc.value.status_code == 504


async def test_the_time_budget_holds_against_slow_tools(drain, ctx: ToolContext) -> None:
    @tool
    async def slow(ctx: ToolContext) -> str:
        """Slow."""
        await asyncio.sleep(30)
        return "done"

    llm = ScriptedProvider([tool_call("slow"), "never"])
    started = time.monotonic()
    with pytest.raises(TimeBudgetExceeded):
        await drain(run_agent(llm, USER, ctx, ToolRegistry([slow]), time_budget=0.2))
    assert time.monotonic() - started < 2


async def test_tool_errors_go_back_to_the_model(drain, ctx, registry) -> None:
    llm = ScriptedProvider([
        tool_call("fail", {"message": "out of stock"}, id="c1"),
        tool_call("add", {"a": "x"}, id="c2"),
        "Sorry, that did not work.",
    ])
    out = await drain(run_agent(llm, USER, ctx, registry))
    assert [r.status for r in out.result.tool_calls] == ["error", "error"]
    first = json.loads(llm.calls[1].messages[-1]["content"])
    assert first == {"error": {"code": "tool_error", "message": "out of stock"}}
    second = json.loads(llm.calls[2].messages[-1]["content"])
    assert second["error"]["code"] == "invalid_arguments"
    assert out.result.text == "Sorry, that did not work."


async def test_several_calls_in_one_step_run_concurrently(drain, ctx: ToolContext) -> None:
    barrier = asyncio.Barrier(3)

    @tool
    async def wait_for_others(ctx: ToolContext, n: int) -> int:
        """Returns only when all three calls run at once."""
        async with asyncio.timeout(2):
            await barrier.wait()
        return n

    llm = ScriptedProvider([
        [tool_call("wait_for_others", {"n": i}, id=f"c{i}") for i in range(3)],
        "all done",
    ])
    out = await drain(run_agent(llm, USER, ctx, ToolRegistry([wait_for_others])))
    assert [r.result for r in out.result.tool_calls] == [0, 1, 2]
    assert [r.status for r in out.result.tool_calls] == ["ok"] * 3
    assert [e.type for e in out.events] == ["tool_call"] * 3 + ["tool_result"] * 3 + ["delta"]
    assistant = llm.calls[1].messages[-4]
    assert [c["id"] for c in assistant["tool_calls"]] == ["c0", "c1", "c2"]
    assert [m["tool_call_id"] for m in llm.calls[1].messages[-3:]] == ["c0", "c1", "c2"]


async def test_an_unknown_tool_is_refused(drain, ctx, registry, calls) -> None:
    llm = ScriptedProvider([tool_call("delete_everything", {}), "ok"])
    out = await drain(run_agent(llm, USER, ctx, registry))
    (record,) = out.result.tool_calls
    assert record.status == "error" and record.result["error"]["code"] == "unknown_tool"
    assert calls == []


async def test_only_the_agents_tools_are_offered_and_run(drain, ctx, registry, calls) -> None:
    granted = registry.subset(["lookup"])
    llm = ScriptedProvider([tool_call("add", {"a": 1, "b": 2}), "ok"])
    out = await drain(run_agent(llm, USER, ctx, granted))
    assert [t.name for t in llm.calls[0].tools] == ["lookup"]
    assert out.result.tool_calls[0].result["error"]["code"] == "unknown_tool"
    assert calls == []


async def test_no_tools_means_none_are_offered(drain, ctx: ToolContext) -> None:
    llm = ScriptedProvider(["hello"])
    await drain(run_agent(llm, USER, ctx))
    assert llm.calls[0].tools is None


async def test_text_before_a_tool_call_is_kept_in_the_transcript(drain, ctx, registry) -> None:
    llm = ScriptedProvider([["Let me check. ", tool_call("lookup", {"key": "a"}, id="c1")], "It is A."])
    out = await drain(run_agent(llm, USER, ctx, registry))
    assert out.result.transcript[0]["content"] == "Let me check. "
    assert out.result.text == "It is A."
    assert out.text == "Let me check. It is A."


async def test_an_upstream_failure_propagates_with_the_partial_result(drain, ctx, registry) -> None:
    llm = ScriptedProvider([[tool_call("lookup", {"key": "a"}), usage(10, 2)], UpstreamError("down")])
    run = run_agent(llm, USER, ctx, registry)
    with pytest.raises(UpstreamError):
        await drain(run)
    assert run.result.usage.total_tokens == 12
    assert len(run.result.transcript) == 2 and len(run.result.tool_calls) == 1


async def test_closing_the_run_closes_the_upstream(ctx: ToolContext) -> None:
    llm = ScriptedProvider([["a", "b", "c", "d"]])
    run = run_agent(llm, USER, ctx)
    async for event in run:
        assert isinstance(event, DeltaEvent)
        break
    await run.aclose()
    assert llm.calls[0].closed_early


async def test_usage_is_estimated_when_the_provider_reports_none(drain, ctx: ToolContext) -> None:
    llm = ScriptedProvider(["a reasonably long answer"], auto_usage=False)
    out = await drain(run_agent(llm, USER, ctx))
    assert out.result.usage.prompt_tokens > 0 and out.result.usage.completion_tokens > 0


# --- models without native tool calling ------------------------------------------------


def _command(name: str, arguments: dict) -> str:
    return json.dumps({"tool": name, "arguments": arguments})


async def test_json_commands_drive_tools_for_models_without_tool_calling(drain, ctx, registry, calls) -> None:
    llm = ScriptedProvider(
        [[_command("add", {"a": 4, "b": 5})[:10], _command("add", {"a": 4, "b": 5})[10:]], ["It ", "is 9."]],
        supports_tools=False,
    )
    out = await drain(run_agent(llm, USER, ctx, registry))
    assert calls == [("add", {"a": 4, "b": 5})]
    assert llm.calls[0].tools is None
    system = llm.calls[0].messages[0]
    assert system["role"] == "system" and system["content"].startswith("You are a test.")
    assert '"tool"' in system["content"] and "- add: Add two integers." in system["content"]
    assert '"additionalProperties":false' in system["content"]
    assert "{" not in out.text  # no raw JSON reached the user
    assert [e.text for e in out.of("delta")] == ["It ", "is 9."]  # plain text still streams
    second = llm.calls[1].messages
    assert second[-2]["role"] == "assistant" and json.loads(second[-2]["content"])["tool"] == "add"
    assert second[-1] == {"role": "user", "content": 'Result of tool add: {"sum": 9}'}
    # Stored in the usual form, whatever the model's format.
    assert out.result.transcript[0]["tool_calls"][0]["function"]["name"] == "add"
    assert out.result.transcript[1]["role"] == "tool"


async def test_a_fenced_json_command_works(drain, ctx, registry, calls) -> None:
    fenced = "```json\n" + _command("lookup", {"key": "z"}) + "\n```"
    llm = ScriptedProvider([["`", "``json\n", fenced[8:]], "Done."], supports_tools=False)
    out = await drain(run_agent(llm, USER, ctx, registry))
    assert calls == [("lookup", {"key": "z"})]
    assert out.text == "Done."


async def test_a_malformed_command_is_fed_back_once_then_taken_as_text(drain, ctx, registry, calls) -> None:
    llm = ScriptedProvider(['{"tool": "add", "arguments": {"a": 1', '{"tool": "add" oops'], supports_tools=False)
    out = await drain(run_agent(llm, USER, ctx, registry))
    assert len(llm.calls) == 2 and calls == []
    feedback = llm.calls[1].messages[-1]
    assert feedback["role"] == "user" and "could not be used" in feedback["content"]
    assert out.result.text == '{"tool": "add" oops'
    assert out.text == '{"tool": "add" oops'
    assert out.result.transcript == []


async def test_a_command_for_an_unknown_tool_is_an_error_result(drain, ctx, registry) -> None:
    llm = ScriptedProvider([_command("format_disk", {}), "I cannot do that."], supports_tools=False)
    out = await drain(run_agent(llm, USER, ctx, registry))
    assert out.result.tool_calls[0].result["error"]["code"] == "unknown_tool"
    assert "unknown tool" in llm.calls[1].messages[-1]["content"]


async def test_other_code_fences_are_text(drain, ctx: ToolContext, registry: ToolRegistry) -> None:
    answer = "```python\nprint('hi')\n```"
    llm = ScriptedProvider([answer], supports_tools=False)
    out = await drain(run_agent(llm, USER, ctx, registry))
    assert out.text == answer and len(llm.calls) == 1


async def test_without_tools_a_plain_model_gets_no_command_prompt(drain, ctx: ToolContext) -> None:
    llm = ScriptedProvider(['{"a": 1}'], supports_tools=False)
    out = await drain(run_agent(llm, USER, ctx))
    assert llm.calls[0].messages == USER and out.text == '{"a": 1}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"tool": "add", "arguments": {"a": 1}}', (("add", {"a": 1}), None)),
        ('  {"tool": "add"}  ', (("add", {}), None)),
        ('{"tool": "add", "arguments": {}}\nI will add.', (("add", {}), None)),
        ("```\n{\"tool\": \"x\"}\n```", (("x", {}), None)),
        ("hello", (None, None)),
        ("```python\nx\n```", (None, None)),
    ],
)
def test_parse_command(text: str, expected) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", ['{"a": 1}', '{"tool": 3}', '{"tool": "x", "arguments": [1]}', "{oops"])
def test_parse_command_reports_what_is_wrong(text: str) -> None:
    command, error = parse_command(text)
    assert command is None and error
