"""the learning loop: replies not understood or undone, phrases taught, change stamps

Revision ID: 0004
Revises: 0003

Three new tables and their indexes: nothing existing is rewritten or locked, so it runs on a
live state.
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = storage.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "unread_reply",
        sa.Column("id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("inbound_id", ID, nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalised", sa.String(length=255), nullable=False),
        sa.Column("read", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("campaign_id", ID, nullable=True),
        sa.Column("project_id", ID, nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_message.id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_unread_reply_group", "unread_reply",
                    ["language", "normalised", "created_at"])
    op.create_index("ix_unread_reply_campaign", "unread_reply",
                    ["campaign_id", "language", "normalised", "created_at"])
    op.create_table(
        "taught_phrase",
        sa.Column("id", ID, nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("phrase", sa.String(length=255), nullable=False),
        sa.Column("normalised", sa.String(length=255), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=False),
        sa.Column("taught_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("language", "normalised"),
    )
    op.create_table(
        "change_stamp",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("changed_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("change_stamp")
    op.drop_table("taught_phrase")
    op.drop_index("ix_unread_reply_campaign", table_name="unread_reply")
    op.drop_index("ix_unread_reply_group", table_name="unread_reply")
    op.drop_table("unread_reply")
