"""Whether the database answers: the web process's health check (/healthz)."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import Database


def ping(database: Database) -> None:
    """One round trip on a pooled connection; raises whatever the driver raises when the
    database is down, restarting or out of connections."""
    with database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
