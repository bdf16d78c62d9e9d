"""The migrations build the schema the models describe, on SQLite and on PostgreSQL.

A column or index added to a model without a migration works in the tests' own tables but
breaks every deployment that runs `kadam db upgrade`; an edit to a migration that has already
run never reaches the databases it ran on. Both are caught here.
"""

from __future__ import annotations

import warnings

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from storage.conversations import pending_inbound
from storage.db import Database
from storage.migrate import alembic_config
from storage.models import Base, InboundMessage

# Indexes on expressions: SQLite's reflection cannot read them back, so they are checked by
# name below instead of by alembic's comparison.
EXPRESSION_INDEXES = {"ix_evidence_gallery", "ix_school_area_key"}


def test_the_migrated_schema_matches_the_models(db):
    with db.engine.connect() as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # alembic's notes about those expression indexes
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [
            d for d in compare_metadata(context, Base.metadata)
            if not (d[0] in ("add_index", "remove_index") and d[1].name in EXPRESSION_INDEXES)
        ]
    assert differences == []


def index_names(database: Database) -> set[str]:
    listing = ("SELECT name FROM sqlite_master WHERE type = 'index'" if database.is_sqlite
               else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    with database.engine.connect() as connection:
        return set(connection.scalars(text(listing)))


def upgrade_from_0002(database: Database, *statements: str) -> None:
    """Takes the database back to 0002, runs `statements` there (what a deployment at 0002
    held), then runs `kadam db upgrade`'s migrations."""
    from storage.migrate import upgrade

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLite's batch mode reflects expression indexes
            command.downgrade(alembic_config(database.url), "0002")
        with database.engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        upgrade(database.url)


def test_every_index_the_models_name_exists(db):
    wanted = {index.name for table in Base.metadata.sorted_tables for index in table.indexes}
    assert wanted - index_names(db) == set()


def test_migrations_form_one_line():
    """Each revision builds on the one before: one head, numbered without gaps."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    numbers = sorted(int(r.revision) for r in script.walk_revisions())
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_database_at_the_dashboard_release_upgrades_and_keeps_its_messages(db_url):
    """What `kadam db upgrade` does to a deployment made before the inbound queue: its
    messages stay, none of them is taken for one still waiting to be answered."""
    database = Database(db_url)
    upgrade_from_0002(
        database,
        "INSERT INTO inbound_message (sid, phone, channel, body, media, received_at) "
        "VALUES ('SMold', '+919822012345', 'whatsapp', 'ho gaya', '[]', '2026-11-20 10:00:00')")
    with database.sessions() as session:
        old = session.scalars(select(InboundMessage)).one()
        assert (old.sid, old.body, old.pending) == ("SMold", "ho gaya", False)
        assert pending_inbound(session, 10) == []
    database.dispose()


def test_a_database_from_the_development_build_of_0002_upgrades_too(db_url):
    """For a while 0002 itself added the pending column and its index; a database stamped
    0002 by that build must still reach the newest schema."""
    database = Database(db_url)
    upgrade_from_0002(
        database,
        "ALTER TABLE inbound_message ADD COLUMN pending BOOLEAN DEFAULT false NOT NULL",
        "CREATE INDEX ix_inbound_pending ON inbound_message (id) WHERE pending")
    indexes = index_names(database)
    database.dispose()
    assert {"ix_inbound_pending", "ix_outbox_replies_due"} <= indexes
