"""guardrails: messages.guardrail and the guardrail_events table

Revision ID: 0006
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("guardrail", sa.JSON(), nullable=True))
    op.create_table(
        "guardrail_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("check", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("tool", sa.String(length=64), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_guardrail_events_user_id", "guardrail_events", ["user_id"])
    op.create_index("ix_guardrail_events_check_id", "guardrail_events", ["check", "id"])


def downgrade() -> None:
    op.drop_index("ix_guardrail_events_check_id", table_name="guardrail_events")
    op.drop_index("ix_guardrail_events_user_id", table_name="guardrail_events")
    op.drop_table("guardrail_events")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("guardrail")
