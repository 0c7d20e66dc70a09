"""Build the reach tools from the server's settings, for the agents an admin chose."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from chatkiosk.agents.registry import AgentRegistry
from chatkiosk.agents.tools import Tool
from chatkiosk.config import Settings
from chatkiosk.reach.fetch import PageFetcher
from chatkiosk.reach.netguard import AddressPolicy
from chatkiosk.reach.sandbox import Sandbox, SandboxLimits
from chatkiosk.reach.search import BraveBackend, SearchBackend, SearxngBackend
from chatkiosk.reach.tools import RUN_CODE_PROMPT, WEB_PROMPT, run_code_tool, web_tools

log = logging.getLogger("chatkiosk.reach")


@dataclass
class Reach:
    """The reach tools this server offers, by agent, and what must be closed at shutdown."""

    tools: dict[str, list[Tool]] = field(default_factory=dict)
    prompts: dict[str, list[str]] = field(default_factory=dict)
    search: SearchBackend | None = None
    fetcher: PageFetcher | None = None
    sandbox: Sandbox | None = None
    problems: list[str] = field(default_factory=list)

    def grant(self, agents: AgentRegistry) -> None:
        """Add each agent's reach tools (and their prompt lines) to the registry's agents."""
        for name, tools in self.tools.items():
            if name not in agents:
                self.problems.append(f"no agent named {name!r} to give {', '.join(t.name for t in tools)}")
                continue
            agent = agents.get(name)
            for t in tools:
                agent.tools.register(t)
            agent.system_prompt = "\n\n".join([agent.system_prompt, *self.prompts.get(name, [])])

    async def close(self) -> None:
        if self.search is not None:
            await self.search.close()
        if self.fetcher is not None:
            await self.fetcher.close()


def _search_backend(settings: Settings) -> SearchBackend | None:
    if settings.web_search is None:
        return None
    if settings.web_search == "searxng":
        if not settings.web_search_url:
            raise ValueError("CHATKIOSK_WEB_SEARCH=searxng needs CHATKIOSK_WEB_SEARCH_URL (the SearXNG instance)")
        return SearxngBackend(settings.web_search_url, settings.web_search_timeout)
    if settings.web_search_api_key is None:
        raise ValueError("CHATKIOSK_WEB_SEARCH=brave needs CHATKIOSK_WEB_SEARCH_API_KEY")
    return BraveBackend(settings.web_search_url, settings.web_search_api_key.get_secret_value(), settings.web_search_timeout)


def build_reach(settings: Settings) -> Reach:
    """The reach tools the settings turn on (none by default)."""
    reach = Reach()
    reach.search = _search_backend(settings)
    if reach.search is not None:
        if settings.fetch_page:
            reach.fetcher = PageFetcher(
                AddressPolicy(settings.fetch_allowed_networks), max_bytes=settings.fetch_max_bytes, timeout=settings.fetch_timeout,
            )
        reach.tools.setdefault("assistant", []).extend(web_tools(reach.search, reach.fetcher))
        reach.prompts.setdefault("assistant", []).append(WEB_PROMPT)
    if settings.run_code_agents:
        sandbox = Sandbox(SandboxLimits(
            cpu_seconds=settings.run_code_cpu_seconds, wall_seconds=settings.run_code_wall_seconds,
            memory_mb=settings.run_code_memory_mb, processes=settings.run_code_processes,
            output_bytes=settings.run_code_output_bytes,
        ), python=settings.run_code_python)
        problem = sandbox.problem()
        if problem is not None:
            # Never unsandboxed: the tool is simply not offered, and the log says why.
            reach.problems.append(f"run_code is not offered: {problem}")
            log.warning("run_code is not offered", extra={"reason": problem})
        else:
            reach.sandbox = sandbox
            tool_ = run_code_tool(sandbox)
            for name in settings.run_code_agents:
                reach.tools.setdefault(name, []).append(tool_)
                reach.prompts.setdefault(name, []).append(RUN_CODE_PROMPT)
    return reach
