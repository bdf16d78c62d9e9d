"""Loading what a flow step needs, and the writes its effects turn into.

The engine calls these inside one transaction, so an inbound message, the conversation's new
state and the outbound rows commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, exists, func, insert, select, text, true, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from flows.views import ProjectView, Snapshot, TaskView
from storage import bulk, phrases
from storage.db import among
from storage.models import (
    PROJECT_ACTIVE,
    PROJECT_LAPSED,
    PROJECT_SUBMITTED,
    Campaign,
    Conversation,
    Evidence,
    InboundMessage,
    Outbox,
    Person,
    Project,
    Task,
    Template,
    TemplateTask,
)

RECENTLY_COMPLETED = dt.timedelta(days=30)  # completed projects still shown in "status"


def person_by_phone(session: Session, phone: str) -> Person | None:
    return session.scalars(select(Person).where(Person.phone == phone)).first()


RECORDED = ("sid", "channel", "body", "button_payload", "media")  # with the phone


def _recording_statements() -> tuple[Any, Any]:
    """The webhook's two statements in KADAM_INBOUND=queue, built once: a statement built per
    request costs more Python than its SQL costs the database. (SQLAlchemy reserves the
    columns' own names for its automatic parameters, hence the "m_" names.)"""
    inbound: Table = InboundMessage.__table__  # type: ignore[assignment]
    person: Table = Person.__table__  # type: ignore[assignment]
    at = bindparam("m_at", type_=inbound.c.received_at.type)
    phone = bindparam("m_phone", type_=inbound.c.phone.type)
    sender = select(person.c.id).where(person.c.phone == phone).scalar_subquery()
    record = insert(inbound).values(
        {name: bindparam(f"m_{name}", type_=inbound.c[name].type) for name in RECORDED}
        | {"phone": phone, "person_id": sender, "received_at": at, "pending": true()}
    ).returning(inbound.c.id)
    heard = update(person).where(person.c.phone == phone).values(last_inbound_at=at)
    return record, heard


_RECORD, _HEARD = _recording_statements()


def record_inbound(connection: Connection, columns: dict[str, Any], now: dt.datetime) -> int:
    """Stores a message to be answered later, in two Core statements on a bare connection
    (the webhook's whole work in KADAM_INBOUND=queue, kept as light as the benchmark's
    reference): the row, linked to its sender if the roster has them, and the sender's
    last-heard time. Raises IntegrityError for a sid already stored."""
    values = {f"m_{name}": columns[name] for name in RECORDED}
    inbound_id = connection.execute(
        _RECORD, {**values, "m_phone": columns["phone"], "m_at": now}).scalar_one()
    connection.execute(_HEARD, {"m_phone": columns["phone"], "m_at": now})
    return int(inbound_id)


def pending_inbound(session: Session, limit: int) -> list[int]:
    """Ids of stored messages not yet answered, oldest first, and for each sender only the
    oldest: a person's second message waits until their first is answered."""
    earlier = aliased(InboundMessage)
    return list(session.scalars(
        select(InboundMessage.id)
        .where(InboundMessage.pending)
        .where(~exists().where(earlier.phone == InboundMessage.phone, earlier.pending,
                               earlier.id < InboundMessage.id))
        .order_by(InboundMessage.id).limit(limit)))


def take_pending_inbound(session: Session, inbound_id: int) -> InboundMessage | None:
    """The message, locked for this transaction, if it is still waiting to be answered and
    no other worker holds it (on SQLite the transaction's write lock does the holding)."""
    query = select(InboundMessage).where(InboundMessage.id == inbound_id,
                                         InboundMessage.pending)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def lock_conversations(session: Session, person_ids: Sequence[int], now: dt.datetime
                       ) -> dict[int, tuple[str, dict[str, Any]]]:
    """Each person's conversation (state name, context), created if new and locked until the
    transaction ends, in person order so two batches cannot deadlock.

    Two messages from one person arriving together are handled one after the other, each
    seeing the state the other left. (On SQLite the transaction's write lock does this.)
    """
    ids = sorted(set(person_ids))
    if bulk.is_postgres(session):
        session.execute(text(
            "INSERT INTO conversation (person_id, state, context, updated_at) "
            "SELECT unnest(CAST(:ids AS bigint[])), 'idle', '{}', :now "
            "ON CONFLICT (person_id) DO NOTHING"),
            {"ids": ids, "now": now.astimezone(dt.UTC).replace(tzinfo=None)})
    else:
        session.execute(
            sqlite.insert(Conversation).on_conflict_do_nothing(index_elements=["person_id"]),
            [{"person_id": i, "state": "idle", "context": {}, "updated_at": now} for i in ids])
    query = (select(Conversation.person_id, Conversation.state, Conversation.context)
             .where(among(session, Conversation.person_id, ids))
             .order_by(Conversation.person_id))
    if bulk.is_postgres(session):
        query = query.with_for_update()
    return {row.person_id: (row.state, dict(row.context or {}))
            for row in session.execute(query)}


def conversation_state(session: Session, person_id: int) -> tuple[str, dict[str, Any]]:
    """Where the person's conversation stands (state name, context), read without a lock."""
    row = session.execute(select(Conversation.state, Conversation.context)
                          .where(Conversation.person_id == person_id)).first()
    return (row.state, dict(row.context or {})) if row else ("idle", {})


def save_conversations(session: Session, rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Writes conversations back after their steps: (person id, column values) each, the
    values from bot/engine/rules.py `conversation`, all rows with the same columns."""
    if not rows:
        return
    columns = list(rows[0][1])
    bulk.update_rows(session, Conversation.__table__, "person_id", ["person_id", *columns],
                     [(person_id, *(values[c] for c in columns)) for person_id, values in rows],
                     {c: c for c in columns}, {})


def snapshot(session: Session, person: Person, today: dt.date,
             now: dt.datetime | None = None) -> Snapshot:
    """The person and the projects they can talk about, with every task's status."""
    return snapshots(session, [person], {person.id: today}, now)[person.id]


class PersonLike(Protocol):
    id: int
    name: str
    language: str
    opted_out_at: dt.datetime | None
    paused_until: dt.datetime | None


def snapshots(session: Session, persons: Sequence[PersonLike], today: dict[int, dt.date],
              now: dt.datetime | None = None) -> dict[int, Snapshot]:
    """Snapshots for many people in a handful of queries (the clock triggers thousands), each
    with the phrases the state team has taught so far."""
    ids = [p.id for p in persons]
    taught = phrases.taught(session)
    now = now or _now()
    recent = now - RECENTLY_COMPLETED
    projects = list(session.execute(
        select(Project.id, Project.campaign_id, Project.status, Project.headmaster_id)
        .where(among(session, Project.headmaster_id, ids))
        .where(Project.status.in_((*PROJECT_ACTIVE, PROJECT_LAPSED))
               | ((Project.status == PROJECT_SUBMITTED) & (Project.completed_at > recent)))
        .order_by(Project.id)
    ))
    views = dict(zip([p.id for p in projects], project_views(session, projects), strict=True))
    by_person: dict[int, list[ProjectView]] = defaultdict(list)
    for project in projects:
        by_person[project.headmaster_id].append(views[project.id])
    return {
        person.id: Snapshot(
            person_id=person.id,
            name=person.name,
            language=person.language,
            opted_out=person.opted_out_at is not None,
            today=today[person.id],
            paused=person.paused_until is not None and person.paused_until > now,
            projects=tuple(by_person[person.id]),
            taught=taught,
        )
        for person in persons
    }


def project_views(session: Session, projects: Sequence[Any]) -> list[ProjectView]:
    """Views of projects given as rows or models with id, campaign_id and status."""
    if not projects:
        return []
    ids = [p.id for p in projects]
    rows = session.execute(
        select(Task.id, Task.project_id, Task.position, Task.origin, Task.own_title,
               Task.status, Task.mandatory, Task.evidence, Task.due_on, Task.template_task_id)
        .where(among(session, Task.project_id, ids))
        .order_by(Task.project_id, Task.position)
    ).all()
    # A template's texts are shared by every project on it: read them once, not per task.
    wording = {
        row.id: (row.title, row.description or {})
        for row in session.execute(
            select(TemplateTask.id, TemplateTask.title, TemplateTask.description)
            .where(TemplateTask.id.in_({r.template_task_id for r in rows if r.template_task_id}))
        )
    }
    counts: dict[int, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Evidence.task_id, func.count())
            .join(Task, Task.id == Evidence.task_id)
            .where(among(session, Task.project_id, ids), Evidence.status != "rejected")
            .group_by(Evidence.task_id)
        ).all()
    )
    tasks: dict[int, list[TaskView]] = defaultdict(list)
    no_wording: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for row in rows:
        title, description = wording.get(row.template_task_id, no_wording)
        own = row.origin != "template" or not title
        tasks[row.project_id].append(
            TaskView(
                id=row.id,
                position=row.position,
                title={"*": row.own_title or ""} if own else title,
                status=row.status,
                mandatory=row.mandatory,
                evidence=row.evidence,
                evidence_count=counts.get(row.id, 0),
                due_on=row.due_on,
                origin=row.origin,
                description=description,
            )
        )
    # The columns the views use, not the whole Template: its `document` (the YAML as loaded)
    # is the largest JSON in the database, and parsing it on every message was measurable.
    templates = {
        row.campaign_id: row
        for row in session.execute(
            select(Campaign.id.label("campaign_id"), Template.title, Template.objective,
                   Template.duration_days)
            .join(Template, Template.id == Campaign.template_id)
            .where(Campaign.id.in_({p.campaign_id for p in projects}))
        ).all()
    }
    views = []
    for project in projects:
        template = templates[project.campaign_id]
        views.append(
            ProjectView(
                id=project.id,
                title=template.title,
                status=project.status,
                objective=template.objective,
                duration_days=template.duration_days,
                tasks=tuple(tasks[project.id]),
            )
        )
    return views


def queue_message(
    session: Session,
    *,
    phone: str,
    channel: str,
    key: str,
    params: dict[str, Any] | None = None,
    options: list[str] | tuple[str, ...] = (),
    person_id: int | None = None,
    language: str | None = None,
    in_reply_to: int | None = None,
    project_id: int | None = None,
    task_id: int | None = None,
) -> Outbox:
    row = Outbox(
        person_id=person_id,
        phone=phone,
        channel=channel,
        language=language,
        key=key,
        params=jsonable(params or {}),
        options=list(options),
        in_reply_to=in_reply_to,
        project_id=project_id,
        task_id=task_id,
        next_attempt_at=_now(),
    )
    session.add(row)
    return row


def next_task_position(session: Session, project_id: int) -> int:
    highest = session.scalar(select(func.max(Task.position)).where(Task.project_id == project_id))
    return (highest or 0) + 1


def jsonable(value: Any) -> Any:
    """Dates become ISO strings so parameters survive a round trip through a JSON column."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
