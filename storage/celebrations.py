"""Celebrations: a block passing 50% and 100% of a campaign, and the stories schools share.

Milestones are checked when a project completes (never by scanning every project), and
recorded once per campaign, block and step, so a block is celebrated once for each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    PROJECT_SUBMITTED,
    Campaign,
    Milestone,
    Person,
    Project,
    School,
    Template,
)

STEPS = (50, 100)


def milestones_reached(session: Session, project: Project, now: dt.datetime) -> list[Milestone]:
    """The milestones this project's completion crossed in its block, newly recorded."""
    school = session.get(School, project.school_id)
    if school is None:
        return []
    in_block = (Project.campaign_id == project.campaign_id) & Project.school_id.in_(
        select(School.id).where(School.district == school.district,
                                School.block == school.block))
    total, done = session.execute(
        select(func.count(), func.count().filter(Project.status == PROJECT_SUBMITTED))
        .where(in_block)
    ).one()
    if not total:
        return []
    percent = 100 * done / total
    already = set(session.scalars(select(Milestone.percent).where(
        Milestone.campaign_id == project.campaign_id, Milestone.district == school.district,
        Milestone.block == school.block)))
    reached = []
    for step in STEPS:
        if percent >= step and step not in already:
            milestone = Milestone(campaign_id=project.campaign_id, district=school.district,
                                  block=school.block, percent=step, reached_at=now)
            session.add(milestone)
            reached.append(milestone)
    session.flush()
    return reached


def block_headmasters(session: Session, milestone: Milestone) -> Sequence[Person]:
    """The headmasters of the block's schools in that campaign, who did not opt out."""
    return session.scalars(
        select(Person).join(Project, Project.headmaster_id == Person.id)
        .join(School, School.id == Project.school_id)
        .where(Project.campaign_id == milestone.campaign_id,
               School.district == milestone.district, School.block == milestone.block,
               Person.opted_out_at.is_(None))
        .order_by(Person.id)
    ).all()


def campaign_title(session: Session, campaign_id: int) -> dict[str, str]:
    title = session.scalar(select(Template.title).join(Campaign,
                                                       Campaign.template_id == Template.id)
                           .where(Campaign.id == campaign_id))
    return title or {}


def shareable_stories(session: Session, project_ids: Sequence[int]
                      ) -> tuple[list[dict[str, str]], list[int]]:
    """Stories of these projects whose headmasters agreed to share, in the order of
    `project_ids`; and the ids left out."""
    stories, left_out = [], []
    order = {project_id: n for n, project_id in reversed(list(enumerate(project_ids)))}
    rows = sorted(session.execute(
        select(Project.id, Project.story, Project.share_story, School.name)
        .join(School, School.id == Project.school_id).where(Project.id.in_(project_ids))
    ).all(), key=lambda row: order[row.id])
    found = {row.id for row in rows}
    for row in rows:
        if row.story and row.share_story:
            stories.append({"school": row.name, "story": row.story})
        else:
            left_out.append(row.id)
    left_out.extend(i for i in project_ids if i not in found)
    return stories, left_out


def picked_story_projects(session: Session) -> list[int]:
    """The projects whose stories the state team picked on the dashboard (/admin/evidence)
    and their headmasters agreed to share, in the order they were picked."""
    return list(session.scalars(
        select(Project.id).where(Project.story_picked_at.is_not(None),
                                 Project.share_story.is_(True), Project.story.is_not(None),
                                 Project.story != "")
        .order_by(Project.story_picked_at, Project.id)
    ))


def clear_story_picks(session: Session, project_ids: Sequence[int]) -> None:
    """Unpicks these stories (once celebrated), so the next celebration starts afresh."""
    for project in session.scalars(select(Project).where(Project.id.in_(project_ids))):
        project.story_picked_at = None
