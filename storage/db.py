"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Engine, any_, bindparam, create_engine, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///kadam.db"  # DATABASE_URL's default (bot/config.py)


def among(session: Session, column: Any, ids: Iterable[int]) -> Any:
    """`column IN ids` for the long id lists of bulk work. On PostgreSQL it is one array
    parameter (`= ANY(:ids)`): SQLAlchemy renders an IN list one placeholder per id, which
    for a batch of 1,000 people costs more than the query it sends."""
    ids = list(ids)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(BigInteger)))
    return column.in_(ids)


def normalise_url(url: str) -> str:
    """Accept the URL forms hosting platforms hand out and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               hide_parameters=True)
        _tune_sqlite(engine)
        return engine
    # hide_parameters: an error never carries a statement's values (phones, messages) into
    # the logs.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         hide_parameters=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin, so that every
        # transaction can start with BEGIN IMMEDIATE: two writers then queue on the lock
        # instead of one failing with "database is locked" half-way through.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory; the app, the worker and the CLI each hold one.

    The URL comes from the caller: Settings.database_url (DATABASE_URL, default
    DEFAULT_DATABASE_URL) in the processes, a test's own database in the tests."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together or not at all."""
        with self.sessions() as session, session.begin():
            yield session

    def analyze(self, *tables: str) -> None:
        """Fresh planner statistics after a bulk insert, on PostgreSQL. The worker's claim is
        planned by them: straight after a launch of 5,000 invitations, before autovacuum has
        analysed the outbox, each claim took 0.9 s instead of 0.01 s (docs/benchmarks.md).
        ANALYZE samples a fixed number of rows, so this stays cheap for a state."""
        if self.is_sqlite or not tables:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(text("ANALYZE " + ", ".join(tables)))
        except DBAPIError:
            # The rows are committed already: a launch must not look failed (and be run
            # again) for want of statistics, which autovacuum will gather anyway.
            log.warning("ANALYZE %s failed", ", ".join(tables), exc_info=True)

    def dispose(self) -> None:
        self.engine.dispose()


def unreachable(error: BaseException) -> bool:
    """Whether an error says the database cannot be reached (down, restarting, out of
    connections, a connection cut or locked too long), rather than a bug or bad data."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)
