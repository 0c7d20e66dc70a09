"""External conversation ids: a client's own chat id bound to one of its caller's conversations.

A client that keeps its own chat ids (Open WebUI's chat id, a LangChain session id) names the
conversation with that id; the first call with an id the caller has not used creates the
conversation and the binding. Bindings are keyed by (user, external id): the same external id
of two users names two conversations, and no binding ever reaches another user's conversation.
An id with our prefix (`conv_…`) is never an external id: it names a conversation directly,
so another user's conversation id, or one that does not exist, stays a 404 (SECURITY 13).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from chatkiosk.store import conversations
from chatkiosk.store.db import Database
from chatkiosk.store.tables import Base, utcnow

OUR_PREFIX = "conv_"


class ConversationBinding(Base):
    """One user's external id for one of their conversations."""

    __tablename__ = "conversation_bindings"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def resolve(db: Database, user_id: str, binding: str, agent: str) -> str:
    """The id of the caller's conversation that `binding` names, created (with `agent`) on the
    first use of an external id. A `conv_…` id is returned as it is: the turn checks ownership."""
    if binding.startswith(OUR_PREFIX):
        return binding
    async with db.read() as session:
        found = await session.get(ConversationBinding, (user_id, binding))
        if found is not None:
            return found.conversation_id
    try:
        async with db.write() as session:
            conv = await conversations.create(session, user_id=user_id, agent=agent, title="", metadata={"external_id": binding})
            session.add(ConversationBinding(user_id=user_id, external_id=binding, conversation_id=conv.id))
            await session.flush()
            return conv.id
    except IntegrityError:  # another call created it at the same moment: use theirs
        async with db.read() as session:
            row = await session.execute(
                select(ConversationBinding.conversation_id).where(
                    ConversationBinding.user_id == user_id, ConversationBinding.external_id == binding)
            )
            return row.scalar_one()
