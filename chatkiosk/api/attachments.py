"""Routes for photos on support tickets (`/api/shop/tickets/{id}/attachments`) and for the
photos sent in a conversation (`/api/conversations/{id}/attachments/{attachment_id}`).

Another customer's ticket or conversation is 404 here as everywhere (SECURITY 11); staff see
every ticket's photos. Served bytes are the cleaned image with its sniffed type, never
interpreted as HTML.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from pydantic import BaseModel

from chatkiosk.agents.shop.attachments import TicketPhotos
from chatkiosk.agents.shop.models import AttachmentPublic
from chatkiosk.api.deps import CurrentUser, RuntimeDep
from chatkiosk.api.schemas import errors
from chatkiosk.auth.accounts import Principal
from chatkiosk.errors import PayloadTooLarge
from chatkiosk.runtime import Runtime
from chatkiosk.store.attachments import TicketAttachment

router = APIRouter(prefix="/api/shop/tickets/{ticket_id}/attachments", tags=["shop"])
chat_router = APIRouter(prefix="/api/conversations/{conversation_id}/attachments", tags=["chat"])
_PHOTO_DOC = {**errors(401, 404), 200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}}


class AttachmentList(BaseModel):
    data: list[AttachmentPublic]


def _photos(runtime: Runtime) -> TicketPhotos:
    assert runtime.ticket_photos is not None
    return runtime.ticket_photos


def _viewer(principal: Principal) -> str | None:
    return None if principal.is_admin else principal.id


@router.post("", status_code=201, responses=errors(401, 404, 409, 413, 415, 422))
async def attach_photo(
    ticket_id: str, principal: CurrentUser, runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="a PNG, JPEG or WebP photo (the type is read from its bytes)")],
) -> AttachmentPublic:
    """Add a photo to one of your tickets; its metadata (EXIF, GPS, comments) is stripped."""
    limit = runtime.settings.attachment_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"a photo may be at most {limit} bytes", param="file")
    return AttachmentPublic.of(await _photos(runtime).attach(principal.id, ticket_id, data))


@router.get("", responses=errors(401, 404))
async def list_photos(ticket_id: str, principal: CurrentUser, runtime: RuntimeDep) -> AttachmentList:
    """The photos on one of your tickets (staff: any ticket)."""
    return AttachmentList(data=[AttachmentPublic.of(r) for r in await _photos(runtime).list(_viewer(principal), ticket_id)])


@router.get("/{attachment_id}", responses=_PHOTO_DOC, response_class=Response)
async def read_photo(ticket_id: str, attachment_id: str, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """The photo itself, to its ticket's owner and to staff."""
    return _served(await _photos(runtime).read(_viewer(principal), ticket_id, attachment_id))


@chat_router.get("/{attachment_id}", responses=_PHOTO_DOC, response_class=Response)
async def read_sent_photo(conversation_id: str, attachment_id: str, principal: CurrentUser, runtime: RuntimeDep) -> Response:
    """A photo you sent in this conversation (a message's `attachments[].url`)."""
    return _served(await _photos(runtime).read_sent(principal.id, conversation_id, attachment_id))


def _served(row: TicketAttachment) -> Response:
    return Response(row.data, media_type=row.content_type, headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox", "Content-Disposition": f'inline; filename="{row.id}"',
    })
