"""What the dashboard shows about one school and about one project: the school's headmasters
and projects, a project's tasks and its timeline (messages in and out, task changes, evidence).
Also the reads the campaign pages share with them (storage/dashboard.py): a campaign's template,
and the progress of a page of projects. Always within a Scope: a school or project outside it
is not found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storage.gallery import INLINE_TYPES, title_of
from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_STARTED,
    TASK_COMPLETED,
    TASK_IN_PROGRESS,
    TASK_NOT_STARTED,
    Campaign,
    Evidence,
    InboundMessage,
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
from storage.silence import heard, is_silent, last_heard


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    start_date: Any
    template_id: int
    slug: str
    version: int
    title: dict[str, str]


def campaign_info(session: Session, campaign_id: int) -> CampaignInfo | None:
    row = session.execute(
        select(Campaign.id, Campaign.name, Campaign.start_date, Template.id.label("template_id"),
               Template.slug, Template.version, Template.title)
        .join(Template, Template.id == Campaign.template_id).where(Campaign.id == campaign_id)
    ).first()
    return CampaignInfo(row.id, row.name, row.start_date, row.template_id, row.slug,
                        row.version, row.title) if row else None


def task_progress(session: Session, project_ids: list[int]) -> dict[int, tuple[int, int, str]]:
    """project id -> (tasks done, tasks, title of the first open task)."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(Task.project_id, Task.status, Task.own_title, TemplateTask.title)
        .outerjoin(TemplateTask, TemplateTask.id == Task.template_task_id)
        .where(Task.project_id.in_(project_ids))
        .order_by(Task.project_id, Task.position)
    ).all()
    out: dict[int, tuple[int, int, str]] = {}
    for row in rows:
        done, count, current = out.get(row.project_id, (0, 0, ""))
        if not current and row.status in (TASK_NOT_STARTED, TASK_IN_PROGRESS):
            current = row.own_title or title_of(row.title)
        out[row.project_id] = (done + (row.status == TASK_COMPLETED), count + 1, current)
    return out


# --- One school, one project ------------------------------------------------------------------

TIMELINE_LIMIT = 500  # of each kind (messages in, out, task events, evidence) on one page


@dataclass(frozen=True)
class Headmaster:
    id: int
    name: str
    phone: str
    language: str
    channel: str
    sms_allowed: bool
    opted_out_at: Any
    last_inbound_at: Any


@dataclass(frozen=True)
class SchoolProject:
    id: int
    campaign_id: int
    campaign: str
    title: str
    status: str
    heard: Any
    silent: bool
    done: int
    total: int
    current: str


@dataclass
class SchoolDetail:
    id: int
    code: str
    name: str
    district: str
    block: str
    cluster: str
    headmasters: list[Headmaster]
    projects: list[SchoolProject]


@dataclass(frozen=True)
class TaskLine:
    id: int
    position: int
    title: str
    own: bool  # added by the headmaster
    mandatory: bool
    evidence: str
    status: str
    due_on: Any
    completed_at: Any
    help_requested_at: Any
    remarks: str | None


@dataclass(frozen=True)
class Event:
    """One line of a project's timeline; `data` holds what its kind shows."""

    at: dt.datetime
    kind: str  # project | in | out | task | evidence
    data: dict[str, Any]


@dataclass
class ProjectDetail:
    id: int
    status: str
    campaign: CampaignInfo
    school: SchoolDetail
    headmaster: Headmaster
    heard: Any
    silent: bool
    story: str | None
    share_story: bool | None
    story_picked_at: Any
    tasks: list[TaskLine]
    events: list[Event]
    truncated: bool  # some kind had more than TIMELINE_LIMIT rows


def _headmaster(person: Person) -> Headmaster:
    return Headmaster(person.id, person.name, person.phone, person.language, person.channel,
                      bool(person.sms_allowed), person.opted_out_at, person.last_inbound_at)


def _school(school: School, headmasters: list[Headmaster],
            projects: list[SchoolProject] | None = None) -> SchoolDetail:
    return SchoolDetail(school.id, school.code, school.name, school.district.strip(),
                        school.block.strip(), school.cluster, headmasters, projects or [])


def school_detail(session: Session, scope: Scope, code: str, now: dt.datetime
                  ) -> SchoolDetail | None:
    """A school in the scope, its headmaster(s) and its projects; None when the school is not
    in the scope (the page then says "not found", never "not yours")."""
    school = session.scalars(
        select(School).where(School.code == code.strip(), scope.condition())).first()
    if school is None:
        return None
    people = session.scalars(select(Person).where(
        Person.school_id == school.id, Person.role == "headmaster").order_by(Person.id)).all()
    rows = session.execute(
        select(Project.id, Project.campaign_id, Project.status, heard().label("heard"),
               Campaign.name, Template.title)
        .join(Campaign, Campaign.id == Project.campaign_id)
        .join(Template, Template.id == Campaign.template_id)
        .where(Project.school_id == school.id)
        .order_by(Campaign.created_at.desc(), Project.id.desc())
    ).all()
    progress = task_progress(session, [row.id for row in rows])
    projects = []
    for row in rows:
        done, count, current = progress.get(row.id, (0, 0, ""))
        running = row.status in (PROJECT_STARTED, PROJECT_IN_PROGRESS)
        projects.append(SchoolProject(row.id, row.campaign_id, row.name, title_of(row.title),
                                      row.status, row.heard, is_silent(row.status, row.heard,
                                                                       now),
                                      done, count, current if running else ""))
    return _school(school, [_headmaster(p) for p in people], projects)


def project_detail(session: Session, scope: Scope, project_id: int, now: dt.datetime
                   ) -> ProjectDetail | None:
    """A project in the scope with its tasks and its timeline, oldest first; None when it is
    not in the scope."""
    found = session.execute(
        select(Project, School, Person, Campaign.created_at)
        .join(School, School.id == Project.school_id)
        .join(Person, Person.id == Project.headmaster_id)
        .join(Campaign, Campaign.id == Project.campaign_id)
        .where(Project.id == project_id, scope.condition())
    ).first()
    if found is None:
        return None
    project, school, person, launched = found
    campaign = campaign_info(session, project.campaign_id)
    assert campaign is not None  # the foreign key holds it
    tasks = _task_lines(session, project.id)
    # Messages with no project are the headmaster's since the invitation (or the launch, when
    # they were never invited: opted out). Until `now`, so a page with a pinned clock agrees.
    since = project.invited_at or launched
    events, truncated = _timeline(session, project, person.id, tasks, since, now)
    last = last_heard(person.last_inbound_at, project)
    return ProjectDetail(
        project.id, project.status, campaign, _school(school, []), _headmaster(person), last,
        is_silent(project.status, last, now), project.story, project.share_story,
        project.story_picked_at, tasks, events, truncated)


def _task_lines(session: Session, project_id: int) -> list[TaskLine]:
    rows = session.execute(
        select(Task, TemplateTask.title)
        .outerjoin(TemplateTask, TemplateTask.id == Task.template_task_id)
        .where(Task.project_id == project_id).order_by(Task.position)
    ).all()
    return [TaskLine(t.id, t.position, t.own_title or title_of(title) or f"Task {t.position}",
                     t.template_task_id is None, bool(t.mandatory), t.evidence, t.status,
                     t.due_on, t.completed_at, t.help_requested_at, t.remarks)
            for t, title in rows]


def _timeline(session: Session, project: Project, person_id: int, tasks: list[TaskLine],
              since: dt.datetime, now: dt.datetime) -> tuple[list[Event], bool]:
    titles = {t.id: f"{t.position}. {t.title}" for t in tasks}
    events = [Event(at, "project", {"what": what}) for what, at in (
        ("Invited", project.invited_at), ("Invitation sent again", project.invitation_resent_at),
        ("Deferred (\u201cnot now\u201d)", project.deferred_at),
        ("Started", project.started_at), ("Completed", project.completed_at),
        ("Lapsed", project.lapsed_at)) if at is not None]
    limit = TIMELINE_LIMIT + 1
    inbound = session.execute(
        select(InboundMessage.received_at, InboundMessage.channel, InboundMessage.body,
               InboundMessage.button_payload, InboundMessage.media)
        .where(InboundMessage.person_id == person_id, InboundMessage.received_at >= since,
               InboundMessage.received_at <= now)
        .order_by(InboundMessage.received_at, InboundMessage.id).limit(limit)
    ).all()
    outbound = session.execute(
        select(Outbox.created_at, Outbox.key, Outbox.channel, Outbox.form, Outbox.status,
               Outbox.error_code, Outbox.error_message, Outbox.sent_at, Outbox.status_at,
               Outbox.body, Outbox.params, Outbox.options, Outbox.language)
        .where(or_(Outbox.project_id == project.id,
                   and_(Outbox.person_id == person_id, Outbox.project_id.is_(None),
                        Outbox.created_at >= since, Outbox.created_at <= now)))
        .order_by(Outbox.created_at, Outbox.id).limit(limit)
    ).all()
    changes = session.execute(
        select(TaskEvent.at, TaskEvent.task_id, TaskEvent.status, TaskEvent.note)
        .join(Task, Task.id == TaskEvent.task_id)
        .where(Task.project_id == project.id)
        .order_by(TaskEvent.at, TaskEvent.id).limit(limit)
    ).all()
    evidence = session.execute(
        select(Evidence.id, Evidence.created_at, Evidence.task_id, Evidence.kind,
               Evidence.status, Evidence.caption, Evidence.content_type)
        .join(Task, Task.id == Evidence.task_id)
        .where(Task.project_id == project.id)
        .order_by(Evidence.created_at, Evidence.id).limit(limit)
    ).all()
    events += [Event(r.received_at, "in", {
        "channel": r.channel, "body": r.body, "button": r.button_payload,
        "media": len(r.media or [])}) for r in inbound[:TIMELINE_LIMIT]]
    events += [Event(r.created_at, "out", {
        "key": r.key, "channel": r.channel, "form": r.form, "status": r.status,
        "error_code": r.error_code, "error_message": r.error_message, "sent_at": r.sent_at,
        "status_at": r.status_at, "body": r.body, "params": r.params, "options": r.options,
        "language": r.language}) for r in outbound[:TIMELINE_LIMIT]]
    events += [Event(r.at, "task", {"task": titles.get(r.task_id, ""), "status": r.status,
                                    "note": r.note}) for r in changes[:TIMELINE_LIMIT]]
    events += [Event(r.created_at, "evidence", {
        "id": r.id, "task": titles.get(r.task_id, ""), "kind": r.kind, "status": r.status,
        "caption": r.caption,
        "inline": (r.content_type or "").split(";")[0].strip().lower() in INLINE_TYPES,
    }) for r in evidence[:TIMELINE_LIMIT]]
    # At one instant, cause before effect: what the headmaster wrote, what it changed, then
    # the bot's answer.
    order = {"in": 0, "project": 1, "task": 2, "evidence": 3, "out": 4}
    events.sort(key=lambda e: (e.at, order[e.kind]))
    truncated = any(len(rows) > TIMELINE_LIMIT for rows in (inbound, outbound, changes,
                                                               evidence))
    return events, truncated
