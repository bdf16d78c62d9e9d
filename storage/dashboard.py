"""What the dashboard shows about campaigns, read set-based and always within a Scope.

Each function answers one page with a handful of GROUP BY queries over the scope's schools,
never a query per school: a state campaign has 100,000 projects and a page must come back in
under half a second (bench/dashboard.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_INVITED,
    PROJECT_LAPSED,
    PROJECT_STARTED,
    PROJECT_SUBMITTED,
    Campaign,
    Project,
    School,
    Template,
)
from storage.scope import Scope


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
