"""messages sent exactly once: when a send's outcome became unknown, when it was first tried

Revision ID: 0006
Revises: 0005

Two nullable columns on outbox (no table rewrite, safe on a live state): `unsure_since`, set
while an attempt's outcome is not known (claimed and not yet recorded, or a timeout after the
provider may have accepted it), so the next attempt first asks the provider; and
`first_attempt_at`, from which KADAM_RETRY_HOURS counts.
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = storage.models.UTCDateTime


def upgrade() -> None:
    op.add_column("outbox", sa.Column("unsure_since", UTC(), nullable=True))
    op.add_column("outbox", sa.Column("first_attempt_at", UTC(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("first_attempt_at")
        batch.drop_column("unsure_since")
