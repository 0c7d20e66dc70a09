"""Photos on support tickets: filed by the ticket's owner, seen only by the owner and staff.

A photo arrives uploaded to a ticket (`attach`), or sent in chat (chat/photos.py) and filed by
the shop agent (`file_sent`): the photos the customer sent in the conversation that no ticket has
yet, or — in a turn with no conversation — the turn's own photos, stored only once filed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chatkiosk.agents.shop.photos import clean_image
from chatkiosk.agents.shop.service import ShopService
from chatkiosk.errors import Conflict, NotFound
from chatkiosk.store import attachments
from chatkiosk.store.attachments import TicketAttachment
from chatkiosk.store.db import Database


@dataclass(slots=True)
class Filed:
    """Which photos were filed with a ticket, and how many did not fit its limit."""

    ticket_id: str
    ids: list[str] = field(default_factory=list)
    over_limit: int = 0

    def as_result(self) -> dict[str, Any]:
        """As the model sees it in a tool result."""
        return {"filed": self.ids, "over_limit": self.over_limit}


class TicketPhotos:
    """Attach, list and read a ticket's photos. `viewer_id=None` is staff (any ticket)."""

    def __init__(self, db: Database, shop: ShopService, *, max_bytes: int, max_pixels: int, per_ticket: int) -> None:
        self.db = db
        self.shop = shop
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.per_ticket = per_ticket

    async def attach(self, owner_id: str, ticket_id: str, data: bytes) -> TicketAttachment:
        """Clean the photo and file it with the owner's ticket (404 for anyone else's)."""
        ticket = await self.shop.get_ticket(owner_id, ticket_id)
        image = clean_image(data, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        async with self.db.write() as session:
            if await attachments.count(session, ticket.id) >= self.per_ticket:
                raise Conflict(f"a ticket takes at most {self.per_ticket} photos", code="too_many_attachments")
            row = attachments.build(
                ticket_id=ticket.id, user_id=ticket.user_id, content_type=image.content_type, data=image.data,
                width=image.width, height=image.height, sha256=image.sha256,
            )
            session.add(row)
        return row

    async def file_sent(self, owner_id: str, ticket_id: str, conversation_id: str | None, photos: Sequence[Any]) -> Filed:
        """File the photos the owner sent in chat with their ticket (404 for anyone else's ticket).

        In a conversation: every photo sent there that has no ticket yet (the turn's own are
        stored already). Without one: the turn's `photos` (chat.photos.ChatPhoto), stored now.
        """
        ticket = await self.shop.get_ticket(owner_id, ticket_id)
        async with self.db.write() as session:
            room = max(self.per_ticket - await attachments.count(session, ticket.id), 0)
            if conversation_id is not None:
                waiting = [row.id for row in await attachments.unfiled(session, conversation_id, owner_id)]
                await attachments.file(session, waiting[:room], ticket.id)
            else:
                waiting = [p.id for p in photos]
                session.add_all([p.row(user_id=owner_id, conversation_id=None, message_id=None, ticket_id=ticket.id) for p in photos[:room]])
        return Filed(ticket.id, waiting[:room], max(len(waiting) - room, 0))

    async def read_sent(self, owner_id: str, conversation_id: str, attachment_id: str) -> TicketAttachment:
        """A photo the owner sent in one of their conversations, with its bytes; NotFound otherwise."""
        async with self.db.read() as session:
            row = await attachments.sent_with_data(session, conversation_id, owner_id, attachment_id)
        if row is None:
            raise NotFound("no such attachment")
        return row

    async def list(self, viewer_id: str | None, ticket_id: str) -> list[TicketAttachment]:
        """The ticket's photos, without their bytes."""
        ticket = await self.shop.get_ticket(viewer_id, ticket_id)
        async with self.db.read() as session:
            return await attachments.for_ticket(session, ticket.id)

    async def read(self, viewer_id: str | None, ticket_id: str, attachment_id: str) -> TicketAttachment:
        """One photo with its bytes; NotFound unless the viewer may see the ticket."""
        ticket = await self.shop.get_ticket(viewer_id, ticket_id)
        async with self.db.read() as session:
            row = await attachments.get_with_data(session, ticket.id, attachment_id)
        if row is None:
            raise NotFound("no such attachment")
        return row
