"""The rows a launch writes, set-based: the projects, their tasks, the invitations and the
conversations that wait for the answers (who is in the audience: storage/campaigns.py).

Each is one INSERT ... SELECT (or UPDATE) over all the new projects, so a state's 100,000
schools launch in a handful of statements. What an invitation says and the state it leaves
are the headmaster flow's (`flows.headmaster.invitation`), asked once for the whole launch
with a stand-in project id that the statements replace with each project's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    case,
    cast,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from flows import effects as fx
from flows.headmaster import invitation
from flows.headmaster import invitation_params as params_of_invitation
from flows.state import State
from storage.db import among
from storage.models import (
    PROJECT_INVITED,
    TASK_NOT_STARTED,
    Campaign,
    Conversation,
    Outbox,
    Person,
    Project,
    School,
    Task,
    Template,
    TemplateTask,
    UTCDateTime,
)
from storage.schedule import Pace

Condition = ColumnElement[bool]  # a WHERE clause, passed between the statements below

EACH_PROJECT = -1  # the stand-in project id the flow is asked with (never a real id)


@dataclass(frozen=True)
class LaunchInvitation:
    """The invitation as the headmaster flow states it for any project: the message's key and
    options, and the conversation's state and context (where EACH_PROJECT stands for the
    project's id). Its params are left empty: the worker fills them when it sends."""

    key: str
    options: tuple[str, ...]
    state: str
    context: dict[str, Any]


def launch_invitation() -> LaunchInvitation:
    """Asks the flow once what an invitation is. A launch writes what `invitation` returns
    set-based: its Reply as an outbox row, its InvitationSent as the project's invited_at (set
    when the project is made), its state over the person's. Anything else it might ask for has
    no statement here, and stops the launch rather than be left out."""
    step = invitation(State(), EACH_PROJECT)
    replies = [e for e in step.effects if isinstance(e, fx.Reply)]
    unknown = [e for e in step.effects
               if not isinstance(e, fx.Reply) and e != fx.InvitationSent(EACH_PROJECT)]
    if (len(replies) != 1 or unknown or replies[0].project_id != EACH_PROJECT
            or replies[0].params or replies[0].task_id is not None):
        raise RuntimeError(f"a launch cannot write this invitation set-based: {step.effects}")
    reply = replies[0]
    return LaunchInvitation(reply.key, reply.options, str(step.state.name),
                            dict(step.state.context))


INVITE_OPTIONS = list(launch_invitation().options)


def headmaster_of_school() -> Any:
    """school_id -> the headmaster who gets the project; the lowest id if the roster has two."""
    return (
        select(Person.school_id, func.min(Person.id).label("headmaster_id"))
        .where(Person.role == "headmaster", Person.school_id.is_not(None))
        .group_by(Person.school_id)
        .subquery("school_headmaster")
    )


def insert_projects(
    session: Session,
    campaign_id: int,
    schools: Condition,
    now: dt.datetime,
) -> int:
    headmasters = headmaster_of_school()
    rows = (
        select(
            literal(campaign_id),
            School.id,
            headmasters.c.headmaster_id,
            literal(PROJECT_INVITED),
            literal(now, UTCDateTime()),
        )
        .select_from(School)
        .join(headmasters, headmasters.c.school_id == School.id)
        .where(schools)
        .order_by(School.id)  # ids follow the roster, which keeps exports in a stable order
    )
    columns = ["campaign_id", "school_id", "headmaster_id", "status", "invited_at"]
    # The (campaign_id, school_id) unique constraint backs up the NOT EXISTS in `schools`.
    result = session.execute(insert_counting(session, Project).from_select(columns, rows))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def insert_tasks(
    session: Session, template: Template, start_date: dt.date, new_projects: Condition
) -> None:
    """Copies the template's tasks into every new project; due dates are worked out here
    (a template has a handful of tasks) and handed to SQL as a CASE on the template task.
    Prompt times are set when the headmaster accepts (see bot/engine/engine.py)."""
    if not template.tasks:
        return
    due_on = case(
        {t.id: literal(start_date + dt.timedelta(days=t.day), Date()) for t in template.tasks},
        value=TemplateTask.id,
    )
    rows = (
        select(
            Project.id,
            TemplateTask.position,
            TemplateTask.id,
            literal("template"),
            TemplateTask.mandatory,
            TemplateTask.evidence,
            due_on,
            literal(TASK_NOT_STARTED),
        )
        .select_from(Project)
        .join(TemplateTask, TemplateTask.template_id == template.id)
        .where(new_projects)
    )
    columns = [
        "project_id",
        "position",
        "template_task_id",
        "origin",
        "mandatory",
        "evidence",
        "due_on",
        "status",
    ]
    session.execute(insert_counting(session, Task).from_select(columns, rows))


def set_invitation_reminders(
    session: Session, new_projects: Condition, pace: Pace, now: dt.datetime
) -> None:
    """An invitation nobody answers is sent once more, after a few days."""
    session.execute(
        update(Project).where(new_projects)
        .values(invitation_reminder_at=now + dt.timedelta(days=pace.invitation_resend_after_days))
        .execution_options(synchronize_session=False)
    )


def queue_invitations(session: Session, new_projects: Condition, now: dt.datetime) -> int:
    """One invitation per new project whose headmaster has not opted out (the flow sends
    none to them either). Params stay empty: the worker fills them from project_id when it
    sends (`invitation_params_many`), in the language of that day."""
    said = launch_invitation()
    rows = (
        select(
            Person.id,
            Person.phone,
            Person.channel,
            literal(said.key),
            literal({}, JSON()),
            literal(list(said.options), JSON()),
            literal("queued"),
            literal(0),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
            Project.id,
        )
        .select_from(Project)
        .join(Person, Person.id == Project.headmaster_id)
        .where(new_projects, Person.opted_out_at.is_(None))
        .order_by(Project.id)
    )
    columns = [
        "person_id",
        "phone",
        "channel",
        "key",
        "params",
        "options",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "project_id",
    ]
    result = session.execute(insert_counting(session, Outbox).from_select(columns, rows))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def wait_for_answers(session: Session, new_projects: Condition, now: dt.datetime) -> None:
    """Sets each invited headmaster's conversation to the flow's invitation state (`invited`,
    with the project's id), so that a bare "1" or "yes" answers this invitation. A person
    heads one school, so one row per person here."""
    said = launch_invitation()
    rows = (
        select(
            Person.id,
            literal(said.state),
            _context(session, said.context),
            literal(now, UTCDateTime()),
        )
        .select_from(Project)
        .join(Person, Person.id == Project.headmaster_id)
        # SQLite needs a WHERE here anyway: it cannot otherwise tell the upsert's ON
        # CONFLICT from a join's ON.
        .where(new_projects, Person.opted_out_at.is_(None))
    )
    statement = insert_counting(session, Conversation).from_select(
        ["person_id", "state", "context", "updated_at"], rows
    )
    statement = statement.on_conflict_do_update(
        index_elements=["person_id"],
        set_={
            "state": statement.excluded.state,
            "context": _merged_context(session, statement.excluded.context),
            "updated_at": statement.excluded.updated_at,
        },
    )
    session.execute(statement)


def _context(session: Session, context: dict[str, Any]) -> Any:
    """The flow's context as a JSON object built in SQL, each project's id in place of the
    stand-in."""
    postgres = session.get_bind().dialect.name == "postgresql"
    json_object = func.json_build_object if postgres else func.json_object
    pairs: list[Any] = []
    for key, value in context.items():
        if not isinstance(value, str | int | bool):
            raise RuntimeError(f"a launch cannot write the context value {key}={value!r}")
        pairs += [literal(key), Project.id if value == EACH_PROJECT else literal(value)]
    return json_object(*pairs)


def _merged_context(session: Session, invited: Any) -> Any:
    """The old context with the invited project laid over it (as the flow's `State.with_`
    does): a headmaster who is half-way through a task keeps it in hand, so their next
    "done" still reaches that task."""
    old = Conversation.__table__.c.context
    if session.get_bind().dialect.name == "postgresql":
        return cast(cast(old, JSONB).op("||")(cast(invited, JSONB)), JSON)
    return func.json_patch(old, invited)


def insert_counting(session: Session, model: Any) -> Any:
    """The dialect's Core insert (on_conflict_do_update on both engines), counting its rows."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Without preserve_rowcount, psycopg reports -1 rows for an INSERT ... SELECT.
    return insert(model.__table__).execution_options(preserve_rowcount=True)


# -- at send time --------------------------------------------------------------------------


def invitation_params(session: Session, project_id: int) -> dict[str, Any]:
    """What the 'invitation' message needs, read when the worker sends it."""
    return invitation_params_many(session, [project_id])[project_id]


def invitation_params_many(session: Session, project_ids: Iterable[int]
                           ) -> dict[int, dict[str, Any]]:
    """invitation_params for many projects in one query: the worker fills a whole claimed
    batch of a launch's invitations at once, not two queries a message. The fields are the
    flow's own (`flows.headmaster.invitation_params`)."""
    tasks_total = (select(func.count()).select_from(Task)
                   .where(Task.project_id == Project.id).scalar_subquery())
    rows = session.execute(
        select(Project.id, Person.name, Template.title, Template.objective,
               Template.duration_days, tasks_total)
        .select_from(Project)
        .join(Person, Person.id == Project.headmaster_id)
        .join(Campaign, Campaign.id == Project.campaign_id)
        .join(Template, Template.id == Campaign.template_id)
        .where(among(session, Project.id, set(project_ids)))
    ).all()
    return {
        project_id: params_of_invitation(
            project_id=project_id, name=name, title=title, objective=objective,
            tasks_total=int(total or 0), duration_days=duration_days)
        for project_id, name, title, objective, duration_days, total in rows
    }
