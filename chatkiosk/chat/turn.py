"""One chat turn, from the user's message to the stored answer.

The order of things is the contract: limits first; the user message is committed before the
model is called; the assistant message is created `streaming` and finished in one transaction
as `complete`, `incomplete` (upstream failed mid-way), `cancelled` (cancel or client gone) or
`error`. Events go to a `Generation` that any number of subscribers can follow.

An ephemeral turn (no conversation: the OpenAI-compatible API without a binding) runs the
same way on the messages the client sent, under the same limits and metrics, but stores
nothing: no messages, no tool-call records, and no confirmations can be asked for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from chatkiosk.agents.base import Agent
from chatkiosk.agents.context import build_context
from chatkiosk.agents.hooks import final_events, fit_context, prepare_context
from chatkiosk.agents.loop import AgentLimitExceeded, AgentResult, run_agent
from chatkiosk.agents.summary import schedule_summary
from chatkiosk.agents.registry import AgentRegistry
from chatkiosk.agents.tools import ToolCallRecord, ToolContext
from chatkiosk.api.schemas import MessagePublic
from chatkiosk.chat.generations import Generation, Generations
from chatkiosk.chat.options import TurnOptions
from chatkiosk.chat.relay import CancelRelay
from chatkiosk.config import Settings
from chatkiosk.errors import ChatkioskError, NotFound, UpstreamError, UserError, ValidationFailed
from chatkiosk.events import DeltaEvent, DoneEvent, ErrorEvent, MessageEvent, ToolCallEvent, ToolResultEvent
from chatkiosk.guard.limits import ChatLimits
from chatkiosk.guard.pipeline import Guards, TurnGuard
from chatkiosk.llm.base import Message as ChatMessage
from chatkiosk.llm.base import Provider, Usage
from chatkiosk.metrics import Metrics
from chatkiosk.store import conversations, guardrail_events, messages
from chatkiosk.store.db import Database
from chatkiosk.store.ids import new_id
from chatkiosk.store.tables import Message, utcnow

log = logging.getLogger("chatkiosk.chat")


@dataclass(slots=True)
class TurnRequest:
    """One turn: the user's text in a stored conversation, or (`conversation_id=None`) an
    ephemeral turn of `agent` whose earlier messages are `history`, as the client sent them.
    On a stored turn, `agent` (when given) must be the conversation's agent."""

    user_id: str
    conversation_id: str | None
    content: str
    options: TurnOptions = field(default_factory=TurnOptions)
    request_id: str | None = None
    agent: str | None = None
    history: list[ChatMessage] | None = None

    @property
    def stored(self) -> bool:
        return self.conversation_id is not None


@dataclass(slots=True)
class _Progress:
    text: str = ""
    usage: Usage = field(default_factory=Usage)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    first_token_at: float | None = None
    path: str = "llm"
    truncated: bool = False
    prompt_estimate: int = 0  # tokens of the context sent, for when the upstream reports none
    estimated: bool = False
    stored: str | None = None  # the text the store keeps, when it differs from what was shown (guardrails)


def usage_dict(usage: Usage, *, truncated: bool = False, path: str = "llm", estimated: bool = False) -> dict[str, Any]:
    body = {
        "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens, "context_truncated": truncated, "llm": path == "llm",
    }
    if estimated:
        body["estimated"] = True
    return body


class ChatService:
    """Runs turns: validates, stores, calls the agent, publishes events."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        agents: AgentRegistry,
        providers: dict[str, Provider],
        default_route: Provider | None,
        limits: ChatLimits,
        metrics: Metrics,
        services: Any,
    ) -> None:
        self.settings = settings
        self.db = db
        self.agents = agents
        self.providers = providers
        self.default_route = default_route
        self.limits = limits
        self.metrics = metrics
        self.services = services
        self.generations = Generations()
        self.relay: CancelRelay | None = None  # set by the runtime when Redis is configured
        self.guards = Guards(settings.guardrails)

    # --- starting a turn

    def provider_for(self, agent: Agent, options: TurnOptions, content: str | None = None) -> Provider:
        """The agent's provider (per intent where the agent routes), or the upstream model the client asked for where allowed."""
        if options.model is not None:
            if not agent.allow_model_override:
                raise ValidationFailed(f"agent {agent.name!r} does not allow choosing the model", code="model_not_allowed", param="options.model")
        routed = agent.provider_for_text(content) if content is not None else None
        if routed is not None:
            return routed
        provider = self.providers.get(agent.provider) if agent.provider else self.default_route
        if provider is None:
            raise ChatkioskError("no LLM provider is configured", code="no_provider")
        return provider

    async def start(self, request: TurnRequest) -> Generation:
        """Check limits, store the user message, and start generating. 404/409/422/429 here."""
        content = request.content
        if not content.strip():
            raise ValidationFailed("content must not be empty", param="content")
        if len(content) > self.settings.max_message_chars:
            raise ValidationFailed(f"content is longer than {self.settings.max_message_chars} characters", param="content")
        max_tokens = request.options.max_tokens or self.settings.default_max_tokens
        if max_tokens > self.settings.max_tokens_limit:
            raise ValidationFailed(f"max_tokens is at most {self.settings.max_tokens_limit}", param="options.max_tokens")
        conv, rows = None, []
        if request.stored:
            async with self.db.read() as session:
                conv = await conversations.get(session, request.conversation_id, request.user_id)
                if conv is not None:
                    # The context window in the same transaction: one bounded index walk, the
                    # window plus one row to learn whether history was cut.
                    window = self.agents.get(conv.agent).context.history_window()
                    rows = await messages.recent(session, conv.id, limit=window + 1)
            if conv is None:
                raise NotFound("no such conversation")
            if request.agent is not None and request.agent != conv.agent:
                raise ValidationFailed(
                    f"this conversation is with the agent {conv.agent!r}, not {request.agent!r}", code="agent_mismatch", param="model"
                )
        agent = self.agents.get(conv.agent if conv is not None else request.agent or "")
        if conv is None and agent.needs_conversation:
            raise UserError(
                f"the {agent.name} agent keeps its state in a conversation: create one and bind the call to it "
                "(metadata.conversation_id or the X-Conversation-Id header)",
                code="conversation_required", param="metadata.conversation_id",
            )
        guard = self.guards.turn(agent.name)  # guardrails: the input is screened before anything sees it
        request.content = content = guard.screen_input(content)
        provider = self.provider_for(agent, request.options, content)
        generation = self.generations.start(conv.id, request.user_id) if conv is not None else Generation("", request.user_id)
        try:
            await self.limits.admit(request.user_id, max_tokens)
        except BaseException:
            self._ended(generation)
            raise
        try:
            if conv is not None:
                user_msg = messages.build(
                    conversation_id=conv.id, user_id=request.user_id, role="user", content=content, guardrail=guard.guardrail("input"),
                )
                assistant = messages.build(
                    conversation_id=conv.id, user_id=request.user_id, role="assistant", content="", status="streaming"
                )
                async with self.db.write() as session:
                    session.add_all([user_msg, assistant])  # one INSERT of both rows, flushed by the touch
                    await conversations.touch(session, conv.id)
            else:
                user_msg = _unstored(request.user_id, "user", content, "complete")
                user_msg.guardrail = guard.guardrail("input")
                assistant = _unstored(request.user_id, "assistant", "", "streaming")
        except BaseException:
            await self.limits.release(request.user_id, max_tokens, 0)
            self._ended(generation)
            raise
        generation.message_id = assistant.id
        generation.publish(MessageEvent(MessagePublic.of(user_msg).model_dump(mode="json")))
        self.metrics.active_streams.inc()
        generation.task = asyncio.create_task(
            self._run(generation, request, agent, provider, conv, rows, assistant, max_tokens, guard)
        )
        return generation

    # --- running it

    async def _run(
        self, generation: Generation, request: TurnRequest, agent: Agent, provider: Provider,
        conv: Any, rows: list[Message], assistant: Message, reserved: int, guard: TurnGuard,
    ) -> None:
        progress = _Progress()
        started = time.perf_counter()
        status, error = "complete", None
        ctx = ToolContext(
            user_id=request.user_id, conversation_id=conv.id if conv is not None else None, agent=agent.name,
            services=self.services, state=dict(conv.state or {}) if conv is not None else {}, request_id=request.request_id,
        )
        try:
            try:
                intercepted = None
                if guard.blocked is not None:  # guardrails: refused without calling the model
                    progress.path, progress.text = "guard", guard.refusal()
                    generation.publish(DeltaEvent(progress.text))
                else:
                    intercepted = await agent.try_intercept(ctx, request.content)
                if intercepted is not None:
                    progress.path = "rules"
                    for record in intercepted.tool_calls:
                        await self._record_tool(ctx, assistant.id, record, progress)
                        generation.publish(ToolCallEvent(record.id, record.name, record.arguments))
                        generation.publish(ToolResultEvent(record.id, record.name, record.result))
                    progress.stored, progress.text = intercepted.reply, guard.vault.unmask(intercepted.reply)
                    generation.publish(DeltaEvent(progress.text))
                elif guard.blocked is None:
                    await self._generate(generation, request, agent, provider, conv, rows, ctx, progress, started, guard)
            except asyncio.CancelledError:
                status = "cancelled"
            except AgentLimitExceeded as exc:
                self._absorb(progress, exc.result)
                status, error = "error", exc
            except UpstreamError as exc:
                self.metrics.upstream_errors.labels(getattr(provider, "name", "?"), exc.code).inc()
                status, error = ("incomplete" if progress.text else "error"), exc
            except ChatkioskError as exc:
                status, error = "error", exc
            except Exception:  # a bug must still close the message; the log has the trace
                log.exception("chat turn failed")
                status, error = "error", ChatkioskError("the answer could not be generated")
            if guard.blocked is not None and status != "cancelled":
                status, error = "blocked", None
            await self._finish(generation, request, agent, provider, assistant, progress, status, error, reserved, started, guard)
        finally:
            self._ended(generation)

    def _ended(self, generation: Generation) -> None:
        if generation.conversation_id:
            self.generations.ended(generation)
        else:  # ephemeral: never registered, nothing to re-join
            generation.finish()

    def _absorb(self, progress: _Progress, result: AgentResult) -> None:
        progress.usage = result.usage
        if result.text and not progress.text:
            progress.text = result.text

    async def _generate(
        self, generation: Generation, request: TurnRequest, agent: Agent, provider: Provider,
        conv: Any, rows: list[Message], ctx: ToolContext, progress: _Progress, started: float, guard: TurnGuard,
    ) -> None:
        """Run the agent loop on the context window (`rows`: the stored history, read at start)."""
        policy = fit_context(agent, provider, request.options.max_tokens or self.settings.default_max_tokens)  # llmpath
        if conv is None:
            history, over, summary = guard.screen_history(list(request.history or []), stored=False), False, None
        else:
            over = len(rows) > policy.history_window()
            history = [
                {"role": m.role, "content": m.content}
                for m in rows[-policy.history_window():]
                if m.role in ("user", "assistant") and m.content and m.status != "streaming"
            ]
            summary = conv.summary
            guard.screen_history(history, stored=True)
        context, truncated = build_context(
            policy, agent.system_prompt, history, [{"role": "user", "content": request.content}],
            provider.count_tokens, summary=summary,
        )
        context = await prepare_context(agent, ctx, context)  # llmpath: the agent's note (the kiosk's order)
        progress.truncated = truncated or over
        progress.prompt_estimate = sum(provider.count_tokens(str(m.get("content") or "")) for m in context)
        options = request.options.to_generation(self.settings.default_max_tokens)
        run = run_agent(
            provider, context, ctx, agent.tools, options=options, step_limit=agent.step_limit,
            token_budget=self.settings.turn_token_budget, time_budget=self.settings.turn_timeout,
            recorder=lambda record: self._record_tool(ctx, generation.message_id, record, progress),
            # A confirmation is confirmed in its conversation: an ephemeral turn cannot ask for one.
            confirmations=getattr(self.services, "confirmations", None) if conv is not None else None,
            guard=guard,
            stop_after_tools=agent.stop_after_tools,  # llmpath
        )
        answer = guard.answer()  # guardrails: the answer is filtered on its way to the user and the store
        final: str | None = None
        try:
            async for event in final_events(agent, ctx, run):  # llmpath: the kiosk's honest answer
                if isinstance(event, DeltaEvent):
                    if progress.first_token_at is None:
                        progress.first_token_at = time.perf_counter()
                        self.metrics.ttft.labels(agent.name).observe(progress.first_token_at - started)
                    visible = answer.feed(event.text)
                    if visible:
                        progress.text += visible
                        generation.publish(DeltaEvent(visible))
                    if answer.blocked is not None:
                        break
                elif isinstance(event, (ToolCallEvent, ToolResultEvent)):
                    generation.publish(event)
                elif isinstance(event, AgentResult):
                    self._absorb(progress, event)
                    final = event.text or None
            tail = answer.finish()
            if tail:
                progress.text += tail
                generation.publish(DeltaEvent(tail))
            if final is not None and answer.blocked is None:
                answer.replace(final)
            if answer.blocked is not None and not progress.text:
                generation.publish(DeltaEvent(answer.text))
            progress.text, progress.stored = answer.text, answer.stored_text
        finally:
            if progress.stored is None:  # failed mid-way: what was shown, in its stored form
                progress.stored = "".join(answer.stored)
            # Whatever happened, keep the usage the run had counted (an upstream failure too).
            progress.usage = run.result.usage
            await run.aclose()
            if progress.truncated and policy.summary:  # llmpath: fold the cut history into the summary
                schedule_summary(self.db, provider, conv, rows, context)

    async def _record_tool(self, ctx: ToolContext, message_id: str | None, record: ToolCallRecord, progress: _Progress) -> None:
        progress.tool_calls.append(record.as_dict())
        self.metrics.tool_calls.labels(ctx.agent, record.name, record.status).inc()
        if ctx.conversation_id is None:
            return  # ephemeral: the record lives only in the answer
        arguments = record.arguments if isinstance(record.arguments, dict) else {"raw": record.arguments}
        async with self.db.write() as session:
            await messages.add_tool_call(
                session, call_id=record.id, message_id=message_id, conversation_id=ctx.conversation_id,
                user_id=ctx.user_id, name=record.name, arguments=arguments, result=record.result,
                status=record.status, duration_ms=record.duration_ms,
            )

    async def _finish(
        self, generation: Generation, request: TurnRequest, agent: Agent, provider: Provider, assistant: Message,
        progress: _Progress, status: str, error: ChatkioskError | None, reserved: int, started: float, guard: TurnGuard,
    ) -> None:
        if progress.path == "llm" and progress.usage.total_tokens == 0 and (progress.text or status != "complete"):
            # The upstream failed before reporting usage: count what was sent and received.
            completion = provider.count_tokens(progress.text) if progress.text else 0
            progress.usage = Usage(progress.prompt_estimate, completion)
            progress.estimated = True
        usage = usage_dict(progress.usage, truncated=progress.truncated, path=progress.path, estimated=progress.estimated)
        error_body = error.body()["error"] if error is not None else None
        guardrail = guard.guardrail("tool", "output", "blocked")
        events = guardrail_events.build(
            guard.hits, user_id=request.user_id, agent=agent.name, conversation_id=request.conversation_id, message_id=assistant.id,
        )
        for hit in guard.hits:
            self.metrics.guardrail_hits.labels(hit.check, hit.action).inc()
        # Shielded: a cancelled turn must still be stored as cancelled.
        if request.stored or events:
            await asyncio.shield(self._store_final(assistant.id if request.stored else None, status, progress, usage, error_body, guardrail, events))
        assistant.status, assistant.content, assistant.usage = status, progress.text, usage
        assistant.guardrail = guardrail
        assistant.tool_calls, assistant.error = (progress.tool_calls or None), error_body
        public = MessagePublic.of(assistant).model_dump(mode="json")
        if error is not None:
            generation.error = error
            generation.publish(ErrorEvent(error_body))
        generation.publish(DoneEvent(public, usage))
        provider_name = getattr(provider, "name", "?")
        self.metrics.tokens.labels("in", provider_name).inc(progress.usage.prompt_tokens)
        self.metrics.tokens.labels("out", provider_name).inc(progress.usage.completion_tokens)
        self.metrics.turns.labels(agent.name, progress.path, status).inc()
        self.metrics.active_streams.dec()
        await asyncio.shield(self.limits.release(request.user_id, reserved, progress.usage.total_tokens))

    async def _store_final(
        self, message_id: str | None, status: str, progress: _Progress, usage: dict, error: dict | None,
        guardrail: dict | None, events: list,
    ) -> None:
        async with self.db.write() as session:
            if message_id is not None:
                await messages.finish(
                    session, message_id, status=status, content=progress.text if progress.stored is None else progress.stored,
                    usage=usage, tool_calls=progress.tool_calls or None, error=error, guardrail=guardrail,
                )
            session.add_all(events)  # guardrail events of the turn, in the same transaction

    async def cancel(self, conversation_id: str, user_id: str) -> bool:
        """Stop the answer in flight in the user's conversation (NotFound when it is not theirs).

        Here when this worker runs it; otherwise relayed to the other workers (True: asked).
        """
        async with self.db.read() as session:
            if await conversations.get(session, conversation_id, user_id) is None:
                raise NotFound("no such conversation")
        if self.generations.cancel(conversation_id, user_id):
            return True
        if self.relay is not None:
            await self.relay.publish(conversation_id)
            return True
        return False

    async def close(self) -> None:
        if self.relay is not None:
            await self.relay.close()
        await self.generations.close()


def _unstored(user_id: str, role: str, content: str, status: str) -> Message:
    """A message of an ephemeral turn: shaped like a stored one, never added to a session."""
    now = utcnow()
    return Message(
        id=new_id("msg"), conversation_id="", user_id=user_id, role=role, content=content, status=status,
        usage=None, tool_calls=None, tool_call_id=None, error=None, guardrail=None, created_at=now, updated_at=now,
    )
