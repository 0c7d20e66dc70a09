"""Routes of preset prompts: `/api/presets`.

A preset is `{name, prompt}`. `POST /api/conversations {"preset_id": …}` starts a conversation
named after it; the client then sends the preset's prompt as the first message (the web page
and `chatkiosk chat --preset NAME` do).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, field_validator

from chatkiosk.api.deps import CurrentUser, Paging, RuntimeDep
from chatkiosk.api.schemas import ListPage, Strict, errors
from chatkiosk.errors import NotFound
from chatkiosk.store import presets

router = APIRouter(prefix="/api/presets", tags=["presets"])

PROMPT_CHARS = 16_000


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


def _trimmed_name(value: str | None) -> str | None:
    return _not_blank(value.strip() if value is not None else None)


class PresetCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    prompt: str = Field(min_length=1, max_length=PROMPT_CHARS)

    _filled = field_validator("prompt")(_not_blank)
    _named = field_validator("name")(_trimmed_name)


class PresetUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    prompt: str | None = Field(None, min_length=1, max_length=PROMPT_CHARS)

    _filled = field_validator("prompt")(_not_blank)
    _named = field_validator("name")(_trimmed_name)


class PresetPublic(BaseModel):
    id: str
    name: str
    prompt: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, preset: Any) -> PresetPublic:
        return cls(id=preset.id, name=preset.name, prompt=preset.prompt, created_at=preset.created_at, updated_at=preset.updated_at)


@router.post("", status_code=201, responses=errors(401, 413, 422))
async def create_preset(body: PresetCreate, principal: CurrentUser, runtime: RuntimeDep) -> PresetPublic:
    """Save a preset prompt."""
    async with runtime.db.write() as session:
        preset = await presets.create(session, user_id=principal.id, name=body.name, prompt=body.prompt)
    return PresetPublic.of(preset)


@router.get("", responses=errors(401, 422))
async def list_presets(principal: CurrentUser, runtime: RuntimeDep, paging: Paging) -> ListPage[PresetPublic]:
    """Your presets, newest first."""
    async with runtime.db.read() as session:
        page = await presets.page(session, principal.id, limit=paging.limit, before=paging.before)
    return ListPage[PresetPublic](data=[PresetPublic.of(p) for p in page.data], has_more=page.has_more)


@router.get("/{preset_id}", responses=errors(401, 404))
async def get_preset(preset_id: str, principal: CurrentUser, runtime: RuntimeDep) -> PresetPublic:
    """One of your presets."""
    async with runtime.db.read() as session:
        preset = await presets.get(session, preset_id, principal.id)
    if preset is None:
        raise NotFound("no such preset")
    return PresetPublic.of(preset)


@router.patch("/{preset_id}", responses=errors(401, 404, 413, 422))
async def update_preset(preset_id: str, body: PresetUpdate, principal: CurrentUser, runtime: RuntimeDep) -> PresetPublic:
    """Rename a preset or change its prompt."""
    async with runtime.db.write() as session:
        preset = await presets.get(session, preset_id, principal.id)
        if preset is None:
            raise NotFound("no such preset")
        await presets.update_fields(session, preset, name=body.name, prompt=body.prompt)
    return PresetPublic.of(preset)


@router.delete("/{preset_id}", status_code=204, responses=errors(401, 404))
async def delete_preset(preset_id: str, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """Delete a preset (conversations started from it stay)."""
    async with runtime.db.write() as session:
        if not await presets.remove(session, preset_id, principal.id):
            raise NotFound("no such preset")
    return Response(status_code=204)
