"""photos sent in chat: kept in their conversation until filed with a ticket

A photo a customer sends with a chat message is stored as a ticket attachment without a ticket
(`ticket_id` NULL) that belongs to its conversation and message; filing it sets the ticket.
The message keeps a reference (`messages.attachments`: id, type, size in pixels), never the bytes.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
    with op.batch_alter_table("ticket_attachments") as batch:
        batch.alter_column("ticket_id", existing_type=sa.String(length=40), nullable=True)
        batch.add_column(sa.Column("conversation_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("message_id", sa.String(length=40), nullable=True))
        batch.create_foreign_key(
            "fk_ticket_attachments_conversation_id", "conversations", ["conversation_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_ticket_attachments_conversation_id_id", ["conversation_id", "id"])


def downgrade() -> None:
    op.execute("DELETE FROM ticket_attachments WHERE ticket_id IS NULL")
    with op.batch_alter_table("ticket_attachments") as batch:
        batch.drop_index("ix_ticket_attachments_conversation_id_id")
        batch.drop_constraint("fk_ticket_attachments_conversation_id", type_="foreignkey")
        batch.drop_column("message_id")
        batch.drop_column("conversation_id")
        batch.alter_column("ticket_id", existing_type=sa.String(length=40), nullable=False)
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("attachments")
