"""kiosk orders

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosk_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=True),
        sa.Column("business_day", sa.String(length=10), nullable=False),
        sa.Column("order_number", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("dine", sa.String(length=16), nullable=True),
        sa.Column("payment", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_day", "order_number", name="uq_kiosk_orders_day_number"),
    )
    op.create_index("ix_kiosk_orders_user_id_id", "kiosk_orders", ["user_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_kiosk_orders_user_id_id", table_name="kiosk_orders")
    op.drop_table("kiosk_orders")
