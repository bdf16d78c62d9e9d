"""What the dashboard shows about campaigns, read set-based and always within a Scope.

Each function answers one page with a handful of GROUP BY queries over the scope's schools,
never a query per school: a state campaign has 100,000 projects and a page must come back in
under half a second (bench/dashboard.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from storage.gallery import INLINE_TYPES, Page, title_of
from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_INVITED,
    PROJECT_LAPSED,
    PROJECT_STARTED,
    PROJECT_SUBMITTED,
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
from storage.scope import Scope, block_key, district_key
from storage.silence import heard, is_silent, last_heard, silent_condition


@dataclass
class Counts:
    """A campaign's projects by where they stand. `invited` counts every project (each school
    was invited); the other four split them."""

    invited: int = 0
    waiting: int = 0  # invited, not yet accepted
    started: int = 0  # accepted and running
    completed: int = 0
    lapsed: int = 0

    @property
    def ever_started(self) -> int:
        return self.started + self.completed + self.lapsed

    @property
    def completion(self) -> float:
        return self.completed / self.invited if self.invited else 0.0

    @property
    def progress(self) -> float:
        """Completed schools count one, running schools a half."""
        return (self.completed + self.started / 2) / self.invited if self.invited else 0.0


@dataclass
class CampaignSummary:
    id: int
    name: str
    slug: str
    version: int
    title: dict[str, str]
    start_date: Any
    counts: Counts = field(default_factory=Counts)


def status_counts() -> list[Any]:
    """Aggregate columns splitting projects by status; add them to any grouped select."""
    def n(*statuses: str) -> Any:
        return func.sum(case((Project.status.in_(statuses), 1), else_=0))

    return [func.count().label("invited"),
            n(PROJECT_INVITED).label("waiting"),
            n(PROJECT_STARTED, PROJECT_IN_PROGRESS).label("started"),
            n(PROJECT_SUBMITTED).label("completed"),
            n(PROJECT_LAPSED).label("lapsed")]


def counts_of(row: Any) -> Counts:
    return Counts(int(row.invited or 0), int(row.waiting or 0), int(row.started or 0),
                  int(row.completed or 0), int(row.lapsed or 0))


def campaign_summaries(session: Session, scope: Scope) -> list[CampaignSummary]:
    """Every campaign with projects in the scope (a state user also sees empty ones), newest
    first, with its counts inside the scope."""
    rows = session.execute(
        select(Project.campaign_id, *status_counts())
        .join(School, School.id == Project.school_id)
        .where(scope.condition())
        .group_by(Project.campaign_id)
    ).all()
    counts = {row.campaign_id: counts_of(row) for row in rows}
    campaigns = session.execute(
        select(Campaign.id, Campaign.name, Campaign.start_date, Template.slug, Template.version,
               Template.title)
        .join(Template, Template.id == Campaign.template_id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    ).all()
    return [CampaignSummary(c.id, c.name, c.slug, c.version, c.title, c.start_date,
                            counts.get(c.id, Counts()))
            for c in campaigns if scope.is_everything or c.id in counts]


# --- One campaign, by area, and the schools of an area ---------------------------------------

PER_PAGE = 200  # schools listed per page: a block has about 100, a district thousands
# "Behind": progress under this share of the whole view's. One measure, the one the chart's
# bar draws: a completed school counts one and a running school a half, so a district that
# started last week is not "behind" for having finished nothing. Stated on the page.
BEHIND_COMPLETION = 0.5


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    start_date: Any
    template_id: int
    slug: str
    version: int
    title: dict[str, str]


@dataclass
class AreaRow:
    """A district or block of a campaign, with its counts (names as the roster spells them)."""

    district: str
    block: str | None
    counts: Counts
    silent: int = 0
    behind: bool = False

    @property
    def name(self) -> str:
        return self.block if self.block is not None else self.district


@dataclass(frozen=True)
class FunnelStep:
    position: int
    title: str
    completed: int  # schools in the scope that completed this task


@dataclass(frozen=True)
class SchoolRow:
    project_id: int
    code: str
    name: str
    district: str
    block: str
    headmaster: str
    status: str
    heard: Any  # the headmaster's last message, else the last reply, start or invitation
    silent: bool
    done: int
    total: int
    current: str  # the first open task of a running project, "" otherwise


def campaign_info(session: Session, campaign_id: int) -> CampaignInfo | None:
    row = session.execute(
        select(Campaign.id, Campaign.name, Campaign.start_date, Template.id.label("template_id"),
               Template.slug, Template.version, Template.title)
        .join(Template, Template.id == Campaign.template_id).where(Campaign.id == campaign_id)
    ).first()
    return CampaignInfo(row.id, row.name, row.start_date, row.template_id, row.slug,
                        row.version, row.title) if row else None


def area_rows(session: Session, scope: Scope, campaign_id: int, now: dt.datetime,
              by_block: bool) -> list[AreaRow]:
    """The campaign's districts (or blocks) inside the scope, by name, with their counts and
    silent schools: one GROUP BY over the campaign's projects."""
    keys = [district_key()] + ([block_key()] if by_block else [])
    silent = func.sum(case((silent_condition(now), 1), else_=0)).label("silent")
    rows = session.execute(
        select(func.min(School.district).label("district"),
               func.min(School.block).label("block"), *status_counts(), silent)
        .join(School, School.id == Project.school_id)
        .where(Project.campaign_id == campaign_id, scope.condition())
        .group_by(*keys)
    ).all()
    areas = [AreaRow(row.district.strip(), row.block.strip() if by_block else None,
                     counts_of(row), int(row.silent or 0)) for row in rows]
    areas.sort(key=lambda a: (a.district.lower(), (a.block or "").lower()))
    mark_behind(areas)
    return areas


def total(areas: list[AreaRow]) -> AreaRow:
    """The areas added up (the cards above a chart)."""
    counts = Counts()
    for area in areas:
        for name in ("invited", "waiting", "started", "completed", "lapsed"):
            setattr(counts, name, getattr(counts, name) + getattr(area.counts, name))
    return AreaRow("", None, counts, sum(a.silent for a in areas))


def mark_behind(areas: list[AreaRow]) -> None:
    """Flags the areas behind the rest: progress (the bar) under half the whole view's.
    Comparing with the view's own average, not a fixed target, keeps the flag meaningful early
    in a campaign and late."""
    whole = total(areas).counts
    for area in areas:
        counts = area.counts
        area.behind = counts.invited > 0 and counts.progress < BEHIND_COMPLETION * whole.progress


def funnel(session: Session, scope: Scope, campaign: CampaignInfo) -> list[FunnelStep]:
    """For each task of the campaign's template, how many schools in the scope completed it."""
    steps = session.execute(
        select(TemplateTask.position, TemplateTask.title)
        .where(TemplateTask.template_id == campaign.template_id)
        .order_by(TemplateTask.position)
    ).all()
    # By the template task's position, not its id: a project keeps the template version it
    # started on, and versions of a template line their tasks up by position.
    query = (
        select(TemplateTask.position, func.count())
        .select_from(Task)
        .join(TemplateTask, TemplateTask.id == Task.template_task_id)
        .join(Project, Project.id == Task.project_id)
        .where(Project.campaign_id == campaign.id, Task.status == TASK_COMPLETED)
        .group_by(TemplateTask.position)
    )
    if not scope.is_everything:  # the state's funnel needs no school: a fifth off its time
        query = query.join(School, School.id == Project.school_id).where(scope.condition())
    done: dict[int, int] = dict(session.execute(query).all())  # type: ignore[arg-type]
    return [FunnelStep(step.position, title_of(step.title) or f"Task {step.position}",
                       int(done.get(step.position, 0))) for step in steps]


def school_rows(session: Session, scope: Scope, campaign_id: int, now: dt.datetime,
                silent_only: bool = False, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of the campaign's schools in the scope, by name: two queries, the second over
    this page's projects only (their tasks), whatever the size of the area."""
    page = max(1, page)
    silent = silent_condition(now, Person.last_inbound_at)
    query = (
        select(Project.id, Project.status, heard(Person.last_inbound_at).label("heard"),
               silent.label("silent"),
               School.code, School.name, School.district, School.block,
               Person.name.label("headmaster"))
        .join(School, School.id == Project.school_id)
        .join(Person, Person.id == Project.headmaster_id)
        .where(Project.campaign_id == campaign_id, scope.condition())
    )
    if silent_only:
        query = query.where(silent)
    rows = session.execute(query.order_by(School.name, School.code)
                           .offset((page - 1) * per_page).limit(per_page + 1)).all()
    shown = rows[:per_page]  # one more than shown was asked for, to know of a next page
    progress = _progress(session, [row.id for row in shown])
    items = []
    for row in shown:
        done, count, current = progress.get(row.id, (0, 0, ""))
        running = row.status in (PROJECT_STARTED, PROJECT_IN_PROGRESS)
        items.append(SchoolRow(row.id, row.code, row.name, row.district, row.block,
                               row.headmaster, row.status, row.heard, bool(row.silent), done,
                               count, current if running else ""))
    return Page(items, page, len(rows) > per_page)


def _progress(session: Session, project_ids: list[int]) -> dict[int, tuple[int, int, str]]:
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
    progress = _progress(session, [row.id for row in rows])
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
