"""Shared fixtures.

Every test that takes `db` runs on SQLite, and again on PostgreSQL when TEST_DATABASE_URL is
set (.ci/run sets it to a fresh database). The schema is built by the real Alembic migrations.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database, normalise_url
from storage.migrate import upgrade
from storage.models import Base

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def _sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "schema.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _pg_ready() -> str:
    assert PG_URL
    url = normalise_url(PG_URL)
    upgrade(url)
    return url


def _truncate_pg(database: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, migrated database, on each backend in turn."""
    if request.param == "sqlite":
        schema = request.getfixturevalue("_sqlite_schema")
        path = tmp_path / "kadam.db"
        shutil.copy(schema, path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_pg_ready")
        database = Database(url)
        _truncate_pg(database)
        database.dispose()
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A thread a test left running (a send pool blocked on a stand-in that never answers)
    must not keep the run from ending once every result is reported: CI would wait for it
    until its deadline. Say which, then end with pytest's own exit status."""
    import os
    import sys
    import threading

    left = [t.name for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if left and _exit_status:
        print(f"\nthreads left running by tests: {', '.join(sorted(set(left)))}",
              file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[0])
