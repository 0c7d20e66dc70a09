"""Photos sent with a chat turn: read from `data:` URLs, cleaned, and shown to the model.

A photo arrives as a `data:` URL — the native API's `images`, or OpenAI's `image_url` content
parts; the server fetches no URL. Each goes through the checks of an upload to a ticket
(agents/shop/photos.py: the type from the bytes, size and pixel limits, metadata stripped)
before the turn starts, so a bad one is a 4xx and nothing is stored. In a conversation the
cleaned photo is stored with the user message, which keeps a reference (id, type, size in
pixels) and never the bytes; it waits there until the agent files it with a ticket.

A model whose provider sees images (`supports_images`) gets the photo as an image part of the
user's message; any other gets a short note instead, so a photo is never dropped in silence.
Earlier turns' photos reach the model as that note only: history never re-sends image bytes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chatkiosk.agents.shop.photos import CleanImage, ImageTooLarge, UnsupportedImage, clean_image
from chatkiosk.config import Settings
from chatkiosk.errors import ChatkioskError, ValidationFailed
from chatkiosk.llm.base import Message
from chatkiosk.store import attachments
from chatkiosk.store.attachments import TicketAttachment
from chatkiosk.store.ids import new_id

_KINDS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}
# What `decode_data_url` takes, as the API schema states it: base64 in whole quads.
DATA_URL_PATTERN = r"^data:[^,]*;base64,(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


@dataclass(frozen=True, slots=True)
class ChatPhoto:
    """One cleaned photo of a turn, with the id it is stored (and referenced) under."""

    id: str
    image: CleanImage

    def ref(self) -> dict[str, Any]:
        """What the message keeps of it."""
        return {"id": self.id, "content_type": self.image.content_type, "width": self.image.width, "height": self.image.height}

    def data_url(self) -> str:
        """The cleaned bytes as a `data:` URL, for the model's image part."""
        return f"data:{self.image.content_type};base64,{base64.b64encode(self.image.data).decode('ascii')}"

    def row(self, *, user_id: str, conversation_id: str | None, message_id: str | None, ticket_id: str | None = None) -> TicketAttachment:
        """The row that stores it (not yet added)."""
        image = self.image
        return attachments.build(
            id=self.id, ticket_id=ticket_id, user_id=user_id, conversation_id=conversation_id, message_id=message_id,
            content_type=image.content_type, data=image.data, width=image.width, height=image.height, sha256=image.sha256,
        )


def decode_data_url(url: str, *, max_bytes: int, param: str) -> bytes:
    """The bytes of a base64 `data:` URL; 422 for any other URL, 413 when it is over the limit."""
    if not url.startswith("data:"):
        raise ValidationFailed(
            "a photo is sent inline as a data: URL (data:image/jpeg;base64,…); the server fetches no URL",
            code="image_url_not_allowed", param=param,
        )
    head, comma, payload = url.partition(",")
    if not comma or not head.endswith(";base64"):
        raise ValidationFailed("a photo's data: URL must be base64 (data:image/jpeg;base64,…)", code="invalid_image_url", param=param)
    if len(payload) > 4 * -(-max_bytes // 3) + 4:  # checked before decoding: no big allocation for a refusal
        raise ImageTooLarge(f"a photo may be at most {max_bytes / 1_000_000:g} MB", param=param)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("a photo's data: URL is not valid base64", code="invalid_image_url", param=param) from None


async def read_photos(urls: Sequence[str] | None, settings: Settings, takes_photos: bool, param: str = "images") -> list[ChatPhoto]:
    """The turn's photos, checked and cleaned (in a worker thread); a 4xx for the first bad one."""
    if not urls:
        return []
    if not takes_photos:  # 415: this conversation's agent takes text, not images
        raise UnsupportedImage("this agent takes no photos; send text only", code="photos_not_supported", param=param)
    limit = settings.chat_photos_per_message
    if len(urls) > limit:
        raise ValidationFailed(f"a message may carry at most {limit} photos", code="too_many_photos", param=param)
    photos: list[ChatPhoto] = []
    for index, url in enumerate(urls):
        where = f"{param}.{index}"
        data = decode_data_url(url, max_bytes=settings.attachment_max_bytes, param=where)
        try:
            image = await asyncio.to_thread(
                clean_image, data, max_bytes=settings.attachment_max_bytes, max_pixels=settings.attachment_max_pixels
            )
        except ChatkioskError as exc:
            exc.param = where
            raise
        photos.append(ChatPhoto(new_id("att"), image))
    return photos


def _described(refs: Sequence[dict[str, Any]]) -> str:
    """": PNG 640×480, JPEG 800×600" (what is known of them), or ""."""
    known = [f"{_KINDS.get(r.get('content_type', ''), 'image')} {r['width']}×{r['height']}" for r in refs if r.get("width")]
    return f": {', '.join(known)}" if known else ""


def show_photos(messages: list[Message], photos: Sequence[ChatPhoto], sees_images: bool) -> list[Message]:
    """The context with the turn's photos on the last user message: image parts, or a note."""
    at = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), None)
    if not photos or at is None:
        return messages
    message = dict(messages[at])
    text = str(message.get("content") or "")
    refs = [p.ref() for p in photos]
    if sees_images:
        note = f"[The customer sent {len(photos)} photo(s) with this message{_described(refs)}.]"
        parts = [{"type": "text", "text": f"{text}\n\n{note}".strip()}]
        message["content"] = parts + [{"type": "image_url", "image_url": {"url": p.data_url()}} for p in photos]
    else:
        note = (f"[The customer sent {len(photos)} photo(s) with this message{_described(refs)}. This model cannot "
                "see photos: do not describe them. They are kept, and filed with a ticket when one is filed.]")
        message["content"] = f"{text}\n\n{note}".strip()
    return [*messages[:at], message, *messages[at + 1:]]


def history_text(content: str, refs: Sequence[dict[str, Any]] | None) -> str:
    """An earlier message's text for the model: its photos as a note, never their bytes."""
    if not refs:
        return content
    return f"{content}\n\n[The customer sent {len(refs)} photo(s) with this message{_described(refs)}.]".strip()
