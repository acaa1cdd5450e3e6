"""persons: the table users is renamed persons (issue 8: one word per idea; a person is any Telegram user
the bot knows). Foreign keys to it follow the table on both databases; columns holding Telegram's user ids
(user_id, owner_id, customer_id) keep their names.

Revision ID: 0011_persons
Revises: 0010_customer_edits
"""

from alembic import op

revision = "0011_persons"
down_revision = "0010_customer_edits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table("users", "persons")


def downgrade() -> None:
    op.rename_table("persons", "users")
