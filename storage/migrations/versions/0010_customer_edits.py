"""customer_edits: each change a customer made to an owner's order, for the per-customer edit limit

Revision ID: 0010_customer_edits
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_customer_edits"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_edits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_customer_edits_owner_customer_at", "customer_edits", ["owner_id", "customer_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_customer_edits_owner_customer_at", table_name="customer_edits")
    op.drop_table("customer_edits")
