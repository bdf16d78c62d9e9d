"""Due work as queries over indexed due times: the clock never holds a job per headmaster.

Each query walks one index (task.prompt_at, task.next_reminder_at, project.lapse_at,
project.invitation_reminder_at) over rows whose time has come. Those columns are cleared once
acted on, so with nothing due every query is an empty index range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows.events import Invitation, Lapse, Reminder, TaskDue
from storage.db import among
from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_INVITED,
    PROJECT_STARTED,
    TASK_IN_PROGRESS,
    TASK_NOT_STARTED,
    Person,
    Project,
    School,
    Task,
)
from storage.schedule import DigestTime, QuietHours, local_date, next_digest_time, zone

RUNNING = (PROJECT_STARTED, PROJECT_IN_PROGRESS)
OPEN = (TASK_NOT_STARTED, TASK_IN_PROGRESS)
CHUNK = 5000  # ids per IN list


def task_prompts(session: Session, now: dt.datetime, default_tz: str, quiet: QuietHours
                 ) -> list[tuple[int, TaskDue]]:
    """Tasks whose day has come: the first per project, at most one new prompt a project a day,
    none in the recipient's quiet hours."""
    rows = session.execute(
        select(Task.id, Task.project_id, Project.headmaster_id, School.timezone)
        .join(Project, Project.id == Task.project_id)
        .join(Person, Person.id == Project.headmaster_id)
        .join(School, School.id == Project.school_id)
        .where(Task.prompt_at <= now, Task.status.in_(OPEN), Project.status.in_(RUNNING),
               Person.opted_out_at.is_(None))
        .order_by(Task.project_id, Task.position)
    ).all()
    first: dict[int, Any] = {}
    for row in rows:
        first.setdefault(row.project_id, row)
    last_prompt = _last_prompts(session, list(first))
    due = []
    for project_id, row in first.items():
        timezone = row.timezone or default_tz
        if quiet.is_quiet(_local_time(now, timezone)):
            continue
        last = last_prompt.get(project_id)
        if last is not None and local_date(last, timezone) == local_date(now, timezone):
            continue
        due.append((row.headmaster_id, TaskDue(project_id, row.id)))
    return due


def reminders(session: Session, now: dt.datetime, default_tz: str, quiet: QuietHours
              ) -> list[tuple[int, Reminder]]:
    """Asked-about tasks with no answer whose next nudge is due, unless the person paused."""
    rows = session.execute(
        select(Task.id, Task.project_id, Project.headmaster_id, School.timezone)
        .join(Project, Project.id == Task.project_id)
        .join(Person, Person.id == Project.headmaster_id)
        .join(School, School.id == Project.school_id)
        .where(Task.next_reminder_at <= now, Task.status.in_(OPEN),
               Project.status.in_(RUNNING), Person.opted_out_at.is_(None),
               Person.paused_until.is_(None) | (Person.paused_until <= now))
        .order_by(Task.project_id, Task.position)
    ).all()
    return [
        (row.headmaster_id, Reminder(row.project_id, row.id))
        for row in rows
        if not quiet.is_quiet(_local_time(now, row.timezone or default_tz))
    ]


def lapses(session: Session, now: dt.datetime) -> list[tuple[int, Lapse]]:
    rows = session.execute(
        select(Project.id, Project.headmaster_id)
        .where(Project.lapse_at <= now, Project.status.in_(RUNNING))
        .order_by(Project.id)
    ).all()
    return [(row.headmaster_id, Lapse(row.id)) for row in rows]


def invitation_reminders(session: Session, now: dt.datetime, default_tz: str,
                         quiet: QuietHours) -> list[tuple[int, Invitation]]:
    """Invitations with no answer after a few days, sent once more."""
    rows = session.execute(
        select(Project.id, Project.headmaster_id, School.timezone)
        .join(Person, Person.id == Project.headmaster_id)
        .join(School, School.id == Project.school_id)
        .where(Project.invitation_reminder_at <= now, Project.status == PROJECT_INVITED,
               Project.deferred_at.is_(None), Person.opted_out_at.is_(None))
        .order_by(Project.id)
    ).all()
    return [
        (row.headmaster_id, Invitation(row.id, again=True))
        for row in rows
        if not quiet.is_quiet(_local_time(now, row.timezone or default_tz))
    ]


def _last_prompts(session: Session, project_ids: list[int]) -> dict[int, dt.datetime]:
    found: dict[int, dt.datetime] = {}
    for chunk in _chunks(project_ids):
        found.update(session.execute(  # type: ignore[arg-type]
            select(Task.project_id, func.max(Task.prompted_at))
            .where(among(session, Task.project_id, chunk), Task.prompted_at.is_not(None))
            .group_by(Task.project_id)
        ).all())
    return found


def _local_time(now: dt.datetime, timezone: str) -> dt.time:
    return now.astimezone(zone(timezone)).time().replace(tzinfo=None)


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def officers_due_a_digest(session: Session, now: dt.datetime, default_tz: str,
                          when: DigestTime) -> list[Person]:
    """Officers whose weekly digest is due; newcomers get their first digest time set (`when`,
    KADAM_DIGEST_TIME, in `default_tz`)."""
    newcomers = session.scalars(select(Person).where(
        Person.role.in_(("beo", "deo")), Person.next_digest_at.is_(None))).all()
    for person in newcomers:
        person.next_digest_at = next_digest_time(now, default_tz, when)
    return list(session.scalars(select(Person).where(
        Person.role.in_(("beo", "deo")), Person.next_digest_at <= now,
        Person.opted_out_at.is_(None)).order_by(Person.id)))
