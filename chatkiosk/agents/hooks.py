"""What an agent may add to an LLM turn: a note on the context, and its own final answer.

The chat turn calls four functions here, each a line in `chat/turn.py`:

- `fit_context(agent, provider, max_tokens)`: the agent's context policy within the model's
  window (see `budget`); `client_tools_that_fit` first leaves out a client's tools whose command
  prompt would crowd the conversation out of a small window;
- `prepare_context(agent, ctx, messages)`: the agent's note on the turn (the kiosk adds the
  current order to the user's message, so the fixed system prompt stays a cacheable prefix);
- `first_tool_choice(agent, provider, text, tool_choice)`: the tool the text calls for, forced
  on a small model's first step (the assistant's calculator and clock), when the client named none;
- `final_events(agent, ctx, run)`: the run's events, with the answer written by the agent
  when it has `TurnHooks.compose` (the kiosk: from the commands that ran, never the model's
  claims; the model's text is held back until then).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from chatkiosk.agents.budget import CONTEXT_MARGIN, answer_tokens, fit_policy
from chatkiosk.agents.command_format import command_prompt
from chatkiosk.agents.context import ContextPolicy
from chatkiosk.agents.tools import ToolContext
from chatkiosk.errors import UserError
from chatkiosk.events import DeltaEvent
from chatkiosk.llm.base import Message, Provider, ToolSpec

if TYPE_CHECKING:
    from chatkiosk.agents.base import Agent
    from chatkiosk.agents.loop import AgentEvent


_BEFORE = "_turn_hooks_before"
log = logging.getLogger(__name__)


class TurnHooks:
    """An agent's part in an LLM turn; the defaults change nothing."""

    writes_answer = False  # True: `compose` writes the final answer
    note_tokens = 0  # what `note` may cost, kept free in the context budget

    async def before(self, ctx: ToolContext, text: str) -> Any:
        """State to remember at the start of the turn, given the user's text (the kiosk: the order)."""
        return None

    def note(self, ctx: ToolContext, before: Any) -> str | None:
        """Text added to the user's message for the model only (never stored)."""
        return None

    async def compose(self, ctx: ToolContext, before: Any, model_text: str, result: Any) -> str:
        """The final answer, from the turn's tool calls (`result.tool_calls`) and state."""
        return model_text


def turn_state(ctx: ToolContext) -> Any:
    """What the agent's `before` returned for the LLM turn in progress (None outside one)."""
    return ctx.state.get(_BEFORE)


def fit_context(agent: Agent, provider: Provider, max_tokens: int | None, client_tools: list[ToolSpec] | None = None) -> ContextPolicy:
    """The agent's context policy, shrunk to what fits the provider's window (the command
    prompt of the agent's tools and the client's included)."""
    extra = agent.hooks.note_tokens if agent.hooks is not None else 0
    commands = [*agent.tools, *(client_tools or [])]
    if commands and not getattr(provider, "supports_tools", False):
        compact = getattr(provider, "context_window", None) is not None
        extra += provider.count_tokens(command_prompt(commands, compact=compact))
    return fit_policy(agent.context, provider, max_tokens, extra_prompt_tokens=extra)


def client_tools_that_fit(
    agent: Agent, provider: Provider, max_tokens: int | None, client_tools: list[ToolSpec] | None, tool_choice: Any = None,
) -> list[ToolSpec] | None:
    """The client's tools to offer the model: all of them, unless the model has a small window,
    no native tools, and their command prompt would take more than half of what the window
    leaves for the prompt. Open WebUI attaches its 36 built-in tools (~4,000 tokens) to every
    call; a 2,048-token local model answers without them instead of failing the turn. A client
    that insists on a call (`tool_choice` "required" or a client tool's name) gets a 400 instead."""
    window = getattr(provider, "context_window", None)
    if not client_tools or not window or getattr(provider, "supports_tools", False):
        return client_tools
    own = provider.count_tokens(command_prompt(list(agent.tools), compact=True)) if agent.tools else 0
    theirs = provider.count_tokens(command_prompt([*agent.tools, *client_tools], compact=True)) - own
    room = window - answer_tokens(provider, max_tokens) - CONTEXT_MARGIN - own
    if theirs <= room // 2:
        return client_tools
    names = {t.name for t in client_tools}
    named = tool_choice.get("function", {}).get("name") if isinstance(tool_choice, dict) else None
    if tool_choice == "required" or named in names:
        raise UserError(
            f"the client's {len(client_tools)} tools need about {theirs} tokens of the prompt, more than the "
            f"{window}-token window of the model behind {agent.name!r} leaves; send fewer tools",
            code="tools_too_large", param="tools",
        )
    log.info("client tools left out of the turn", extra={"agent": agent.name, "tools": len(client_tools), "tokens": theirs, "window": window})
    return None


async def prepare_context(agent: Agent, ctx: ToolContext, messages: list[Message]) -> list[Message]:
    """The context with the agent's note on the last user message (remembers `before`)."""
    hooks = agent.hooks
    if hooks is None:
        return messages
    last_is_user = bool(messages) and messages[-1].get("role") == "user"
    before = await hooks.before(ctx, str(messages[-1].get("content") or "") if last_is_user else "")
    ctx.state[_BEFORE] = before  # the turn's scratch copy of the state; never stored
    note = hooks.note(ctx, before)
    if not note or not last_is_user:
        return messages
    last = dict(messages[-1])
    last["content"] = f"{last.get('content') or ''}\n\n{note}"
    return [*messages[:-1], last]


def first_tool_choice(agent: Agent, provider: Provider, text: str, tool_choice: Any) -> Any:
    """The turn's `tool_choice`: the client's, else the agent's tool for this text when the
    model is small and local with no native tools (it would write "I used the calculator…"
    and a made-up number instead of calling it), else None: the model chooses."""
    if tool_choice is not None or agent.tool_for is None or getattr(provider, "supports_tools", False):
        return tool_choice
    if getattr(provider, "context_window", None) is None:  # an upstream model: its own choice
        return None
    name = agent.tool_for(text)
    return {"type": "function", "function": {"name": name}} if name is not None and name in agent.tools.names() else None


def final_events(agent: Agent, ctx: ToolContext, run: AsyncIterator[AgentEvent]) -> AsyncIterator[AgentEvent]:
    """The run's events; with an answer-writing agent, its answer replaces the model's text
    (any other agent's run is returned as it is: no layer for every streamed piece)."""
    hooks = agent.hooks
    if hooks is None or not hooks.writes_answer:
        return run
    return _composed(hooks, ctx, run)


async def _composed(hooks: TurnHooks, ctx: ToolContext, run: AsyncIterator[AgentEvent]) -> AsyncIterator[AgentEvent]:
    from chatkiosk.agents.loop import AgentResult

    held: list[str] = []
    async for event in run:
        if isinstance(event, DeltaEvent):
            held.append(event.text)  # the model's words wait for the agent's judgement
        elif isinstance(event, AgentResult):
            text = await hooks.compose(ctx, ctx.state.get(_BEFORE), event.text or "".join(held), event)
            event.text = text
            yield DeltaEvent(text)
            yield event
        else:
            yield event
