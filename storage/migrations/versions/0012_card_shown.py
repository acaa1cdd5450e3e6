"""order_messages.shown: a fingerprint of what each order card shows, so unchanged cards get no edit

Revision ID: 0012_card_shown
Revises: 0011_persons
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_card_shown"
down_revision = "0011_persons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_messages") as batch:
        batch.add_column(sa.Column("shown", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_messages") as batch:
        batch.drop_column("shown")
