"""When a school was last heard from, and which projects are silent: the one rule behind the
officers' digest and nudge, the dashboard and the exports.

A headmaster is heard from whenever they write anything at all ("status", "menu", a photo, a
word Kadam did not understand), not only when a task changes: every inbound message sets
Person.last_inbound_at. A project also counts from its invitation and its start, so a school
invited yesterday is not silent. A waiting or running project is silent when nothing of these
happened in the last SILENT_AFTER.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import aliased

from storage.models import PROJECT_ACTIVE, Person, Project, UTCDateTime

SILENT_AFTER = dt.timedelta(days=7)

# The project's own headmaster, under a name of its own, so that a query which also joins
# Person (for the headmaster's name, say) is not confused with this lookup.
_WRITER = aliased(Person, name="heard_from")


def last_heard(wrote_at: dt.datetime | None, project: Any) -> dt.datetime | None:
    """When the project's school was last heard from: the latest of the headmaster's last
    message and the project's last reply, start and invitation (None when none of them)."""
    times = [t for t in (wrote_at, project.last_reply_at, project.started_at,
                         project.invited_at) if t is not None]
    return max(times) if times else None


def is_silent(status: str, heard: dt.datetime | None, now: dt.datetime) -> bool:
    return status in PROJECT_ACTIVE and (heard is None or heard < now - SILENT_AFTER)


def headmaster_wrote_at() -> Any:
    """The project's headmaster's last message, as a correlated subquery (for queries that do
    not join the headmaster themselves)."""
    return (select(_WRITER.last_inbound_at).where(_WRITER.id == Project.headmaster_id)
            .correlate(Project).scalar_subquery())


def heard(wrote_at: Any = None) -> Any:
    """last_heard in SQL. `wrote_at`: the headmaster's last_inbound_at column where the query
    joins the headmaster already; otherwise it is looked up."""
    wrote = headmaster_wrote_at() if wrote_at is None else wrote_at
    own = func.coalesce(Project.last_reply_at, Project.started_at, Project.invited_at)
    # GREATEST skips NULLs on PostgreSQL but SQLite's max() returns NULL: spelled out instead.
    return type_coerce(case((wrote > own, wrote), else_=func.coalesce(own, wrote)),
                       UTCDateTime())


def silent_condition(now: dt.datetime, wrote_at: Any = None) -> Any:
    """is_silent in SQL: a waiting or running project with none of its times (heard) since
    SILENT_AFTER ago. Written as "nothing since" rather than on heard(), so each time is
    compared on its own and a query never computes the greatest of them for every row.
    `wrote_at`: the headmaster's last_inbound_at where the query joins the headmaster already;
    otherwise those who wrote lately are looked up once (a hashed subplan on PostgreSQL), not
    once a row: a campaign page counts 100,000 projects (bench/dashboard.py)."""
    since = literal(now - SILENT_AFTER, UTCDateTime())
    times = [Project.last_reply_at, Project.started_at, Project.invited_at]
    recent = [and_(t.is_not(None), t >= since) for t in times]
    if wrote_at is None:
        recent.append(Project.headmaster_id.in_(
            select(_WRITER.id).where(_WRITER.last_inbound_at >= since)))
    else:
        recent.append(and_(wrote_at.is_not(None), wrote_at >= since))
    return Project.status.in_(PROJECT_ACTIVE) & ~or_(*recent)
