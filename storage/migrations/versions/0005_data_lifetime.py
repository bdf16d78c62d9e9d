"""personal data with a lifetime: purge marks, a purge log, disabled dashboard users

Revision ID: 0005
Revises: 0004

Written to be run on a live state: two nullable columns (no table rewrite), a new table, and
on PostgreSQL the indexes on inbound_message and evidence are built CONCURRENTLY, so webhooks
and workers keep writing while they are built.
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = storage.models.UTCDateTime
# Purged or rejected evidence whose file is still to be deleted (as in storage/models.py).
FILES_TO_REMOVE = sa.text("path IS NOT NULL AND status IN ('purged', 'rejected')")


def upgrade() -> None:
    op.add_column("campaign", sa.Column("purged_through", UTC(), nullable=True))
    op.add_column("admin_user", sa.Column("disabled_at", UTC(), nullable=True))
    op.create_table(
        "purge_run",
        sa.Column("id", ID, nullable=False),
        sa.Column("ran_at", UTC(), nullable=False),
        sa.Column("cutoff", UTC(), nullable=False),
        sa.Column("unknown_cutoff", UTC(), nullable=False),
        sa.Column("campaigns", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.Integer(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_inbound_received_at", "inbound_message", ["received_at"])
    _create_index("ix_evidence_path", "evidence", ["path"])
    _create_index("ix_evidence_files_to_remove", "evidence", ["id"], FILES_TO_REMOVE)


def _create_index(name: str, table: str, columns: list[str],
                  where: sa.TextClause | None = None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(name, table, columns, sqlite_where=where)
        return
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    with op.get_context().autocommit_block():
        op.create_index(name, table, columns, postgresql_where=where,
                        postgresql_concurrently=True)


def downgrade() -> None:
    op.drop_index("ix_evidence_files_to_remove", table_name="evidence")
    op.drop_index("ix_evidence_path", table_name="evidence")
    op.drop_index("ix_inbound_received_at", table_name="inbound_message")
    op.drop_table("purge_run")
    with op.batch_alter_table("admin_user") as batch:
        batch.drop_column("disabled_at")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("purged_through")
