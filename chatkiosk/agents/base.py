"""An agent: a system prompt, the tools it grants, its context policy and limits.

Agents are plain values built in code (see `registry.default_agents`). An agent may also
answer a turn without the LLM through `intercept` — the kiosk's rule-based order parser does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chatkiosk.agents.context import ContextPolicy
from chatkiosk.agents.hooks import TurnHooks
from chatkiosk.agents.tools import ToolCallRecord, ToolContext, ToolRegistry
from chatkiosk.llm.base import GenerationOptions, Provider

DEFAULT_STEP_LIMIT = 8


@dataclass(slots=True)
class InterceptResult:
    """A turn answered without the LLM: the reply, the tool calls it made, and extra data."""

    reply: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


Intercept = Callable[[ToolContext, str], Awaitable[InterceptResult | None]]


@dataclass(slots=True)
class Agent:
    """One agent the server offers (`GET /api/agents`)."""

    name: str
    description: str
    system_prompt: str
    tools: ToolRegistry = field(default_factory=ToolRegistry)
    provider: str | None = None  # a provider name; None: the server's default
    context: ContextPolicy = field(default_factory=ContextPolicy)
    step_limit: int = DEFAULT_STEP_LIMIT
    allow_model_override: bool = False
    options: GenerationOptions = field(default_factory=GenerationOptions)
    intercept: Intercept | None = None
    # The agent keeps state in its conversation (the kiosk's order): it cannot answer unbound calls.
    needs_conversation: bool = False
    # The agent takes photos with a message (the shop files them with tickets): chat/photos.py.
    takes_photos: bool = False
    # The agent's part in an LLM turn (a note on the context, its own final answer): see hooks.
    hooks: TurnHooks | None = None
    # End the turn once a step's tools have run (the hooks write the answer from what they did).
    stop_after_tools: bool = False
    # Routing per intent (the shop): `intent_of(text)` names the turn's intent, and
    # `intent_providers` maps intents (and "default") to a provider route, set by the runtime.
    intent_of: Callable[[str], str] | None = None
    intent_providers: dict[str, Provider] = field(default_factory=dict)
    # The tool a user's text calls for (the assistant: arithmetic → calculator), forced on the
    # first step of a small model without native tools, which would narrate the call instead.
    tool_for: Callable[[str], str | None] | None = None

    def provider_for_text(self, text: str) -> Provider | None:
        """The provider routed for this turn's intent, or None for the agent's usual one."""
        if self.intent_of is None or not self.intent_providers:
            return None
        return self.intent_providers.get(self.intent_of(text)) or self.intent_providers.get("default")

    def info(self) -> dict[str, Any]:
        """The agent as `GET /api/agents` lists it."""
        return {"name": self.name, "description": self.description, "tools": self.tools.names()}

    async def try_intercept(self, ctx: ToolContext, text: str) -> InterceptResult | None:
        """The intercept's answer to the user's text, or None when the LLM must answer."""
        if self.intercept is None:
            return None
        return await self.intercept(ctx, text)
