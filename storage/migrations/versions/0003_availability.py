"""availability: owners' weekly hours and days off, each service's booking rules, orders for a client,
and the host's Zoom meeting settings

Existing owners get Mon–Fri 09:00–18:00 and existing services the defaults (step 30 min, no buffer,
no notice, 14 days ahead, changes any time; their reminder offsets come from 0004). Orders are untouched.

Revision ID: 0003
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0006"
branch_labels = None
depends_on = None

DEFAULT_HOURS = "[[[540, 1080]], [[540, 1080]], [[540, 1080]], [[540, 1080]], [[540, 1080]], [], []]"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hours", sa.JSON(), nullable=False, server_default=DEFAULT_HOURS))
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step_min", sa.Integer(), nullable=False, server_default="30"))
        batch_op.add_column(sa.Column("buffer_min", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("notice_min", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("horizon_days", sa.Integer(), nullable=False, server_default="14"))
        batch_op.add_column(sa.Column("changes_min", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("hours", sa.JSON(), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_name", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("invite_code", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_orders_invite_code", ["invite_code"])
    with op.batch_alter_table("zoom_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_defaults", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("settings_read_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "days_off",
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("owner_id", "day"),
    )


def downgrade() -> None:
    op.drop_table("days_off")
    with op.batch_alter_table("zoom_connections", schema=None) as batch_op:
        batch_op.drop_column("settings_read_at")
        batch_op.drop_column("meeting_defaults")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("uq_orders_invite_code", type_="unique")
        batch_op.drop_column("invite_code")
        batch_op.drop_column("client_name")
    with op.batch_alter_table("services", schema=None) as batch_op:
        for column in (
            "hours",
            "changes_min",
            "horizon_days",
            "notice_min",
            "buffer_min",
            "step_min",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("hours")
