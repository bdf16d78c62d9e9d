"""Rows for the state team's spreadsheets: one per project (progress), one per task (what
was done, when, with which photos and remarks), one per outbound message (what was sent, how,
and what became of it).

Counts come from aggregate subqueries joined once (not a query per project), and rows stream
from the database in batches, so a state's 100,000 projects export in constant memory. Project
and task rows take the dashboard's filters, always within a Scope (storage/scope.py): a block
user's download holds their block's schools, whatever they ask for.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from storage.gallery import title_of
from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_INVITED,
    PROJECT_LAPSED,
    PROJECT_STARTED,
    PROJECT_SUBMITTED,
    TASK_COMPLETED,
    TASK_IN_PROGRESS,
    TASK_NOT_STARTED,
    TASK_SKIPPED,
    Campaign,
    Evidence,
    Outbox,
    Person,
    Project,
    School,
    Task,
    TaskEvent,
    Template,
    TemplateTask,
)
from storage.scope import Scope
from storage.silence import heard, silent_condition

PROJECT_STATUSES = (PROJECT_INVITED, PROJECT_STARTED, PROJECT_IN_PROGRESS, PROJECT_SUBMITTED,
                    PROJECT_LAPSED)

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
    "last_heard_at",  # anything the headmaster wrote, as "silent" counts it (storage/silence.py)
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
TASK_COLUMNS = (
    "campaign",
    "district",
    "block",
    "school_code",
    "school_name",
    "task",
    "task_title",
    "origin",
    "mandatory",
    "status",
    "due_on",
    "prompted_at",
    "completed_at",
    "status_changed_at",
    "evidence_count",
    "evidence_links",
    "remarks",
)
BATCH = 2000  # rows fetched from the database at a time
# A task event's note is the headmaster's remark when it came with a status change (or on its
# own); other events' notes are the bot's ("3 day(s)" postponed), the title of a task added
# (already the title), an officer's reply, or a help request (already in task.remarks).
REMARK_EVENTS = (TASK_NOT_STARTED, TASK_IN_PROGRESS, TASK_COMPLETED, TASK_SKIPPED)
REMARKS_SEPARATOR = " | "


def campaign_exists(session: Session, campaign_id: int) -> bool:
    return session.get(Campaign, campaign_id) is not None


def campaign_ids(session: Session) -> list[int]:
    """Every campaign's id, in order: what an export may be asked for."""
    return list(session.scalars(select(Campaign.id).order_by(Campaign.id)))


def _filtered(query: Select[Any], campaign_id: int | None, scope: Scope | None,
              status: str | None, silent_at: dt.datetime | None) -> Select[Any]:
    """`query` (which joins Project and School) narrowed by the dashboard's filters."""
    if campaign_id is not None:
        query = query.where(Project.campaign_id == campaign_id)
    if scope is not None and not scope.is_everything:
        query = query.where(scope.condition())
    if status is not None:
        query = query.where(Project.status == status)
    if silent_at is not None:
        query = query.where(silent_condition(silent_at))
    return query


def project_rows(session: Session, campaign_id: int | None = None, *,
                 scope: Scope | None = None, status: str | None = None,
                 silent_at: dt.datetime | None = None) -> Iterator[tuple[Any, ...]]:
    """One tuple per project in PROJECT_COLUMNS order, by campaign then project id.

    Only the scope's schools; with `status`, projects in that status; with `silent_at`, the
    projects silent then (storage.silence: as the BEO digest counts them).
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
            heard(Person.last_inbound_at),
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
    query = _filtered(query, campaign_id, scope, status, silent_at)
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


def task_rows(session: Session, campaign_id: int | None = None, *,
              scope: Scope | None = None, status: str | None = None,
              silent_at: dt.datetime | None = None,
              photo_link: Callable[[int], str] = str) -> Iterator[tuple[Any, ...]]:
    """One tuple per task in TASK_COLUMNS order, by campaign, project and task position.

    Filters as `project_rows` (status and silence are the project's). The title is the
    template's in English, else its first language; a task the headmaster added has their own
    words. evidence_count counts the photos not rejected (as project_rows does); evidence_links
    are `photo_link(evidence_id)` of the stored ones (a pending photo is still downloading),
    space-separated. remarks joins the headmaster's remarks: task.remarks, then the notes they
    left with status changes, oldest first, each once.
    """
    query = (
        select(
            Task.id,
            Task.template_task_id,
            Campaign.name.label("campaign"),
            School.district,
            School.block,
            School.code.label("school_code"),
            School.name.label("school_name"),
            Task.position,
            Task.own_title,
            Task.origin,
            Task.mandatory,
            Task.status,
            Task.due_on,
            Task.prompted_at,
            Task.completed_at,
            Task.status_changed_at,
            Task.remarks,
        )
        .select_from(Task)
        .join(Project, Project.id == Task.project_id)
        .join(Campaign, Campaign.id == Project.campaign_id)
        .join(School, School.id == Project.school_id)
        .order_by(Project.campaign_id, Project.id, Task.position)
    )
    query = _filtered(query, campaign_id, scope, status, silent_at)
    titles: dict[int, str] = {}
    result = session.execute(query, execution_options={"yield_per": BATCH})
    for batch in result.partitions():
        ids = [row.id for row in batch]
        _learn_titles(session, titles, {row.template_task_id for row in batch} - titles.keys())
        evidence = _evidence_of(session, ids)
        notes = _notes_of(session, ids)
        for row in batch:
            counted, links = evidence.get(row.id, (0, []))
            own = row.origin != "template" or row.template_task_id is None
            yield (
                row.campaign,
                row.district,
                row.block,
                row.school_code,
                row.school_name,
                int(row.position),
                (row.own_title or "") if own else titles.get(row.template_task_id, ""),
                row.origin,
                "yes" if row.mandatory else "no",
                row.status,
                row.due_on.isoformat() if row.due_on else "",
                _iso(row.prompted_at),
                _iso(row.completed_at),
                _iso(row.status_changed_at),
                counted,
                " ".join(photo_link(evidence_id) for evidence_id in links),
                _remarks(row.remarks, notes.get(row.id, ())),
            )


def _learn_titles(session: Session, titles: dict[int, str], wanted: set[int | None]) -> None:
    """Template task titles by id, fetched once each (a campaign has a handful of tasks)."""
    ids = sorted(i for i in wanted if i is not None)
    if ids:
        for task_id, title in session.execute(
                select(TemplateTask.id, TemplateTask.title).where(TemplateTask.id.in_(ids))):
            titles[task_id] = title_of(title)


def _evidence_of(session: Session, task_ids: Sequence[int]) -> dict[int, tuple[int, list[int]]]:
    """task id -> (photos not rejected, ids of the stored ones), for one batch of tasks."""
    found: dict[int, tuple[int, list[int]]] = {}
    for task_id, evidence_id, status, path in session.execute(
        select(Evidence.task_id, Evidence.id, Evidence.status, Evidence.path)
        .where(Evidence.task_id.in_(task_ids), Evidence.status != "rejected")
        .order_by(Evidence.id)
    ):
        counted, links = found.get(task_id, (0, []))
        if status == "stored" and path:
            links.append(evidence_id)
        found[task_id] = (counted + 1, links)
    return found


def _notes_of(session: Session, task_ids: Sequence[int]) -> dict[int, list[str]]:
    notes: dict[int, list[str]] = defaultdict(list)
    for task_id, note in session.execute(
        select(TaskEvent.task_id, TaskEvent.note)
        .where(TaskEvent.task_id.in_(task_ids), TaskEvent.note.is_not(None),
               TaskEvent.status.is_(None) | TaskEvent.status.in_(REMARK_EVENTS))
        .order_by(TaskEvent.at, TaskEvent.id)
    ):
        notes[task_id].append(note)
    return notes


def _remarks(remarks: str | None, notes: Sequence[str]) -> str:
    pieces = [line.strip() for line in (remarks or "").splitlines()]
    pieces.extend(note.strip() for note in notes)
    return REMARKS_SEPARATOR.join(dict.fromkeys(piece for piece in pieces if piece))


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
