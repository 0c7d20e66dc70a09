"""The agents a server offers, registered in plain code in one place."""

from __future__ import annotations

from collections.abc import Iterator

from chatkiosk.agents.base import Agent
from chatkiosk.agents.context import ContextPolicy
from chatkiosk.agents.kiosk.menu import Menu
from chatkiosk.errors import NotFound


class AgentRegistry:
    """Agents by name, in registration order."""

    def __init__(self) -> None:
        self._agents: dict[str, Agent] = {}

    def register(self, agent: Agent) -> Agent:
        """Add an agent; a second agent of the same name is a programming error."""
        if agent.name in self._agents:
            raise ValueError(f"agent {agent.name} is already registered")
        self._agents[agent.name] = agent
        return agent

    def get(self, name: str) -> Agent:
        """The agent of that name; `NotFound` (404) when there is none."""
        agent = self._agents.get(name)
        if agent is None:
            raise NotFound(f"unknown agent {name!r}", code="agent_not_found", param="agent")
        return agent

    def list(self) -> list[Agent]:
        """All agents, in registration order."""
        return list(self._agents.values())

    def names(self) -> list[str]:
        return list(self._agents)

    def __contains__(self, name: object) -> bool:
        return name in self._agents

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._agents.values())


def default_agents(
    *, context: ContextPolicy | None = None, step_limit: int = 8, provider: str | None = None, kiosk_menu: Menu | None = None,
    shop: bool = False,
) -> AgentRegistry:
    """The built-in agents. `context` and `step_limit` are the settings' defaults; the kiosk
    comes with its menu and the shop with `shop=True` (both need the runtime's services)."""
    from chatkiosk.agents.assistant import build_assistant
    from chatkiosk.agents.kiosk.agent import build_kiosk

    registry = AgentRegistry()
    registry.register(build_assistant(provider=provider, context=context, step_limit=step_limit))
    if kiosk_menu is not None:
        registry.register(build_kiosk(kiosk_menu, provider=provider, context=context, step_limit=step_limit))
    if shop:
        from chatkiosk.agents.shop.agent import build_shop

        registry.register(build_shop(provider=provider, context=context, step_limit=step_limit))
    return registry
