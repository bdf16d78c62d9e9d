"""dashboard: users, failed sign-ins, celebration picks, indexes for its pages and the clock

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "admin_user",
        sa.Column("id", ID, nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("last_login_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("signed_out_at", storage.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", ID, nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_attempt_at", "login_attempt", ["at"])
    op.create_index("ix_person_role", "person", ["role"])
    op.create_index("ix_school_area_key", "school",
                    [sa.text("lower(trim(district))"), sa.text("lower(trim(block))")])
    failed = sa.text("status IN ('failed', 'undelivered')")
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"],
                    postgresql_include=["status", "error_code", "person_id", "project_id"])
    op.create_index("ix_outbox_failed", "outbox", ["created_at"],
                    postgresql_include=["person_id", "error_code", "project_id"],
                    postgresql_where=failed, sqlite_where=failed)
    photos = sa.text("status = 'stored' AND kind = 'photo'")
    op.create_index("ix_evidence_gallery", "evidence",
                    [sa.text("created_at DESC"), sa.text("id DESC")],
                    postgresql_where=photos, sqlite_where=photos)
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("picked_at", storage.models.UTCDateTime(), nullable=True))
    with op.batch_alter_table("project") as batch:
        batch.add_column(sa.Column("story_picked_at", storage.models.UTCDateTime(),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.drop_column("story_picked_at")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("picked_at")
    op.drop_index("ix_evidence_gallery", table_name="evidence")
    op.drop_index("ix_outbox_failed", table_name="outbox")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
    op.drop_index("ix_school_area_key", table_name="school")
    op.drop_index("ix_person_role", table_name="person")
    op.drop_index("ix_login_attempt_at", table_name="login_attempt")
    op.drop_table("login_attempt")
    op.drop_table("admin_user")
