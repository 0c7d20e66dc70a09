"""Route listing the agents: `/api/agents`."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.schemas import ListPage, errors

router = APIRouter(prefix="/api/agents", tags=["agents"])


class AgentPublic(BaseModel):
    name: str
    description: str
    tools: list[str]


@router.get("", responses=errors(401))
async def list_agents(_user: CurrentUser, runtime: RuntimeDep) -> ListPage[AgentPublic]:
    """The agents this server offers, with the tools each may use."""
    return ListPage[AgentPublic](data=[AgentPublic(**a.info()) for a in runtime.agents.list()], has_more=False)
