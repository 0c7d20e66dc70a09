"""What tools may use, typed: the deps object every `ToolContext` carries (as pydantic-ai's
`RunContext.deps`). The runtime builds one and passes it down; a tool never digs into the
server for anything else.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chatkiosk.agents.confirm import ConfirmationGate
    from chatkiosk.agents.kiosk.service import KioskService
    from chatkiosk.agents.shop.attachments import TicketPhotos
    from chatkiosk.agents.shop.service import ShopService
    from chatkiosk.knowledge.snippets import SnippetBook
    from chatkiosk.store.db import Database


class KnowledgeBase(Protocol):
    """Passages a user may read, ranked for a query."""

    def search(self, *, user_id: str, query: str, top_k: int) -> Awaitable[list[dict[str, Any]]] | list[dict[str, Any]]:
        """Up to `top_k` passages of documents `user_id` may read."""
        ...


@dataclass(slots=True)
class ToolDeps:
    """The parts of the server tools use; `None` where this server has none."""

    db: Database | None = None
    kiosk: KioskService | None = None
    shop: ShopService | None = None
    confirmations: ConfirmationGate | None = None  # for agents that ask for confirmations themselves
    knowledge: KnowledgeBase | None = None
    snippets: SnippetBook | None = None
    ticket_photos: TicketPhotos | None = None  # photos filed with tickets (the shop)
