"""One chat turn, from the user's message to the stored answer: the one engine.

The order of things is the contract: limits first; the user message is committed before the
model is called; the assistant message is created `streaming`, its text saved every few
seconds while it streams, and finished in one write as `complete`, `incomplete` (upstream
failed mid-way), `cancelled` (cancel or client gone) or `error`. Events go to a `Generation`:
the requester's frames are relayed in the generating task, and anyone may follow its log.

Three kinds of turn run the same way, under one lifecycle (chat/lifecycle.py: admission,
accounting, metrics, release):
- a stored turn: the user's text in a conversation, answered by its agent;
- an ephemeral turn (no conversation: the OpenAI-compatible API without a binding): the same
  on the messages the client sent, storing nothing (no messages, no tool-call records, and no
  confirmations can be asked for);
- a passthrough turn (chat/passthrough.py): no server tools, the upstream's own pieces as
  events, nothing stored.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from chatkiosk.agents.base import Agent
from chatkiosk.agents.confirm import ConfirmationGate
from chatkiosk.agents.context import build_context
from chatkiosk.agents.deps import ToolDeps
from chatkiosk.agents.hooks import client_tools_that_fit, final_events, first_tool_choice, fit_context, prepare_context
from chatkiosk.agents.loop import AgentLimitExceeded, AgentResult, run_agent
from chatkiosk.agents.summary import schedule_summary
from chatkiosk.agents.registry import AgentRegistry
from chatkiosk.agents.tools import ToolCallRecord, ToolContext, ToolRegistry
from chatkiosk.chat import client_calls
from chatkiosk.chat.client_calls import Exchange, open_exchange
from chatkiosk.chat.generations import Generation, Generations
from chatkiosk.chat.lifecycle import Ledger, Lifecycle
from chatkiosk.chat.options import TurnOptions
from chatkiosk.chat.partial import PartialSaver
from chatkiosk.chat.photos import ChatPhoto, history_text, read_photos, show_photos
from chatkiosk.chat.passthrough import AGENT_LABEL, Relayed, UpstreamCall, relay_upstream
from chatkiosk.chat.relay import CancelRelay
from chatkiosk.config import Settings
from chatkiosk.errors import ChatkioskError, NotFound, UpstreamError, UserError, ValidationFailed
from chatkiosk.guard.pipeline import AnswerFilter, Guards, TurnGuard
from chatkiosk.events import (
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    MessageEvent,
    PieceEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from chatkiosk.llm.base import Message as ChatMessage
from chatkiosk.llm.base import Provider, StreamPiece, ToolCallDelta, ToolSpec, UsageReport
from chatkiosk.store import conversations, guardrail_events, messages
from chatkiosk.store.db import Database
from chatkiosk.store.turn_rows import HistoryRow, MessageDraft, TurnConversation, TurnRows, draft

log = logging.getLogger("chatkiosk.chat")


@dataclass(slots=True)
class TurnRequest:
    """One turn: the user's text in a stored conversation, or (`conversation_id=None`) an
    ephemeral turn of `agent` whose earlier messages are `history`, as the client sent them,
    or (`upstream`) a passthrough call. On a stored turn, `agent` (when given) must be the
    conversation's agent."""

    user_id: str
    conversation_id: str | None
    content: str
    options: TurnOptions = field(default_factory=TurnOptions)
    request_id: str | None = None
    agent: str | None = None
    history: list[ChatMessage] | None = None
    upstream: UpstreamCall | None = None
    # A client's background task (a title, tags): ephemeral, answered by the agent's model with
    # no tools and no rules, so it can never act in, or be stored as, a conversation.
    background: bool = False
    # The client's own tools (agent turns of the OpenAI API), offered beside the agent's;
    # `continued` is the client's tool traffic after its last user message (on a stored turn:
    # its results answer the agent's stored calls, see chat/client_calls.py); `tool_choice`
    # forces a call ("required", {"type": "function", ...}) or offers no tool at all ("none").
    client_tools: list[ToolSpec] | None = None
    continued: list[ChatMessage] | None = None
    tool_choice: str | dict[str, Any] | None = None
    # Photos sent with the message, as data: URLs (chat/photos.py), for an agent that takes them.
    images: list[str] | None = None

    @property
    def stored(self) -> bool:
        return self.conversation_id is not None


@dataclass(slots=True)
class ChatDeps:
    """What the engine runs on, built by the runtime."""

    settings: Settings
    db: Database
    agents: AgentRegistry
    providers: dict[str, Provider]
    default_route: Provider | None
    lifecycle: Lifecycle
    tools: ToolDeps
    confirmations: ConfirmationGate


@dataclass(slots=True)
class _Turn:
    """One turn being run: what it was asked, what it runs on, what it has said so far."""

    request: TurnRequest
    generation: Generation
    ledger: Ledger
    reserved: int
    provider: Provider
    agent: Agent | None = None  # None: passthrough
    conv: TurnConversation | None = None
    rows: list[HistoryRow] = field(default_factory=list)  # the stored history, read at start
    assistant: MessageDraft | None = None
    ctx: ToolContext | None = None
    parts: list[str] = field(default_factory=list)  # the answer's text as it streamed
    replaced: str | None = None  # the whole text, when a step's result replaced the streamed parts
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish: str = "stop"
    saver: PartialSaver | None = None
    guard: TurnGuard | None = None  # guardrails of this turn (None: passthrough)
    answer: AnswerFilter | None = None  # the answer's filter, while the model answers
    stored: str | None = None  # the text the store keeps, when it differs from what was shown
    exchange: Exchange | None = None  # a stored turn the client's tool results continue
    results: list[ChatMessage] = field(default_factory=list)  # those results, to store and show the model
    photos: list[ChatPhoto] = field(default_factory=list)  # sent with the message, cleaned

    @property
    def text(self) -> str:
        return self.replaced if self.replaced is not None else "".join(self.parts)


class ChatService:
    """Runs turns: validates, admits, stores, calls the agent or the upstream, publishes events."""

    def __init__(self, deps: ChatDeps, generations: Generations, relay: CancelRelay | None = None) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.generations = generations
        self.relay = relay
        self.guards = Guards(deps.settings.guardrails)
        self.rows = TurnRows(deps.db)

    # --- starting a turn

    def provider_for(self, agent: Agent, options: TurnOptions, content: str | None = None) -> Provider:
        """The agent's provider (per intent where the agent routes), or the upstream model the
        client asked for where allowed."""
        if options.model is not None and not agent.allow_model_override:
            raise ValidationFailed(f"agent {agent.name!r} does not allow choosing the model", code="model_not_allowed", param="options.model")
        routed = agent.provider_for_text(content) if content is not None else None
        if routed is not None:
            return routed
        provider = self.deps.providers.get(agent.provider) if agent.provider else self.deps.default_route
        if provider is None:
            raise ChatkioskError("no LLM provider is configured", code="no_provider")
        return provider

    async def start(self, request: TurnRequest) -> Generation:
        """Check, admit, store the user message, and start generating. 404/409/422/429 here."""
        turn = await (self._passthrough(request) if request.upstream is not None else self._prepare(request))
        turn.generation.task = asyncio.create_task(self._drive(turn))
        try:
            await turn.generation.wait_started()
        except asyncio.CancelledError:
            turn.generation.cancel()
            raise
        return turn.generation

    async def _prepare(self, request: TurnRequest) -> _Turn:
        content = request.content
        if not content.strip() and not request.images:
            raise ValidationFailed("content must not be empty", param="content")
        if len(content) > self.settings.max_message_chars:
            raise ValidationFailed(f"content is longer than {self.settings.max_message_chars} characters", param="content")
        reserved = self.deps.lifecycle.reservation(request.options.max_tokens)
        conv, rows = None, []
        if request.conversation_id is not None:
            # The conversation and its context window in one read: one bounded index walk, the
            # window plus one row to learn whether history was cut.
            conv, rows = await self.rows.load(request.conversation_id, request.user_id, self._window)
            if conv is None:
                raise NotFound("no such conversation")
            if request.agent is not None and request.agent != conv.agent:
                raise ValidationFailed(
                    f"this conversation is with the agent {conv.agent!r}, not {request.agent!r}", code="agent_mismatch", param="model"
                )
        agent = self.deps.agents.get(conv.agent if conv is not None else request.agent or "")
        if conv is None and agent.needs_conversation and not request.background:
            raise UserError(
                f"the {agent.name} agent keeps its state in a conversation: create one and bind the call to it "
                "(metadata.conversation_id or the X-Conversation-Id header)",
                code="conversation_required", param="metadata.conversation_id",
            )
        provider = self.provider_for(agent, request.options, content)
        if request.options.response_format is not None and not getattr(provider, "supports_response_format", False):
            raise ValidationFailed(
                f"the model behind {agent.name!r} cannot be held to a response_format; send the request without it",
                code="response_format_not_supported", param="response_format",
            )
        photos = await read_photos(request.images, self.settings, agent.takes_photos)  # 4xx for a bad one
        # A small local window answers without a client's tools that would crowd it out (400 if the client insists).
        request.client_tools = client_tools_that_fit(
            agent, provider, request.options.max_tokens or self.settings.default_max_tokens, request.client_tools, request.tool_choice,
        )
        ledger = Ledger(agent.name, provider.name, provider.count_tokens)
        guard = self.guards.turn(agent.name)  # guardrails: the input is screened before anything sees it
        exchange, results = None, []
        if conv is not None and request.continued is not None:  # the client's results for the agent's stored calls
            exchange, results, rows = await self._continuation(conv.id, conv.agent, request, guard)
        else:  # a continuation's user message was screened when it was stored
            request.content = guard.screen_input(request.content)
        # Last, so nothing can fail between taking the conversation (on every worker) and driving the turn.
        # The previous answer's final write, if it is still landing, is waited for.
        generation = await self.generations.start(conv.id, request.user_id) if conv is not None else Generation("", request.user_id)
        if generation.waited and exchange is None and conv is not None:  # the history read above missed that answer
            conv, rows = await self._reread(conv, generation, request.user_id)
        return _Turn(request, generation, ledger, reserved, provider, agent, conv, rows, guard=guard, exchange=exchange, results=results,
                     photos=photos)

    async def _reread(self, conv: Any, generation: Generation, user_id: str) -> tuple[Any, list[Any]]:
        """The context window again, once the previous answer's final write landed; the
        conversation is given back (claim released) if the read fails."""
        try:
            fresh, rows = await self.rows.load(conv.id, user_id, self._window)
        except BaseException:
            self.generations.ended(generation)
            raise
        if fresh is None:  # deleted meanwhile
            self.generations.ended(generation)
            raise NotFound("no such conversation")
        return fresh, rows

    async def _continuation(
        self, conversation_id: str, agent: str, request: TurnRequest, guard: TurnGuard,
    ) -> tuple[Exchange, list[ChatMessage], list[Any]]:
        """The stored turn whose calls to the client's tools the request's results answer (400 when
        none waits, or they answer another call), read with its calls once that answer is stored."""
        await self.generations.settle(conversation_id)  # the answer that made the calls may still be landing
        async with self.deps.db.read() as session:
            rows = await messages.recent(session, conversation_id, limit=self._window(agent))
        exchange = open_exchange(rows)
        if exchange is None:
            raise ValidationFailed("no call to the client's tools waits for a result in this conversation",
                                   code="no_pending_tool_call", param="messages")
        results = exchange.answers(request.continued or [])
        guard.screen_history([{"content": m.content} for m in rows], stored=True)  # stored placeholders first
        return exchange, guard.screen_history(results, stored=False), rows

    async def _passthrough(self, request: TurnRequest) -> _Turn:
        assert request.upstream is not None
        # `n` answers cost up to n times max_tokens: the quota reserves all of them.
        reserved = self.deps.lifecycle.reservation(request.options.max_tokens) * request.upstream.choices
        target = request.upstream.target
        ledger = Ledger(AGENT_LABEL, target.provider_name, target.provider.count_tokens)
        return _Turn(request, Generation("", request.user_id), ledger, reserved, target.provider)

    def _window(self, agent: str) -> int:
        """How many stored messages a turn of `agent` reads: its window, and one more to tell whether history was cut."""
        return self.deps.agents.get(agent).context.history_window() + 1

    # --- running it

    async def _drive(self, turn: _Turn) -> None:
        generation, lifecycle = turn.generation, self.deps.lifecycle
        try:
            async with lifecycle.admitted(turn.request.user_id, turn.reserved, turn.ledger):
                await self._open(turn)
                lifecycle.on(turn.ledger)
                generation.started()
                error = await self._answer(turn)
                await self._close(turn, error)
        except BaseException as exc:  # refused before it started: `start` raises it
            generation.started(exc)
            if not isinstance(exc, (ChatkioskError, asyncio.CancelledError)):
                log.exception("chat turn failed")
        finally:
            self.generations.ended(generation)

    async def _open(self, turn: _Turn) -> None:
        """Store the user message and the `streaming` assistant message (one transaction)."""
        request, conv = turn.request, turn.conv
        if conv is not None:
            if turn.exchange is not None:  # the client's tool results, instead of a new user message
                said = [draft(conversation_id=conv.id, user_id=request.user_id, role="tool", content=m["content"],
                              tool_call_id=m["tool_call_id"]) for m in turn.results]
            else:
                said = [draft(
                    conversation_id=conv.id, user_id=request.user_id, role="user", content=request.content,
                    guardrail=turn.guard.guardrail("input") if turn.guard is not None else None,
                    attachments=[p.ref() for p in turn.photos] or None,  # a reference: the bytes are the photos' rows
                )]
            assistant = draft(conversation_id=conv.id, user_id=request.user_id, role="assistant", content="", status="streaming")
            photo_rows = [p.row(user_id=request.user_id, conversation_id=conv.id, message_id=said[0].id) for p in turn.photos]
            await self.rows.open(*said, assistant, photos=photo_rows)  # one transaction: the rows, the conversation touched
            turn.saver = PartialSaver(self.rows, assistant.id)
        else:
            # An ephemeral turn's messages: shaped like stored ones, never written.
            said = [draft(conversation_id="", user_id=request.user_id, role="user", content=request.content,
                          guardrail=turn.guard.guardrail("input") if turn.guard is not None else None)]
            assistant = draft(conversation_id="", user_id=request.user_id, role="assistant", content="", status="streaming")
        turn.assistant = assistant
        turn.generation.message_id = assistant.id
        if turn.agent is not None:
            turn.ctx = ToolContext(
                user_id=request.user_id, conversation_id=conv.id if conv is not None else None, agent=turn.agent.name,
                deps=self.deps.tools, state=dict(conv.state or {}) if conv is not None else {}, request_id=request.request_id,
                photos=turn.photos,
            )
            for message in said:
                await turn.generation.publish(MessageEvent(message))

    async def _answer(self, turn: _Turn) -> ChatkioskError | None:
        """Run the turn to its end; its status goes to the ledger, its failure is returned."""
        ledger = turn.ledger
        try:
            if turn.request.upstream is not None:
                await self._relay(turn)
            elif turn.guard is not None and turn.guard.blocked is not None:
                await self._refuse(turn)  # guardrails: refused without calling the model
            elif turn.request.background or turn.exchange is not None or not await self._intercepted(turn):
                await self._generate(turn)
            if turn.guard is not None and turn.guard.blocked is not None:
                ledger.status, turn.finish = "blocked", "content_filter"
        except asyncio.CancelledError:
            ledger.status = "cancelled"
        except AgentLimitExceeded as exc:
            self._absorb(turn, exc.result)
            ledger.status = "error"
            return exc
        except UpstreamError as exc:
            self.deps.lifecycle.upstream_failed(ledger, exc)
            ledger.status = "incomplete" if turn.text else "error"
            return exc
        except ChatkioskError as exc:
            ledger.status = "error"
            return exc
        except Exception:  # a bug must still close the message; the log has the trace
            log.exception("chat turn failed")
            ledger.status = "error"
            return ChatkioskError("the answer could not be generated")
        return None

    async def _refuse(self, turn: _Turn) -> None:
        """A turn a guardrail blocked: the polite refusal, in the customer's language."""
        assert turn.guard is not None
        turn.ledger.path = "guard"
        turn.parts.append(turn.guard.refusal())
        await turn.generation.publish(DeltaEvent(turn.parts[-1]))

    async def _intercepted(self, turn: _Turn) -> bool:
        """The agent's own answer without the LLM (the kiosk's parser), when it has one."""
        assert turn.agent is not None and turn.ctx is not None
        intercepted = await turn.agent.try_intercept(turn.ctx, turn.request.content)
        if intercepted is None:
            return False
        turn.ledger.path = "rules"
        for record in intercepted.tool_calls:
            await self._record_tool(turn, record)
            await turn.generation.publish(ToolCallEvent(record.id, record.name, record.arguments))
            await turn.generation.publish(ToolResultEvent(record.id, record.name, record.result))
        # The reply may quote the customer's masked words: their values back for them, not the store.
        turn.stored = intercepted.reply
        turn.parts.append(turn.guard.vault.unmask(intercepted.reply) if turn.guard is not None else intercepted.reply)
        await turn.generation.publish(DeltaEvent(turn.parts[-1]))
        return True

    def _absorb(self, turn: _Turn, result: AgentResult) -> None:
        turn.ledger.report(result.usage)
        if result.text and not turn.text:
            turn.replaced = result.text
            if turn.guard is not None:  # guardrails: never an unscreened answer
                answer = turn.guard.answer()
                turn.replaced, turn.stored = answer.replace(result.text), answer.stored_text

    async def _generate(self, turn: _Turn) -> None:
        """Run the agent loop on the context window (the stored history read at start)."""
        agent, conv, request, provider = turn.agent, turn.conv, turn.request, turn.provider
        assert agent is not None and turn.ctx is not None
        tools, client_tools = _offered(agent, request)
        policy = fit_context(agent, provider, request.options.max_tokens or self.settings.default_max_tokens, client_tools)  # llmpath
        exchange = turn.exchange
        if conv is None:
            history, over, summary = list(request.history or []), False, None
            tail = list(request.continued or [])
            if turn.guard is not None:  # guardrails: a client's history is masked like its message
                history = turn.guard.screen_history(history, stored=False)
                tail = turn.guard.screen_history(tail, stored=False)
        else:
            over = len(turn.rows) > policy.history_window()
            history = [
                {"role": m.role, "content": history_text(m.content, m.attachments)}  # photos: a note, never bytes
                for m in (exchange.before if exchange is not None else turn.rows)[-policy.history_window():]
                if m.role in ("user", "assistant") and (m.content or m.attachments) and m.status != "streaming"
            ]
            summary = conv.summary
            if turn.guard is not None:  # guardrails: number new placeholders after the stored ones
                turn.guard.screen_history(history, stored=True)
            tail = [*exchange.messages, *turn.results] if exchange is not None else []  # screened in _prepare
        user = exchange.user.content if exchange is not None else request.content
        context, truncated = build_context(
            policy, agent.system_prompt, history, [{"role": "user", "content": user}, *tail], provider.count_tokens, summary=summary,
        )
        if not request.background:  # a client's task prompt has no order to note
            context = await prepare_context(agent, turn.ctx, context)  # llmpath: the agent's note (the kiosk's order)
        turn.ledger.truncated = truncated or over
        turn.ledger.prompt_estimate = sum(provider.count_tokens(str(m.get("content") or "")) for m in context)
        context = show_photos(context, turn.photos, getattr(provider, "supports_images", False))  # image parts, or a note
        choice = first_tool_choice(agent, provider, str(user or ""), request.tool_choice) if tools is not None else None
        run = run_agent(
            provider, context, turn.ctx, tools, options=request.options.to_generation(self.settings.default_max_tokens),
            step_limit=agent.step_limit, token_budget=self.settings.turn_token_budget, time_budget=self.settings.turn_timeout,
            recorder=lambda record: self._record_tool(turn, record),
            # A confirmation is confirmed in its conversation: an ephemeral turn cannot ask for one.
            confirmations=self.deps.confirmations if conv is not None else None,
            stop_after_tools=agent.stop_after_tools,  # llmpath
            guard=turn.guard,
            client_tools=client_tools, tool_choice=choice,
        )
        publish, lifecycle = turn.generation.publish, self.deps.lifecycle
        # Guardrails: the answer is filtered on its way to the customer and the store.
        answer = turn.answer = turn.guard.answer() if turn.guard is not None else None
        # What every streamed delta touches, looked up once.
        ledger, parts, saver = turn.ledger, turn.parts, turn.saver
        feed = answer.feed if answer is not None else None
        final: str | None = None
        try:
            events = run if request.background else final_events(agent, turn.ctx, run)  # a task prompt has no order to tell
            async for event in events:  # llmpath: the kiosk's honest answer
                if type(event) is DeltaEvent:
                    if ledger.first_token_at is None:
                        lifecycle.first_token(ledger)
                    visible = feed(event.text) if feed is not None else event.text
                    if visible:
                        parts.append(visible)
                        await publish(DeltaEvent(visible) if visible is not event.text else event)
                    if saver is not None:
                        saver.note(answer.stored if answer is not None else parts)
                    if answer is not None and answer.blocked is not None:
                        break
                elif isinstance(event, (ToolCallEvent, ToolResultEvent)):
                    await publish(event)
                elif isinstance(event, AgentResult):
                    self._absorb(turn, event)
                    if event.text:
                        turn.replaced = final = event.text
                    # The last model step's own (stop, length, content_filter); `tool_calls` only when
                    # the client's tools were called (a run that stopped after the agent's tools is done).
                    turn.finish = "tool_calls" if event.client_calls else ("stop" if event.finish_reason == "tool_calls" else event.finish_reason)
                    turn.tool_calls.extend(client_calls.entries(event.client_calls))  # stored: the client's next request answers them
                    for index, call in enumerate(event.client_calls):  # back to the client, as OpenAI sends them
                        await publish(PieceEvent(ToolCallDelta(index, id=call.id, name=call.name, arguments=call.arguments)))
            if answer is not None:
                await self._answered(turn, answer, final)
        finally:
            # Whatever happened, keep the usage the run had counted (an upstream failure too).
            turn.ledger.report(run.result.usage)
            await run.aclose()
            if turn.ledger.truncated and policy.summary:  # llmpath: fold the cut history into the summary
                schedule_summary(self.rows, provider, conv, turn.rows, context)

    async def _answered(self, turn: _Turn, answer: AnswerFilter, final: str | None) -> None:
        """The answer's end through the guardrails: the held-back tail, then the text to show and to store."""
        tail = answer.finish()
        if tail:
            turn.parts.append(tail)
            await turn.generation.publish(DeltaEvent(tail))
        if final is not None and answer.blocked is None:
            answer.replace(final)
        if answer.blocked is not None and not turn.parts:
            await turn.generation.publish(DeltaEvent(answer.text))
        turn.replaced, turn.stored = answer.text, answer.stored_text

    async def _relay(self, turn: _Turn) -> None:
        """A passthrough turn: the upstream's pieces, published as they come."""
        call = turn.request.upstream
        assert call is not None
        ledger, lifecycle, publish = turn.ledger, self.deps.lifecycle, turn.generation.publish
        ledger.prompt_estimate = sum(turn.provider.count_tokens(str(m.get("content") or "")) for m in call.messages)
        options = turn.request.options.to_generation(self.settings.default_max_tokens)
        options = replace(options, model=call.target.model, max_tokens=call.max_tokens)  # nothing the client did not ask for
        relayed = Relayed(turn.parts, [])

        async def piece(p: StreamPiece) -> None:
            if ledger.first_token_at is None:
                lifecycle.first_token(ledger)
            if isinstance(p, UsageReport):
                ledger.report(p.usage)
            await publish(PieceEvent(p))

        try:
            await relay_upstream(call, options, piece, relayed)
        finally:
            turn.finish = relayed.finish
            ledger.text = "".join(relayed.produced)

    async def _record_tool(self, turn: _Turn, record: ToolCallRecord) -> None:
        assert turn.ctx is not None and turn.assistant is not None
        turn.tool_calls.append(record.as_dict())
        self.deps.lifecycle.metrics.tool_calls.labels(turn.ctx.agent, record.name, record.status).inc()
        if turn.conv is None:
            return  # ephemeral: the record lives only in the answer
        arguments = record.arguments if isinstance(record.arguments, dict) else {"raw": record.arguments}
        async with self.deps.db.write() as session:
            await messages.add_tool_call(
                session, call_id=record.id, message_id=turn.assistant.id, conversation_id=turn.conv.id,
                user_id=turn.request.user_id, name=record.name, arguments=arguments, result=record.result,
                status=record.status, duration_ms=record.duration_ms,
            )

    async def _close(self, turn: _Turn, error: ChatkioskError | None) -> None:
        """Publish the end and store the final message: the write runs beside the done frame,
        not before it, and the generation ends (and the slot is freed) once it is stored."""
        ledger, assistant = turn.ledger, turn.assistant
        assert assistant is not None
        if turn.request.upstream is None:
            ledger.text = turn.text
        usage = ledger.usage()
        assistant.status, assistant.content, assistant.usage = ledger.status, turn.text, usage.as_dict()
        assistant.tool_calls = turn.tool_calls or None
        assistant.error = error.body()["error"] if error is not None else None
        events = self._guarded(turn)
        write = asyncio.ensure_future(self._store_final(turn, events)) if turn.conv is not None or events else None
        try:
            if error is not None:
                await turn.generation.publish(ErrorEvent(error))
            await turn.generation.publish(DoneEvent(assistant, usage, turn.finish))
        finally:
            if write is not None:
                await asyncio.shield(write)  # a cancelled turn must still be stored as cancelled

    def _guarded(self, turn: _Turn) -> list[Any]:
        """Guardrails at the end of a turn: the message's `guardrail`, the text to store, the hits
        counted and returned as event rows (stored with the message)."""
        guard, assistant = turn.guard, turn.assistant
        if guard is None or assistant is None:
            return []
        if turn.stored is None and turn.answer is not None:  # failed mid-way: what was shown, as stored
            turn.stored = "".join(turn.answer.stored)
        assistant.guardrail = guard.guardrail("tool", "output", "blocked")
        for hit in guard.hits:
            self.deps.lifecycle.metrics.guardrail_hits.labels(hit.check, hit.action).inc()
        return guardrail_events.build(
            guard.hits, user_id=turn.request.user_id, agent=turn.ledger.label, conversation_id=turn.request.conversation_id,
            message_id=assistant.id,
        )

    async def _store_final(self, turn: _Turn, events: list[Any]) -> None:
        assistant = turn.assistant
        assert assistant is not None
        if turn.saver is not None:
            await turn.saver.close()  # a partial save in flight lands before the final one
        content = turn.stored if turn.stored is not None else assistant.content
        if not events:
            if turn.conv is not None:
                await self.rows.finish(assistant, content)
            return
        async with self.deps.db.write() as session:
            if turn.conv is not None:
                await messages.finish(
                    session, assistant.id, status=assistant.status, content=content, usage=assistant.usage,
                    tool_calls=assistant.tool_calls, error=assistant.error, guardrail=assistant.guardrail,
                )
            session.add_all(events)  # the turn's guardrail events, in the same transaction

    # --- from outside

    async def settled(self, conversation_id: str, user_id: str) -> None:
        """Wait until the answer that ended in the conversation (its done event sent) is stored."""
        generation = self.generations.get(conversation_id, user_id)
        if generation is not None and not generation.finished:
            if generation.done is not None:
                await generation.wait()
            return
        await self.generations.stored_elsewhere(conversation_id)  # it may have been answered on another worker

    async def cancel(self, conversation_id: str, user_id: str) -> bool:
        """Stop the answer in flight in the user's conversation (NotFound when it is not theirs).

        Here when this worker runs it; otherwise relayed to the other workers (True: asked).
        """
        async with self.deps.db.read() as session:
            if await conversations.get(session, conversation_id, user_id) is None:
                raise NotFound("no such conversation")
        if self.generations.cancel(conversation_id, user_id):
            return True
        if self.relay is not None:
            await self.relay.publish(conversation_id)
            return True
        return False

    async def close(self) -> None:
        """Stop relaying cancels and end every generation (each stores its end)."""
        if self.relay is not None:
            await self.relay.close()
        await self.generations.close()


def _offered(agent: Agent, request: TurnRequest) -> tuple[ToolRegistry | None, list[ToolSpec] | None]:
    """The agent's tools and the client's for this turn: none for a client's background task or
    with `tool_choice: "none"`."""
    if request.background or request.tool_choice == "none":
        return None, None
    return agent.tools, request.client_tools

