"""jobs.chat_id: the chat a job writes to, indexed, so a claim finds a chat's pending jobs without reading
every pending job's payload

Revision ID: 0013_job_chat
Revises: 0012_card_shown
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_job_chat"
down_revision = "0012_card_shown"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch.create_index("ix_jobs_chat", ["chat_id", "status"])
    # Jobs queued before: their chat from the payload, where it is a number (as the bot writes it).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE jobs SET chat_id = (payload->>'chat_id')::bigint "
            "WHERE json_typeof(payload->'chat_id') = 'number'"
        )
    else:
        op.execute(
            "UPDATE jobs SET chat_id = json_extract(payload, '$.chat_id') "
            "WHERE json_type(payload, '$.chat_id') = 'integer'"
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_chat")
        batch.drop_column("chat_id")
