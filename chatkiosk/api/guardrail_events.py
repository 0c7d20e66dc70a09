"""`GET /api/admin/guardrail-events`: what the guardrails found and did, newest first (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from chatkiosk.api.deps import AdminUser, Paging, RuntimeDep
from chatkiosk.api.schemas import ListPage, errors
from chatkiosk.store import guardrail_events

router = APIRouter(prefix="/api/admin", tags=["admin"])


class GuardrailEventPublic(BaseModel):
    """One hit: the kinds found (never a value) and an excerpt with personal data replaced by its kind."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    user_id: str
    conversation_id: str | None
    message_id: str | None
    agent: str
    check: str
    action: str
    source: str
    tool: str | None
    kinds: list[str]
    score: float | None
    excerpt: str


@router.get("/guardrail-events", responses=errors(401, 403, 422))
async def list_guardrail_events(
    _admin: AdminUser,
    runtime: RuntimeDep,
    paging: Paging,
    check: Annotated[Literal["pii", "profanity", "injection"] | None, Query(description="only this check")] = None,
    action: Annotated[Literal["block", "mask", "flag"] | None, Query(description="only this action")] = None,
) -> ListPage[GuardrailEventPublic]:
    """Guardrail hits of every agent, newest first."""
    async with runtime.db.read() as session:
        page = await guardrail_events.page(session, limit=paging.limit, before=paging.before, check=check, action=action)
    return ListPage[GuardrailEventPublic](data=[GuardrailEventPublic.model_validate(e) for e in page.data], has_more=page.has_more)
