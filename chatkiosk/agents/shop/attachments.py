"""Photos on support tickets: filed by the ticket's owner, seen only by the owner and staff."""

from __future__ import annotations

from chatkiosk.agents.shop.photos import clean_image
from chatkiosk.agents.shop.service import ShopService
from chatkiosk.errors import Conflict, NotFound
from chatkiosk.store import attachments
from chatkiosk.store.attachments import TicketAttachment
from chatkiosk.store.db import Database


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
