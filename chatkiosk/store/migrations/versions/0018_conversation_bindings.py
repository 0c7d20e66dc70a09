"""conversation bindings (a client's own chat id → a conversation)

Revision ID: 0018
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_bindings",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "external_id"),
    )
    op.create_index("ix_conversation_bindings_conversation_id", "conversation_bindings", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_bindings_conversation_id", table_name="conversation_bindings")
    op.drop_table("conversation_bindings")
