"""The agent loop: model → tool calls → results → model, until a final answer or a limit.

`run_agent` streams `DeltaEvent`s, `ToolCallEvent`s and `ToolResultEvent`s and ends with an
`AgentResult`. Limits: a step limit (one step is one model call), a per-turn token budget and
a deadline; going past one raises an `AgentLimitExceeded` carrying the partial result.

Only tools of the agent's registry run; a call to any other name is an error result the model
sees. A client's own tools (the OpenAI API) are offered beside them and never run here: a call
to one ends the run (`AgentResult.client_calls`). `tool_choice` forces a call ("required" on
every step, a named tool on the first). Models without native tool calling get the same tools through the JSON
command format (`command_format`): a reply that starts like a command is held back, so raw
JSON does not reach the user; a command that cannot be used is fed back once; the answer's
schema goes to the provider (`GenerationOptions.command_schema`) to constrain decoding.
With `stop_after_tools` the run ends once a step's tools have run (the agent writes the
answer itself from what they did: the kiosk).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from chatkiosk.agents.budget import answer_room
from chatkiosk.agents.command_format import (  # command_prompt, parse_command: re-exported
    COMMAND_SHAPE,
    command_prompt,  # noqa: F401
    command_schema,
    parse_command,  # noqa: F401
    parse_commands,
    starts_command,
    to_command_messages,
)
from chatkiosk.agents.confirm import ConfirmationGate
from chatkiosk.agents.context import message_tokens
from chatkiosk.agents.tools import (
    DEFAULT_TOOL_TIMEOUT,
    ToolCallRecord,
    ToolContext,
    ToolOutcome,
    Tool,
    ToolRecorder,
    ToolRegistry,
    error_result,
    invoke,
    parse_arguments,
)
from chatkiosk.errors import ContextOverflow, ToolError
from chatkiosk.guard.pipeline import TurnGuard
from chatkiosk.events import DeltaEvent, ToolCallEvent, ToolResultEvent
from chatkiosk.llm.base import (
    Finish,
    GenerationOptions,
    Message,
    Provider,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageReport,
)

DEFAULT_STEP_LIMIT = 8

ToolChoice = str | dict[str, Any] | None
"""A forced tool call: "required", or {"type": "function", "function": {"name": ...}}; None: auto."""


@dataclass(slots=True)
class AgentResult:
    """What a turn produced. `transcript` holds the messages the loop added before the final
    answer (assistant messages with `tool_calls`, then `tool` messages), in OpenAI form, for
    the caller to store; the final answer itself is `text`."""

    text: str = ""
    usage: Usage = field(default_factory=Usage)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    steps: int = 0
    transcript: list[Message] = field(default_factory=list)
    finish_reason: str = "stop"
    # Calls to the client's own tools (OpenAI API): the turn ends with them, the client runs them.
    client_calls: list[ToolCall] = field(default_factory=list)


class AgentLimitExceeded(ToolError):
    """The turn hit a limit; `result` is what it had produced until then."""

    code = "agent_limit_exceeded"

    def __init__(self, message: str, *, result: AgentResult, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.result = result


class StepLimitExceeded(AgentLimitExceeded):
    code = "step_limit_exceeded"


class TokenBudgetExceeded(AgentLimitExceeded):
    code = "token_budget_exceeded"


class TimeBudgetExceeded(AgentLimitExceeded):
    status_code = 504
    code = "time_budget_exceeded"


AgentEvent = DeltaEvent | ToolCallEvent | ToolResultEvent | AgentResult


# --- the loop --------------------------------------------------------------------------


@dataclass(slots=True)
class _Step:
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    finish: str = "stop"
    buffered: bool = False  # the text was held back (a possible JSON command)


class _Watch:
    """The turn's deadline over one model call: one timer for the whole stream instead of a
    timeout around every piece. It cancels the task only while it waits for the model (never
    while the caller handles a piece: then the next wait raises), as `asyncio.timeout` would."""

    __slots__ = ("expired", "waiting", "_task", "_timer", "_cancelling", "_cancelled")

    def __init__(self, when: float | None) -> None:
        self.expired = self.waiting = self._cancelled = False
        self._task = asyncio.current_task()
        self._cancelling = 0
        self._timer = asyncio.get_running_loop().call_at(when, self._fire) if when is not None else None

    def _fire(self) -> None:
        self.expired = True
        if self.waiting and self._task is not None:
            self._cancelling = self._task.cancelling()
            self._cancelled = True
            self._task.cancel()

    def timed_out(self) -> bool:
        """After a CancelledError: whether it was this deadline's (and no one else's) cancel."""
        if not self._cancelled or self._task is None:
            return False
        self._cancelled = False
        return self._task.uncancel() <= self._cancelling

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _call_id() -> str:
    return "call_" + secrets.token_hex(8)


def _event_arguments(raw: str) -> dict[str, Any] | str:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return raw
    return value if isinstance(value, dict) else raw


class AgentRun:
    """One run of the loop: iterate it for events; `result` is up to date at every point
    (so a caller that catches an upstream failure can still store usage and transcript)."""

    def __init__(
        self,
        provider: Provider,
        messages: list[Message],
        ctx: ToolContext,
        tools: ToolRegistry | None = None,
        *,
        options: GenerationOptions = GenerationOptions(),
        step_limit: int = DEFAULT_STEP_LIMIT,
        token_budget: int | None = None,
        time_budget: float | None = None,
        tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT,
        parallel_tool_calls: bool = True,
        recorder: ToolRecorder | None = None,
        confirmations: ConfirmationGate | None = None,
        guard: TurnGuard | None = None,
        stop_after_tools: bool = False,
        client_tools: list[ToolSpec] | None = None,
        tool_choice: ToolChoice = None,
    ) -> None:
        self.provider = provider
        self.stop_after_tools = stop_after_tools
        self.client_tools = list(client_tools or [])
        self._client_names = {t.name for t in self.client_tools}
        self.tool_choice = tool_choice
        # With "required": the tools a forced step may call (None: all; the client's alone once
        # the agent's have run on a small model, which would otherwise call them again and again).
        self._forced_names: set[str] | None = None
        self.messages = list(messages)
        self.ctx = ctx
        self.tools = tools if tools is not None else ToolRegistry()
        # What the JSON command format offers: the agent's tools, then the client's.
        self._commands: list[Tool | ToolSpec] = [*self.tools, *self.client_tools]
        self.options = options
        self.step_limit = max(1, step_limit)
        self.token_budget = token_budget
        self.time_budget = time_budget
        self.tool_timeout = tool_timeout
        self.parallel_tool_calls = parallel_tool_calls
        self.recorder = recorder
        self.confirmations = confirmations
        self.guard = guard  # guardrails on tool output and arguments (chatkiosk/guard)
        self.result = AgentResult()
        self._native = bool(getattr(provider, "supports_tools", False))
        # A provider that states its window is small and local: the short command prompt.
        self._compact = getattr(provider, "context_window", None) is not None
        self._deadline: float | None = None
        # What the provider reported for the last call (prompt + completion), and how many
        # messages that call covered: the next prompt costs at least that much.
        self._known: tuple[int, int] | None = None
        self._gen: AsyncIterator[AgentEvent] | None = None

    def __aiter__(self) -> AsyncIterator[AgentEvent]:
        if self._gen is None:
            self._gen = self._run()
        return self._gen

    async def aclose(self) -> None:
        """Stop the run (closes the upstream stream)."""
        if self._gen is not None:
            await self._gen.aclose()  # type: ignore[attr-defined]

    # -- limits --

    def _fail(self, cls: type[AgentLimitExceeded], message: str) -> AgentLimitExceeded:
        self.result.finish_reason = "error"
        return cls(message, result=self.result)

    def _over_tokens(self) -> AgentLimitExceeded:
        return self._fail(TokenBudgetExceeded, f"the turn used up its token budget of {self.token_budget}")

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _check_time(self) -> None:
        if self._deadline is not None and self._now() >= self._deadline:
            raise self._time_up()

    def _time_up(self) -> AgentLimitExceeded:
        return self._fail(TimeBudgetExceeded, f"the turn ran past its time budget of {self.time_budget:g} s")

    def _completion_room(self, to_send: list[Message]) -> int | None:
        """Tokens the next call may generate under the budget (None: no budget)."""
        if self.token_budget is None:
            return None
        count = self.provider.count_tokens
        prompt = sum(message_tokens(m, count) for m in to_send)
        if self._native and self._commands:
            prompt += count(json.dumps([t.parameters for t in self._commands]))
        if self._known is not None:
            covered, tokens = self._known  # + 1: the assistant message is that call's completion
            prompt = max(prompt, tokens + sum(message_tokens(m, count) for m in self.messages[covered + 1:]))
        room = self.token_budget - self.result.usage.total_tokens - prompt
        if room <= 0:
            raise self._over_tokens()
        return room

    # -- the run --

    async def _run(self) -> AsyncIterator[AgentEvent]:
        if self.time_budget is not None:
            self._deadline = self._now() + self.time_budget
        command_mode = not self._native and bool(self._commands)
        if command_mode and self.options.command_schema is None:
            self.options = replace(self.options, command_schema=command_schema(self._commands, self.ctx))
        known = {t.name for t in self._commands}
        fed_back = False
        seen: set[str] = set()  # commands already run this turn (JSON command format)
        for step_no in range(1, self.step_limit + 1):
            self._check_time()
            to_send = (  # without native tools, earlier tool traffic is shown as commands and results too
                to_command_messages(self.messages, self._commands, compact=self._compact)
                if not self._native and (self._commands or any(m.get("role") == "tool" for m in self.messages))
                else list(self.messages)
            )
            step = _Step()
            options = self._step_options(step_no, command_mode)
            try:
                async with aclosing(self._model_step(to_send, step, command_mode, options)) as pieces:
                    async for item in pieces:
                        yield item
            except ContextOverflow:
                if not (self.stop_after_tools and self.result.tool_calls):
                    raise
                # The commands ran and the model's words about them (a confirmation asked) no
                # longer fit its window: the run ends with what ran, and the agent that writes
                # its answer from the commands (the kiosk) says it, instead of an error that
                # hides a changed order.
                self.result.finish_reason = "tool_calls"
                yield self.result
                return
            self.result.steps = step_no

            if command_mode and step.buffered:
                commands, error = parse_commands(step.text)
                if self.options.response_format is not None and (error is not None or any(n not in known for n, _ in commands)):
                    commands, error = [], None  # JSON that is no command: the structured answer itself
                keys = [json.dumps([n, a], sort_keys=True, ensure_ascii=False) for n, a in commands]
                if commands and all(k in seen for k in keys) and step_no < self.step_limit:
                    # The same command again: its result is in already. Ask for the answer in text
                    # (or, when the client requires a tool call, for a call of the client's tools).
                    command_mode = self._after_agent_tools()
                    continue
                seen.update(keys)
                if commands:
                    step.calls = [
                        ToolCall(_call_id(), name, json.dumps(arguments, ensure_ascii=False))
                        for name, arguments in commands
                    ]
                    step.text = ""
                elif error is not None and not fed_back and step_no < self.step_limit:
                    fed_back = True
                    self.messages += [
                        {"role": "assistant", "content": step.text},
                        {"role": "user", "content": (
                            f"Your tool command could not be used: {error}. Reply with plain "
                            f"text for the user, or with exactly one JSON object {COMMAND_SHAPE}."
                        )},
                    ]
                    continue
                else:
                    yield DeltaEvent(step.text)  # not a command after all: it is the answer

            if not step.calls:
                self.result.text = step.text
                self.result.finish_reason = step.finish
                yield self.result
                return
            client_calls = [c for c in step.calls if c.name in self._client_names]
            if client_calls:  # the client runs these: the turn ends here, its next request goes on
                self.result.text, self.result.client_calls, self.result.finish_reason = step.text, client_calls, "tool_calls"
                yield self.result
                return
            if step_no >= self.step_limit:
                raise self._fail(StepLimitExceeded, f"the turn reached its step limit of {self.step_limit}")
            if self.token_budget is not None and self.result.usage.total_tokens >= self.token_budget:
                raise self._over_tokens()
            async with aclosing(self._tool_step(step)) as tool_events:
                async for item in tool_events:
                    yield item
            asking = any(r.status == "confirmation_required" for r in self.result.tool_calls[-len(step.calls):])
            if self.stop_after_tools and not asking:  # a confirmation still gets the model's words
                self.result.finish_reason = "tool_calls"
                yield self.result
                return
            if command_mode and self._compact:
                # A small local model answers from the results in text: left free, it calls the
                # same tools again and again.
                command_mode = self._after_agent_tools()
        raise self._fail(StepLimitExceeded, f"the turn reached its step limit of {self.step_limit}")

    def _after_agent_tools(self) -> bool:
        """A small model's next step once the agent's tools ran: the answer in text, or (a tool
        call required, client tools offered) a call of the client's tools. True: commands still."""
        if self.tool_choice == "required" and self.client_tools:
            self._forced_names = set(self._client_names)
            return True
        self.options = replace(self.options, text_only=True)
        return False

    def _step_options(self, step_no: int, command_mode: bool) -> GenerationOptions:
        """This step's options: a tool call forced as the client asked (`tool_choice`), on every
        step for "required", on the first for a named tool."""
        choice = self.tool_choice
        if choice is None or (isinstance(choice, dict) and step_no > 1):
            return self.options
        if self._native:
            return replace(self.options, tool_choice=choice)
        if not command_mode:
            return self.options
        names = {str((choice.get("function") or {}).get("name"))} if isinstance(choice, dict) else self._forced_names
        tools = [t for t in self._commands if names is None or t.name in names]
        if not tools:
            return self.options
        return replace(self.options, command_schema=command_schema(tools, self.ctx), tool_choice="required", text_only=False)

    async def _model_step(
        self, to_send: list[Message], step: _Step, command_mode: bool, options: GenerationOptions
    ) -> AsyncIterator[DeltaEvent]:
        """One model call, streamed: text is passed on (or held back while it may be a command)."""
        room = self._completion_room(to_send)
        if room is not None and (options.max_tokens is None or options.max_tokens > room):
            options = replace(options, max_tokens=room)
        if getattr(self.provider, "context_window", None):  # the prompt and the answer fit the window
            prompt = sum(message_tokens(m, self.provider.count_tokens) for m in to_send)
            options = replace(options, max_tokens=answer_room(self.provider, prompt, options.max_tokens))
        offered = [*self.tools.specs(), *self.client_tools] if self._native and (len(self.tools) or self.client_tools) else None
        count = self.provider.count_tokens
        stream = self.provider.stream(to_send, tools=offered, options=options)
        parts: list[str] = []
        pieces: dict[int, dict[str, Any]] = {}
        completion = 0
        limit = room + max(16, room // 4) if room is not None else None  # past it, the provider ignored max_tokens
        decided: bool | None = None if command_mode else False
        watch = _Watch(self._deadline)
        try:
            while True:
                if watch.expired:  # it passed while the caller had the last piece
                    raise self._time_up()
                watch.waiting = True
                try:
                    piece = await anext(stream)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if watch.timed_out():
                        raise self._time_up() from None
                    raise
                finally:
                    watch.waiting = False
                if isinstance(piece, TextDelta):
                    parts.append(piece.text)
                    completion += count(piece.text)
                    if decided is None:
                        decided = starts_command("".join(parts))
                        if decided is False:
                            yield DeltaEvent("".join(parts))
                    elif decided is False:
                        yield DeltaEvent(piece.text)
                elif isinstance(piece, ToolCallDelta):
                    slot = pieces.setdefault(piece.index, {"id": None, "name": "", "arguments": []})
                    slot["id"] = slot["id"] or piece.id
                    slot["name"] = slot["name"] or (piece.name or "")
                    slot["arguments"].append(piece.arguments)
                    completion += count(piece.arguments)
                elif isinstance(piece, UsageReport):
                    step.usage = piece.usage
                elif isinstance(piece, Finish):
                    step.finish = piece.reason
                if limit is not None and completion > limit:
                    # A provider that ignores max_tokens: cut it off here.
                    self._add_usage(step, to_send, completion)
                    raise self._over_tokens()
        finally:
            watch.close()
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        step.text = "".join(parts)
        step.buffered = decided is True
        if decided is None and step.text:  # too short to tell: it is text
            yield DeltaEvent(step.text)
        step.calls = [
            ToolCall(slot["id"] or _call_id(), slot["name"], "".join(slot["arguments"]))
            for _, slot in sorted(pieces.items())
        ]
        self._add_usage(step, to_send, completion)
        self._known = (len(self.messages), step.usage.total_tokens if step.usage else 0)

    def _add_usage(self, step: _Step, to_send: list[Message], completion: int) -> None:
        if step.usage is None:  # no report from the provider: estimate
            prompt = sum(message_tokens(m, self.provider.count_tokens) for m in to_send)
            step.usage = Usage(prompt_tokens=prompt, completion_tokens=completion)
        self.result.usage.add(step.usage)

    async def _tool_step(self, step: _Step) -> AsyncIterator[ToolCallEvent | ToolResultEvent]:
        """Run the step's calls (concurrently), record them, and give the results to the model."""
        assistant: Message = {
            "role": "assistant",
            "content": step.text or None,
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in step.calls
            ],
        }
        self.messages.append(assistant)
        self.result.transcript.append(assistant)
        for c in step.calls:
            yield ToolCallEvent(id=c.id, name=c.name, arguments=_event_arguments(c.arguments))
        try:
            async with asyncio.timeout_at(self._deadline):
                if self.parallel_tool_calls:
                    outcomes = await asyncio.gather(*(self._execute(c) for c in step.calls))
                else:
                    outcomes = [await self._execute(c) for c in step.calls]
        except TimeoutError:
            self._check_time()
            raise
        for c, outcome in zip(step.calls, outcomes, strict=True):
            record = ToolCallRecord(
                c.id, c.name, outcome.arguments, outcome.result, outcome.status, outcome.duration_ms
            )
            self.result.tool_calls.append(record)
            # Guardrails: tool output and retrieved text are screened before the model reads them.
            content = self.guard.screen_tool(c.name, outcome.result) if self.guard is not None else outcome.content()
            message = {"role": "tool", "tool_call_id": c.id, "content": content}
            self.messages.append(message)
            self.result.transcript.append(message)
            if self.recorder is not None:
                await self.recorder(record)
            yield ToolResultEvent(id=c.id, name=c.name, result=outcome.result)

    async def _execute(self, call: ToolCall) -> ToolOutcome:
        """One call: only a tool this agent grants runs; side-effecting ones wait for the user."""
        if self.guard is not None:  # the customer's values back in place of their placeholders
            call = replace(call, arguments=self.guard.tool_arguments(call.arguments))
        t = self.tools.get(call.name)
        if t is None:
            known = ", ".join(self.tools.names()) or "none"
            return ToolOutcome("error", error_result(f"unknown tool {call.name!r}; available tools: {known}",
                                                     "unknown_tool"), call.arguments)
        if not t.requires_confirmation:
            return await invoke(t, self.ctx, call.arguments, timeout=self.tool_timeout)
        started = time.perf_counter()
        if self.confirmations is None:
            return ToolOutcome("error", error_result(
                "this action needs the user's confirmation, which is not available here",
                "confirmation_unavailable"), call.arguments)
        try:
            return await self.confirmations.request(t, self.ctx, parse_arguments(call.arguments))
        except ToolError as exc:
            duration = int((time.perf_counter() - started) * 1000)
            return ToolOutcome("error", error_result(exc.message, exc.code), call.arguments, duration)


def run_agent(
    provider: Provider,
    messages: list[Message],
    ctx: ToolContext,
    tools: ToolRegistry | None = None,
    *,
    options: GenerationOptions = GenerationOptions(),
    step_limit: int = DEFAULT_STEP_LIMIT,
    token_budget: int | None = None,
    time_budget: float | None = None,
    tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT,
    parallel_tool_calls: bool = True,
    recorder: ToolRecorder | None = None,
    confirmations: ConfirmationGate | None = None,
    guard: TurnGuard | None = None,
    stop_after_tools: bool = False,
    client_tools: list[ToolSpec] | None = None,
    tool_choice: ToolChoice = None,
) -> AgentRun:
    """Run the agent loop on `messages` (the built context, system prompt first).

    Iterate the returned run: `DeltaEvent`, `ToolCallEvent`, `ToolResultEvent` as they happen,
    then one `AgentResult` last. Raises `StepLimitExceeded`, `TokenBudgetExceeded` or
    `TimeBudgetExceeded` (each with `.result`), or the provider's `UpstreamError`. Tools run
    with `ctx`; `recorder` is awaited with each `ToolCallRecord`; side-effecting tools need
    `confirmations` (without it they are refused); `stop_after_tools` ends the run after the
    first step that ran tools (its result has `finish_reason` "tool_calls" and no text).
    `client_tools` are offered beside the agent's; a call to one ends the run (`client_calls`).
    `tool_choice` forces a call: "required" on every step, {"type": "function", "function":
    {"name": …}} on the first (a provider without native tools gets a grammar of only commands).
    """
    return AgentRun(
        provider, messages, ctx, tools,
        options=options, step_limit=step_limit, token_budget=token_budget,
        time_budget=time_budget, tool_timeout=tool_timeout,
        parallel_tool_calls=parallel_tool_calls, recorder=recorder, confirmations=confirmations, guard=guard,
        stop_after_tools=stop_after_tools,
        client_tools=client_tools, tool_choice=tool_choice,
    )
