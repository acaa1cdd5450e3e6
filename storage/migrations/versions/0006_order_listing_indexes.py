"""orders: indexes for a customer's orders newest first, and for busy intervals (orders ending after a time)

Revision ID: 0006
Revises: 0006_job_lease_token
"""

from alembic import op

revision = "0006"
down_revision = "0006_job_lease_token"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_customer_start", "orders", ["customer_id", "start_at"])
    op.create_index("ix_orders_owner_end", "orders", ["owner_id", "end_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_owner_end", table_name="orders")
    op.drop_index("ix_orders_customer_start", table_name="orders")
