"""Writes a checked roster into the database: schools first, then the people who work in them.

Every write is a set-based upsert (INSERT ... ON CONFLICT DO UPDATE) sent in chunks inside ONE
transaction, so a state's 100,000 headmasters load in seconds and a failure leaves nothing half
imported. Re-importing updates in place: schools are keyed by code, people by phone.
Beside the import, two reads of the roster stored: whether it is empty, and the languages
its people read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Person, School, utcnow

# Rows per statement batch; also how often the progress bar moves.
CHUNK = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class RosterSchool:
    """A school as the roster names it. A blank text field keeps what is already stored."""

    code: str
    name: str = ""
    district: str = ""
    block: str = ""
    cluster: str = ""
    state: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class RosterPerson:
    """A headmaster, BEO or state team member, keyed by E.164 phone; the file is the truth."""

    phone: str
    name: str
    role: str
    language: str = "en"
    second_language: str | None = None
    school_code: str | None = None
    district: str = ""
    block: str = ""
    channel: str = "whatsapp"
    sms_allowed: bool = True


@dataclass
class UpsertCounts:
    schools_created: int = 0
    schools_updated: int = 0
    people_created: Counter[str] = field(default_factory=Counter)  # by role
    people_updated: Counter[str] = field(default_factory=Counter)  # by role


def upsert(
    database: Database,
    schools: Sequence[RosterSchool],
    people: Sequence[RosterPerson],
    on_progress: Callable[[int], None] | None = None,
) -> UpsertCounts:
    """Creates or updates the schools, then the people, all or nothing; returns what changed.

    Every headmaster's school_code must be among `schools` or already stored.
    `on_progress(n)` is called after each chunk of n rows is written.
    """
    _require_unique([s.code for s in schools], "school code")
    _require_unique([p.phone for p in people], "phone")
    progress = on_progress or (lambda _n: None)
    insert = sqlite.insert if database.is_sqlite else postgresql.insert
    counts = UpsertCounts()
    now = utcnow()
    with database.transaction() as session:
        connection = session.connection()

        # Looking up what exists beforehand, inside the same transaction, is what lets the
        # summary say created versus updated on both databases (SQLite has no xmax trick).
        school_ids = _school_ids(connection, [s.code for s in schools])
        counts.schools_updated = len(school_ids)
        counts.schools_created = len(schools) - len(school_ids)
        school_upsert = _school_upsert(insert)
        for chunk in _chunks(schools):
            connection.execute(school_upsert, [_params(s) for s in chunk])
            progress(len(chunk))

        codes = {p.school_code for p in people if p.school_code}
        school_ids.update(_school_ids(connection, sorted(codes - school_ids.keys())))
        missing = codes - school_ids.keys()
        if missing:
            raise ValueError(f"unknown school codes: {', '.join(sorted(missing)[:10])}")

        stored_phones = _stored_phones(connection, [p.phone for p in people])
        for person in people:
            bucket = (
                counts.people_updated if person.phone in stored_phones else counts.people_created
            )
            bucket[person.role] += 1
        person_upsert = _person_upsert(insert)
        for person_chunk in _chunks(people):
            connection.execute(
                person_upsert, [_person_params(p, school_ids, now) for p in person_chunk]
            )
            progress(len(person_chunk))
    return counts


def is_empty(session: Session) -> bool:
    """Whether nobody is in the roster yet."""
    return not session.scalar(select(func.count()).select_from(Person))


def languages(session: Session) -> list[str]:
    """Every language someone in the roster reads, once each, in no particular order."""
    return list(session.scalars(select(Person.language).distinct()))


def existing_school_codes(database: Database, codes: Iterable[str]) -> set[str]:
    """The given school codes that are already stored (a known school may omit its name)."""
    with database.sessions() as session:
        return set(_school_ids(session.connection(), list(codes)))


def _school_upsert(insert: Any) -> Any:
    stmt = insert(School)

    def keep_when_blank(name: str) -> Any:
        # A headmaster row may leave school details blank for a school already stored;
        # blank must not wipe them.
        return func.coalesce(func.nullif(stmt.excluded[name], ""), School.__table__.c[name])

    columns = ("name", "district", "block", "cluster", "state", "timezone")
    return stmt.on_conflict_do_update(
        index_elements=[School.code], set_={name: keep_when_blank(name) for name in columns}
    )


def _person_upsert(insert: Any) -> Any:
    stmt = insert(Person)
    # created_at, opted_out_at and last_inbound_at are left alone: re-importing a roster must
    # never re-subscribe someone who opted out.
    columns = tuple(
        "name role language second_language school_id district block channel sms_allowed"
        " updated_at".split()
    )
    return stmt.on_conflict_do_update(
        index_elements=[Person.phone], set_={name: stmt.excluded[name] for name in columns}
    )


def _person_params(person: RosterPerson, school_ids: dict[str, int], now: Any) -> dict[str, Any]:
    params = _params(person)
    code = params.pop("school_code")
    params["school_id"] = school_ids[code] if code else None
    params["created_at"] = params["updated_at"] = now
    return params


def _params(entry: RosterSchool | RosterPerson) -> dict[str, Any]:
    # vars() rather than dataclasses.asdict, which deep-copies and costs seconds at 100,000 rows.
    return dict(vars(entry))


def _stored_phones(connection: Connection, phones: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(phones):
        found.update(connection.scalars(select(Person.phone).where(Person.phone.in_(chunk))))
    return found


def _school_ids(connection: Connection, codes: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(codes):
        query = select(School.code, School.id).where(School.code.in_(chunk))
        ids.update({code: id_ for code, id_ in connection.execute(query)})
    return ids


def _require_unique(keys: list[str], what: str) -> None:
    # A repeated key would let one entry silently overwrite another and skew the counts; the
    # caller decides which entry is right (bot.sheets.roster reports duplicate phones as errors).
    repeated = [key for key, n in Counter(keys).items() if n > 1]
    if repeated:
        raise ValueError(f"each {what} must appear once: {', '.join(repeated[:10])}")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
