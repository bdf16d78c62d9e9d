"""inbound messages answered after the webhook (KADAM_INBOUND=queue); replies claimed first

Revision ID: 0003
Revises: 0002

Written to be run on a live state: the column is added without rewriting the table, and on
PostgreSQL both indexes are built CONCURRENTLY, so webhooks and workers keep writing to
inbound_message and outbox while they are built. Each step is skipped where it is already
done: a development build of 0002 carried the column and its index for a while.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PENDING = sa.text("pending")
# The worker claims queued replies before bulk sends; only they are in this index. Its constant
# status column is for SQLite's planner, which without it prefers ix_outbox_due and walks a
# whole circular's rows to find the few replies.
REPLIES = sa.text("status = 'queued' AND in_reply_to IS NOT NULL")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "pending" not in {c["name"] for c in inspector.get_columns("inbound_message")}:
        # A constant default: SQLite takes a plain ADD COLUMN, PostgreSQL 11+ does not rewrite
        # the table (batch mode would copy a table of millions of messages).
        op.add_column("inbound_message", sa.Column("pending", sa.Boolean(), nullable=False,
                                                   server_default=sa.false()))
    _create_index("ix_inbound_pending", "inbound_message", ["id"], PENDING)
    _create_index("ix_outbox_replies_due", "outbox", ["status", "next_attempt_at"], REPLIES)


def _create_index(name: str, table: str, columns: list[str], where: sa.TextClause) -> None:
    if name in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}:
        return
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(name, table, columns, sqlite_where=where)
        return
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    with op.get_context().autocommit_block():
        op.create_index(name, table, columns, postgresql_where=where,
                        postgresql_concurrently=True)


def downgrade() -> None:
    op.drop_index("ix_outbox_replies_due", table_name="outbox")
    op.drop_index("ix_inbound_pending", table_name="inbound_message")
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("pending")
