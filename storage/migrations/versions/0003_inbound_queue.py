"""inbound messages answered after the webhook (KADAM_INBOUND=queue); replies claimed first

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default (SQLite takes it too, and PostgreSQL 11+ does
    # not rewrite the table): batch mode would copy a table of millions of messages.
    op.add_column("inbound_message", sa.Column("pending", sa.Boolean(), nullable=False,
                                               server_default=sa.false()))
    pending = sa.text("pending")
    op.create_index("ix_inbound_pending", "inbound_message", ["id"],
                    postgresql_where=pending, sqlite_where=pending)
    # The worker claims queued replies before bulk sends; only they are in this index. Its
    # constant status column is for SQLite's planner, which without it prefers ix_outbox_due
    # and walks a whole circular's rows to find the few replies.
    replies = sa.text("status = 'queued' AND in_reply_to IS NOT NULL")
    op.create_index("ix_outbox_replies_due", "outbox", ["status", "next_attempt_at"],
                    postgresql_where=replies, sqlite_where=replies)


def downgrade() -> None:
    op.drop_index("ix_outbox_replies_due", table_name="outbox")
    op.drop_index("ix_inbound_pending", table_name="inbound_message")
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("pending")
