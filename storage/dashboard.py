"""What the dashboard shows about campaigns, read set-based and always within a Scope.

Each function answers one page with a handful of GROUP BY queries over the scope's schools,
never a query per school: a state campaign has 100,000 projects and a page must come back in
under half a second (bench/dashboard.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.gallery import Page, title_of
from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_INVITED,
    PROJECT_LAPSED,
    PROJECT_STARTED,
    PROJECT_SUBMITTED,
    TASK_COMPLETED,
    Campaign,
    Person,
    Project,
    School,
    Task,
    Template,
    TemplateTask,
)
from storage.school_pages import CampaignInfo, task_progress

# One school's and one project's pages are read in storage/school_pages.py; the dashboard's
# views (bot/web/admin/campaigns.py) find every page's reads here.
from storage.school_pages import campaign_info as campaign_info
from storage.school_pages import project_detail as project_detail
from storage.school_pages import school_detail as school_detail
from storage.scope import Scope, block_key, district_key
from storage.silence import heard, silent_condition


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
    progress = task_progress(session, [row.id for row in shown])
    items = []
    for row in shown:
        done, count, current = progress.get(row.id, (0, 0, ""))
        running = row.status in (PROJECT_STARTED, PROJECT_IN_PROGRESS)
        items.append(SchoolRow(row.id, row.code, row.name, row.district, row.block,
                               row.headmaster, row.status, row.heard, bool(row.silent), done,
                               count, current if running else ""))
    return Page(items, page, len(rows) > per_page)
