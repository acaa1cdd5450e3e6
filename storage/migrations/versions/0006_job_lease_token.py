"""jobs.lease_token: each claim's token, so only the worker holding the lease records the outcome

Revision ID: 0006_job_lease_token
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_job_lease_token"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("lease_token")
