"""Routes of the knowledge base: `/api/knowledge/documents` (upload, list, read, delete) and search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from pydantic import BaseModel

from chatkiosk.api.deps import CurrentUser, Paging, RuntimeDep
from chatkiosk.api.schemas import ListPage, errors
from chatkiosk.errors import PayloadTooLarge, PermissionDenied
from chatkiosk.knowledge import DocumentInfo, KnowledgeBase
from chatkiosk.knowledge.service import MAX_TITLE, MAX_TOP_K
from chatkiosk.runtime import Runtime

router = APIRouter(prefix="/api/knowledge", tags=["knowledge"])


class DocumentPublic(BaseModel):
    id: str
    title: str
    format: Literal["markdown", "text", "html", "pdf"]
    visibility: Literal["private", "shared"]
    chunks: int
    created_at: datetime


class DocumentRef(BaseModel):
    id: str
    title: str


class ChunkRef(BaseModel):
    id: str
    index: int
    heading: str
    text: str


class SearchResult(BaseModel):
    document: DocumentRef
    chunk: ChunkRef
    score: float


class SearchResults(BaseModel):
    data: list[SearchResult]


def _public(info: DocumentInfo) -> DocumentPublic:
    return DocumentPublic(id=info.id, title=info.title, format=info.format, visibility=info.visibility,  # type: ignore[arg-type]
                          chunks=info.chunks, created_at=info.created_at)


def _knowledge(runtime: Runtime) -> KnowledgeBase:
    assert runtime.knowledge is not None
    return runtime.knowledge


@router.post("/documents", status_code=201, responses=errors(401, 403, 413, 415, 422))
async def upload_document(
    principal: CurrentUser,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="Markdown, text, HTML or PDF; the type comes from the name or content type")],
    title: Annotated[str | None, Form(max_length=MAX_TITLE)] = None,
    visibility: Annotated[Literal["private", "shared"], Form(description="`shared` is for administrators")] = "private",
) -> DocumentPublic:
    """Add a document; one of the same title (yours, or shared) is replaced."""
    if visibility == "shared" and not principal.is_admin:
        raise PermissionDenied("only administrators add shared documents", param="visibility")
    limit = runtime.settings.knowledge_max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes", param="file")
    info = await _knowledge(runtime).ingest(
        data, filename=file.filename, content_type=file.content_type, owner_id=principal.id, visibility=visibility, title=title,
    )
    return _public(info)


@router.get("/documents", responses=errors(401, 422))
async def list_documents(principal: CurrentUser, runtime: RuntimeDep, paging: Paging) -> ListPage[DocumentPublic]:
    """The documents you can search: your own and the shared ones, newest first."""
    page = await _knowledge(runtime).documents(principal.id, limit=paging.limit, before=paging.before)
    return ListPage[DocumentPublic](data=[_public(d) for d in page.data], has_more=page.has_more)


@router.get("/documents/{document_id}", responses=errors(401, 404))
async def get_document(document_id: str, principal: CurrentUser, runtime: RuntimeDep) -> DocumentPublic:
    """One document you can search."""
    return _public(await _knowledge(runtime).document(principal.id, document_id))


@router.delete("/documents/{document_id}", status_code=204, responses=errors(401, 403, 404))
async def delete_document(document_id: str, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """Delete one of your documents (administrators: a shared one too); its chunks leave the index."""
    await _knowledge(runtime).delete(principal.id, document_id, is_admin=principal.is_admin)
    return Response(status_code=204)


@router.get("/search", responses=errors(401, 422))
async def search(
    principal: CurrentUser,
    runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="the question")],
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 5,
) -> SearchResults:
    """The passages best matching `q` among the documents you can search (hybrid BM25 + vectors)."""
    hits = await _knowledge(runtime).search(principal.id, q, top_k)
    return SearchResults(data=[
        SearchResult(document=DocumentRef(id=h.document_id, title=h.document_title),
                     chunk=ChunkRef(id=h.chunk_id, index=h.chunk_index, heading=h.heading, text=h.text), score=h.score)
        for h in hits
    ])
