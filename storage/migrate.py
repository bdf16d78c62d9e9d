"""`kadam db upgrade`: Alembic migrations, configured in code so no alembic.ini is needed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.db import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; URLs may contain encoded characters.
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def is_current(url: str) -> bool:
    """Whether the database's schema is at the newest migration. Raises sqlalchemy's
    OperationalError when the database cannot be reached."""
    return schema_state(url).is_current


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against this release's migrations."""

    current: str | None  # None: no schema at all
    head: str
    known: bool  # whether `current` is one of this release's migrations

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def schema_state(url: str, connect_timeout: int = 10) -> SchemaState:
    """Connects (giving up after `connect_timeout` seconds) and reads the schema's revision.
    Raises sqlalchemy's OperationalError when the database cannot be reached."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    url = normalise_url(url)
    scripts = ScriptDirectory.from_config(alembic_config(url))
    head = scripts.get_current_head()
    assert head is not None, "the release has no migrations"
    connect_args = ({"timeout": connect_timeout} if url.startswith("sqlite")
                    else {"connect_timeout": connect_timeout})
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    known = current is None or any(s.revision == current for s in scripts.walk_revisions())
    return SchemaState(current, head, known)


def revision(url: str, message: str) -> None:
    """For developers: autogenerate a migration from the models."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
