"""Routes of code snippets: `/api/snippets` (save, list, search, delete), each user's own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from chatkiosk.api.deps import CurrentUser, Paging, RuntimeDep
from chatkiosk.api.schemas import ListPage, Strict, errors
from chatkiosk.knowledge.snippets import SnippetBook, SnippetInfo
from chatkiosk.runtime import Runtime

router = APIRouter(prefix="/api/snippets", tags=["snippets"])

MAX_CODE = 100_000


class SnippetCreate(Strict):
    code: str = Field(min_length=1, max_length=MAX_CODE)
    language: str = Field("", max_length=40, pattern=r"^[A-Za-z0-9_+#.-]*$")
    description: str = Field(min_length=1, max_length=2000)


class SnippetPublic(BaseModel):
    id: str
    language: str
    description: str
    code: str
    created_at: datetime


class SnippetMatch(SnippetPublic):
    score: float


class SnippetMatches(BaseModel):
    data: list[SnippetMatch]


def _book(runtime: Runtime) -> SnippetBook:
    assert runtime.snippets is not None
    return runtime.snippets


def _public(s: SnippetInfo) -> SnippetPublic:
    return SnippetPublic(id=s.id, language=s.language, description=s.description, code=s.code, created_at=s.created_at)


@router.post("", status_code=201, responses=errors(401, 413, 422))
async def save_snippet(body: SnippetCreate, principal: CurrentUser, runtime: RuntimeDep) -> SnippetPublic:
    """Save a piece of code with a description of what it does."""
    return _public(await _book(runtime).save(principal.id, code=body.code, language=body.language, description=body.description))


@router.get("", responses=errors(401, 422))
async def list_snippets(principal: CurrentUser, runtime: RuntimeDep, paging: Paging) -> ListPage[SnippetPublic]:
    """Your snippets, newest first."""
    page = await _book(runtime).list(principal.id, limit=paging.limit, before=paging.before)
    return ListPage[SnippetPublic](data=[_public(s) for s in page.data], has_more=page.has_more)


@router.get("/search", responses=errors(401, 422))
async def search_snippets(
    principal: CurrentUser,
    runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="what the code does")],
    top_k: Annotated[int, Query(ge=1, le=50)] = 5,
    language: Annotated[str | None, Query(max_length=40)] = None,
) -> SnippetMatches:
    """Your snippets best matching `q`: by description first, then by the identifiers in the code."""
    found = await _book(runtime).search(principal.id, q, top_k=top_k, language=language)
    return SnippetMatches(data=[SnippetMatch(**_public(s).model_dump(), score=s.score or 0.0) for s in found])


@router.delete("/{snippet_id}", status_code=204, responses=errors(401, 404))
async def delete_snippet(snippet_id: str, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """Delete one of your snippets."""
    await _book(runtime).delete(principal.id, snippet_id)
    return Response(status_code=204)
