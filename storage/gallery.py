"""The evidence gallery: stored photos and shared stories, always within a Scope.

Lists are paginated (a page asks for one row more than it shows, to know whether there is a
next page, instead of counting every photo of the state) and newest first. The filter menus
are built from what the scope holds: its campaigns, districts, blocks and the tasks of the
campaigns' templates. Picks (a photo or a story chosen by the state team for a celebration)
are timestamps, set and cleared here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from storage.models import (
    Campaign,
    Evidence,
    Project,
    School,
    Task,
    TemplateTask,
)
from storage.scope import Scope, block_key, district_key

PER_PAGE = 48
STORIES_PER_PAGE = 20
OWN_TASKS = "_own"  # the task filter's value for tasks headmasters added themselves
# Shown in the page; anything else is offered as a download, never rendered by the browser.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif",
                          "image/bmp", "image/heic", "image/heif"})


def title_of(title: Any, language: str = "en") -> str:
    """A {language: text} title in `language`, else English, else whichever comes first."""
    if isinstance(title, dict):
        for key in (language, "en"):
            if title.get(key):
                return str(title[key])
        return next((str(v) for v in title.values() if v), "")
    return str(title or "")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass
class Filters:
    """The menus of the gallery's filter form: only what the user's scope holds."""

    campaigns: list[Choice]
    districts: list[Choice]
    blocks: list[Choice]
    tasks: list[Choice]


@dataclass(frozen=True)
class Photo:
    id: int
    created_at: dt.datetime
    caption: str | None
    content_type: str | None
    picked_at: dt.datetime | None
    school_code: str
    school_name: str
    district: str
    block: str
    task_title: str
    campaign_id: int


@dataclass(frozen=True)
class Story:
    project_id: int
    story: str
    picked_at: dt.datetime | None
    completed_at: dt.datetime | None
    school_code: str
    school_name: str
    district: str
    block: str
    campaign_id: int


@dataclass
class Page:
    items: list[Any]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def in_scope_campaigns(session: Session, scope: Scope) -> list[Choice]:
    """Campaigns with a school in the scope (every campaign for the state), newest first."""
    if scope.nothing:
        # Asked here, not left to the condition: a false() swallows the join conditions
        # beside it, and the subquery would cross every project with every school.
        return []
    query = select(Campaign.id, Campaign.name).order_by(Campaign.created_at.desc(),
                                                        Campaign.id.desc())
    if not scope.is_everything:
        query = query.where(exists().where(Project.campaign_id == Campaign.id,
                                           School.id == Project.school_id, scope.condition()))
    return [Choice(str(row.id), row.name) for row in session.execute(query)]


def areas(session: Session, scope: Scope, district: str | None = None
          ) -> tuple[list[Choice], list[Choice]]:
    """The scope's districts, and its blocks (of `district` when one is chosen)."""
    rows = session.execute(
        select(func.min(School.district).label("district"), func.min(School.block).label("block"),
               district_key().label("dk"), block_key().label("bk"))
        .where(scope.condition()).group_by(district_key(), block_key())
    ).all()
    districts: dict[str, str] = {}
    for row in rows:
        districts.setdefault(row.dk, row.district.strip())
    chosen = (district or "").strip().lower()
    wanted = [row for row in rows if not chosen or row.dk == chosen]
    repeated = len({row.dk for row in wanted}) > 1
    blocks = sorted({Choice(row.block.strip(), f"{row.block.strip()} ({row.district.strip()})"
                            if repeated else row.block.strip())
                     for row in wanted if row.bk}, key=lambda c: (c.label.lower(), c.value))
    return ([Choice(name, name) for _, name in sorted(districts.items()) if name],
            blocks)


def task_choices(session: Session, campaign_ids: Sequence[int]) -> list[Choice]:
    """The tasks of these campaigns' templates, by key (versions of a template share keys),
    in template order; and the tasks headmasters added themselves."""
    if not campaign_ids:
        return []
    rows = session.execute(
        select(TemplateTask.key, TemplateTask.title)
        .join(Campaign, Campaign.template_id == TemplateTask.template_id)
        .where(Campaign.id.in_(campaign_ids))
        .order_by(Campaign.id.desc(), TemplateTask.position)
    ).all()
    seen: dict[str, str] = {}
    for row in rows:
        seen.setdefault(row.key, title_of(row.title) or row.key)
    return [Choice(key, title) for key, title in seen.items()] + [
        Choice(OWN_TASKS, "Tasks headmasters added")]


def filters(session: Session, scope: Scope, campaign_id: int | None = None,
            district: str | None = None) -> Filters:
    campaigns = in_scope_campaigns(session, scope)
    districts, blocks = areas(session, scope, district)
    ids = [int(c.value) for c in campaigns]
    if campaign_id is not None:
        ids = [i for i in ids if i == campaign_id]
    return Filters(campaigns, districts, blocks, task_choices(session, ids))


def photos(session: Session, scope: Scope, campaign_id: int | None = None,
           task: str | None = None, picked: bool = False, page: int = 1,
           per_page: int = PER_PAGE) -> Page:
    """Stored photos in the scope, newest first, one page of them.

    `task`: a template task's key, or OWN_TASKS; `picked`: only those picked to celebrate."""
    page = max(1, page)
    query = (
        select(Evidence.id, Evidence.created_at)
        .join(Task, Task.id == Evidence.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(School, School.id == Project.school_id)
        .where(Evidence.status == "stored", Evidence.kind == "photo", scope.condition())
    )
    if campaign_id is not None:
        query = query.where(Project.campaign_id == campaign_id)
    if picked:
        query = query.where(Evidence.picked_at.is_not(None))
    if task == OWN_TASKS:
        query = query.where(Task.template_task_id.is_(None))
    elif task:
        ids = session.scalars(select(TemplateTask.id).where(TemplateTask.key == task)).all()
        if not ids:
            return Page([], page, False)
        query = query.where(Task.template_task_id.in_(ids))
    if task:
        # Newest first along the photos' time order is quick when most photos match, but a
        # task with few photos would walk all of them: for a task, find every match first
        # (PostgreSQL would otherwise inline the CTE and walk), then sort those.
        matched = query.cte("matched").prefix_with("MATERIALIZED", dialect="postgresql")
        query = select(matched.c.id).order_by(matched.c.created_at.desc(), matched.c.id.desc())
    else:
        query = query.order_by(Evidence.created_at.desc(), Evidence.id.desc())
    ids = list(session.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
    has_next = len(ids) > per_page
    ids = ids[:per_page]
    if not ids:
        return Page([], page, False)
    # Then what the page shows, for its photos only.
    rows = {r.id: r for r in session.execute(
        select(Evidence.id, Evidence.created_at, Evidence.caption, Evidence.content_type,
               Evidence.picked_at, School.code, School.name, School.district, School.block,
               Task.own_title, TemplateTask.title.label("task_title"), Project.campaign_id)
        .join(Task, Task.id == Evidence.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(School, School.id == Project.school_id)
        .outerjoin(TemplateTask, TemplateTask.id == Task.template_task_id)
        .where(Evidence.id.in_(ids))
    )}
    items = [Photo(r.id, r.created_at, r.caption, r.content_type, r.picked_at, r.code, r.name,
                   r.district, r.block, r.own_title or title_of(r.task_title), r.campaign_id)
             for r in (rows[i] for i in ids if i in rows)]
    return Page(items, page, has_next)


def stories(session: Session, scope: Scope, campaign_id: int | None = None,
            picked: bool = False, page: int = 1, per_page: int = STORIES_PER_PAGE) -> Page:
    """Stories whose headmasters agreed to share them, in the scope: the picked ones first,
    then the newest."""
    page = max(1, page)
    query = (
        select(Project.id, Project.story, Project.story_picked_at, Project.completed_at,
               Project.campaign_id, School.code, School.name, School.district, School.block)
        .join(School, School.id == Project.school_id)
        .where(Project.share_story.is_(True), Project.story.is_not(None), Project.story != "",
               scope.condition())
    )
    if campaign_id is not None:
        query = query.where(Project.campaign_id == campaign_id)
    if picked:
        query = query.where(Project.story_picked_at.is_not(None))
    rows = session.execute(
        query.order_by(Project.story_picked_at.is_(None), Project.story_picked_at.desc(),
                       Project.id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)
    ).all()
    items = [Story(r.id, r.story, r.story_picked_at, r.completed_at, r.code, r.name,
                   r.district, r.block, r.campaign_id) for r in rows[:per_page]]
    return Page(items, page, len(rows) > per_page)


@dataclass(frozen=True)
class StoredPhoto:
    path: str
    content_type: str | None

    @property
    def inline(self) -> bool:
        base = (self.content_type or "").split(";")[0].strip().lower()
        return base in INLINE_TYPES


def stored_file(session: Session, scope: Scope, evidence_id: int) -> StoredPhoto | None:
    """A stored evidence file's path (relative to MEDIA_DIR) and type, if it is in the scope."""
    row = session.execute(
        select(Evidence.path, Evidence.content_type)
        .join(Task, Task.id == Evidence.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(School, School.id == Project.school_id)
        .where(Evidence.id == evidence_id, Evidence.status == "stored",
               Evidence.path.is_not(None), scope.condition())
    ).first()
    return StoredPhoto(row.path, row.content_type) if row else None


def pick_photo(session: Session, evidence_id: int, picked: bool, now: dt.datetime) -> bool:
    """Marks (or unmarks) a stored photo as picked for a celebration; False if there is none."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.status != "stored":
        return False
    if picked:
        evidence.picked_at = evidence.picked_at or now
    else:
        evidence.picked_at = None
    return True


def pick_story(session: Session, project_id: int, picked: bool, now: dt.datetime) -> bool:
    """Marks (or unmarks) a project's story as picked; False if it has none its headmaster
    agreed to share (a story nobody may share cannot be picked, but can always be unpicked)."""
    project = session.get(Project, project_id)
    if project is None:
        return False
    if picked:
        if not (project.share_story and project.story):
            return False
        project.story_picked_at = project.story_picked_at or now
    else:
        project.story_picked_at = None
    return True
