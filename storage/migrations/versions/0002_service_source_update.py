"""services.source_update: the update that created a service, so a replayed update does not add another

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
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_update", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint("uq_services_source_update", ["source_update"])


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_constraint("uq_services_source_update", type_="unique")
        batch_op.drop_column("source_update")
