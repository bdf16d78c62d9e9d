"""Rows for the state team's spreadsheets: one per project (progress), one per outbound
message (what was sent, how, and what became of it).

Counts come from aggregate subqueries joined once (not a query per project), and rows stream
from the database in batches, so a state's 100,000 projects export in constant memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import (
    TASK_COMPLETED,
    Campaign,
    Evidence,
    Outbox,
    Person,
    Project,
    School,
    Task,
    Template,
)

PROJECT_COLUMNS = (
    "campaign",
    "template",
    "district",
    "block",
    "school_code",
    "school_name",
    "headmaster",
    "phone",
    "status",
    "tasks_done",
    "tasks_total",
    "evidence_count",
    "started_at",
    "completed_at",
    "last_reply_at",
)
MESSAGE_COLUMNS = (
    "created_at",
    "phone",
    "name",
    "role",
    "school_code",
    "district",
    "block",
    "key",
    "channel",
    "form",
    "status",
    "error_code",
    "error_message",
    "sent_at",
    "status_at",
)
BATCH = 2000  # rows fetched from the database at a time


def project_rows(session: Session, campaign_id: int | None = None) -> Iterator[tuple[Any, ...]]:
    """One tuple per project in PROJECT_COLUMNS order, by campaign then project id.

    Counts are ints; times are ISO 8601 UTC text ('' when not yet), the same in CSV and XLSX.
    """
    tasks = (
        select(
            Task.project_id,
            func.count().label("total"),
            func.sum(case((Task.status == TASK_COMPLETED, 1), else_=0)).label("done"),
        )
        .group_by(Task.project_id)
        .subquery("task_counts")
    )
    evidence = (
        select(Task.project_id, func.count().label("count"))
        .select_from(Evidence)
        .join(Task, Task.id == Evidence.task_id)
        .where(Evidence.status != "rejected")  # a rejected photo is no evidence of the task
        .group_by(Task.project_id)
        .subquery("evidence_counts")
    )
    query = (
        select(
            Campaign.name,
            Template.slug,
            Template.version,
            School.district,
            School.block,
            School.code,
            School.name,
            Person.name,
            Person.phone,
            Project.status,
            func.coalesce(tasks.c.done, 0),
            func.coalesce(tasks.c.total, 0),
            func.coalesce(evidence.c.count, 0),
            Project.started_at,
            Project.completed_at,
            Project.last_reply_at,
        )
        .select_from(Project)
        .join(Campaign, Campaign.id == Project.campaign_id)
        .join(Template, Template.id == Campaign.template_id)
        .join(School, School.id == Project.school_id)
        .join(Person, Person.id == Project.headmaster_id)
        .outerjoin(tasks, tasks.c.project_id == Project.id)
        .outerjoin(evidence, evidence.c.project_id == Project.id)
        .order_by(Project.campaign_id, Project.id)
    )
    if campaign_id is not None:
        query = query.where(Project.campaign_id == campaign_id)
    # yield_per streams: a server-side cursor on PostgreSQL, row by row from SQLite.
    result = session.execute(query, execution_options={"yield_per": BATCH})
    for batch in result.partitions():
        for row in batch:
            name, slug, version, *who, done, total, evidence_count = row[:13]
            yield (
                name,
                f"{slug}@{version}",
                *who,
                int(done),
                int(total),
                int(evidence_count),
                *map(_iso, row[13:]),
            )


def message_rows(session: Session, status: str | None = None) -> Iterator[tuple[Any, ...]]:
    """One tuple per outbound message in MESSAGE_COLUMNS order, oldest first.

    A message that was never sent (status not_sent) says why in error_message: outside
    WhatsApp's window with no template and no SMS, opted out, no sender configured. Someone
    not in the roster has an empty name and role. Times are ISO 8601 UTC text.
    """
    query = (
        select(
            Outbox.created_at,
            Outbox.phone,
            func.coalesce(Person.name, ""),
            func.coalesce(Person.role, ""),
            func.coalesce(School.code, ""),
            # An officer has no school; their district and block are on their own row.
            func.coalesce(School.district, Person.district, ""),
            func.coalesce(School.block, Person.block, ""),
            Outbox.key,
            Outbox.channel,
            func.coalesce(Outbox.form, ""),
            Outbox.status,
            Outbox.error_code,
            func.coalesce(Outbox.error_message, ""),
            Outbox.sent_at,
            Outbox.status_at,
        )
        .select_from(Outbox)
        .outerjoin(Person, Person.id == Outbox.person_id)
        .outerjoin(School, School.id == Person.school_id)
        .order_by(Outbox.id)
    )
    if status is not None:
        query = query.where(Outbox.status == status)
    result = session.execute(query, execution_options={"yield_per": BATCH})
    for batch in result.partitions():
        for row in batch:
            created_at, *middle, error_code, error_message, sent_at, status_at = row
            yield (_iso(created_at), *middle,
                   "" if error_code is None else int(error_code), error_message,
                   _iso(sent_at), _iso(status_at))


def _iso(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
