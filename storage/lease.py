"""Which clock process is the active one (bot/clock/clock.py decides when to ask).

On PostgreSQL the active clock holds an advisory lock on a connection of its own: if the
process dies, the server drops the connection and the lock with it. On SQLite, which has no
such lock, it holds a lease row that it renews before the lease runs out.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, text, update
from sqlalchemy.dialects import sqlite

from storage.db import Database
from storage.models import ClockLease

ADVISORY_LOCK = 0x4B4144414D  # "KADAM"
LEASE_NAME = "clock"


def renew_lease(database: Database, holder: str, now: dt.datetime,
                lease: dt.timedelta) -> bool:
    """Takes the SQLite lease row for `holder`, or renews it, until `now` + `lease`; False
    when another holder's lease has not run out yet."""
    expires = now + lease
    with database.transaction() as session:
        session.execute(
            sqlite.insert(ClockLease)
            .values(name=LEASE_NAME, holder=holder, expires_at=expires)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        taken = session.execute(
            update(ClockLease)
            .where(ClockLease.name == LEASE_NAME,
                   (ClockLease.holder == holder) | (ClockLease.expires_at < now))
            .values(holder=holder, expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(taken, "rowcount", 0))


def release_lease(database: Database, holder: str) -> None:
    """Gives the SQLite lease up at once, if `holder` has it: a standby takes it at its next
    look instead of waiting for it to run out."""
    with database.transaction() as session:
        session.execute(
            delete(ClockLease)
            .where(ClockLease.name == LEASE_NAME, ClockLease.holder == holder)
            .execution_options(synchronize_session=False)
        )


def take_advisory_lock(database: Database) -> Connection | None:
    """A connection of its own that holds the PostgreSQL advisory lock, or None when another
    process holds it. The lock lasts as long as the connection: keep it open to keep leading."""
    connection = database.engine.connect()
    # Out of the pool: closing it must really end the session, and the lock with it.
    connection.detach()
    got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                             {"key": ADVISORY_LOCK}).scalar()
    connection.commit()
    if got:
        return connection
    connection.close()
    return None


def check_advisory_lock(connection: Connection) -> None:
    """Raises when the lock's connection is broken (and the lock is gone with it)."""
    connection.execute(text("SELECT 1"))


def release_advisory_lock(connection: Connection) -> None:
    """Gives the lock up at once; the caller still closes the connection."""
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK})
    connection.commit()
