"""What an officer sees of their schools: the weekly digest and one school's report.

Scope is enforced here, where the data is read: a BEO's digest covers the schools of their
district and block, a DEO's the schools of their district, and `school_report` answers only
for a school inside the asker's area. Names are matched without regard to case or spaces.

Everything is computed set-based for many officers at once (the Monday digests of a state).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_INVITED,
    PROJECT_LAPSED,
    PROJECT_STARTED,
    PROJECT_SUBMITTED,
    TASK_IN_PROGRESS,
    TASK_NOT_STARTED,
    Campaign,
    Evidence,
    Person,
    Project,
    School,
    Task,
    Template,
    TemplateTask,
)
from storage.scope import block_key, district_key
from storage.silence import SILENT_AFTER as SILENT_AFTER  # where callers have imported it from
from storage.silence import heard, is_silent, last_heard

WEEK = dt.timedelta(days=7)
LISTED = 30  # silent schools listed in reply to "1"
PHOTOS = 10
WAITING = (PROJECT_INVITED, PROJECT_STARTED, PROJECT_IN_PROGRESS)
# "Started" as the dashboard counts it: every project past its invitation, including those
# completed and those that lapsed after starting, so a digest and the dashboard agree.
STARTED = (PROJECT_STARTED, PROJECT_IN_PROGRESS, PROJECT_SUBMITTED, PROJECT_LAPSED)


@dataclass(frozen=True)
class Area:
    """An officer's area: a district, and for a BEO one block in it (lower-cased)."""

    district: str
    block: str | None

    @classmethod
    def of(cls, person: Any) -> Area | None:
        district = (person.district or "").strip().lower()
        block = (person.block or "").strip().lower()
        if person.role == "beo" and district and block:
            return cls(district, block)
        if person.role == "deo" and district:
            return cls(district, None)
        return None

    def holds(self, district: str, block: str) -> bool:
        return district == self.district and (self.block is None or block == self.block)


def _district() -> Any:
    return district_key()


def _block() -> Any:
    return block_key()


LINK_DAYS = 30  # how long a photo link in a digest opens its photo (KADAM_LINK_DAYS)
LINK_TOKEN = re.compile(r"(?P<expires>[0-9]{1,12})-(?P<mac>[0-9a-f]{20})")


def evidence_link(public_url: str, secret: str, evidence_id: int, expires: dt.datetime) -> str:
    """An unguessable link to one photo until `expires` (anyone holding it may see that photo,
    no other, and not after then): the expiry and an HMAC of the id and the expiry."""
    until = int(expires.timestamp())
    return f"{public_url}/evidence/{evidence_id}/{until}-{_mac(secret, evidence_id, until)}"


def link_expiry(secret: str, evidence_id: int, token: str) -> dt.datetime | None:
    """When the link `token` to this evidence expires, or None if it is not one Kadam signed
    (malformed, another id's, another key's)."""
    found = LINK_TOKEN.fullmatch(token)
    if found is None:
        return None
    until = int(found["expires"])
    if not hmac.compare_digest(found["mac"], _mac(secret, evidence_id, until)):
        return None
    return dt.datetime.fromtimestamp(until, dt.UTC)


def unexpiring_link(secret: str, evidence_id: int, token: str) -> bool:
    """Whether `token` is a link Kadam signed before links carried an expiry (now refused)."""
    old = hmac.new(secret.encode(), str(evidence_id).encode(), hashlib.sha256).hexdigest()[:20]
    return re.fullmatch(r"[0-9a-f]{20}", token) is not None and hmac.compare_digest(old, token)


def _mac(secret: str, evidence_id: int, until: int) -> str:
    signed = f"{evidence_id}:{until}".encode()
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()[:20]


def digests(session: Session, officers: Sequence[Any], now: dt.datetime, public_url: str = "",
            secret: str = "", link_days: int = LINK_DAYS) -> dict[int, dict[str, Any]]:
    """The digest of each officer's area as of `now`, keyed by person id; its photo links
    open for `link_days` days."""
    areas = {o.id: a for o in officers if (a := Area.of(o)) is not None}
    districts = sorted({a.district for a in areas.values()})
    if not districts:
        return {o.id: {"area": "", "level": "block", "campaigns": []} for o in officers}
    in_districts = _district().in_(districts)
    rows = list(_project_rows(session, in_districts, now))
    current = _current_tasks(session, in_districts)
    helped = _help_requests(session, in_districts, now)
    photos = _photos(session, in_districts, now, public_url, secret,
                     now + dt.timedelta(days=link_days))
    titles = _titles(session)
    # Group once, then hand each officer their area: a state has 1,500 officers and 150,000
    # projects, and filtering every row for every officer would cost their product.
    by_block: dict[tuple[str, str], list[Any]] = defaultdict(list)
    by_district: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_block[(row.district, row.block)].append(row)
        by_district[row.district].append(row)
    photos_by_block: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    photos_by_district: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for photo in photos:
        photos_by_block[(photo["d"], photo["b"])].append(photo)
        photos_by_district[photo["d"]].append(photo)
    result = {}
    for officer in officers:
        area = areas.get(officer.id)
        if area is None:
            result[officer.id] = {"area": "", "level": "block", "campaigns": []}
            continue
        if area.block is None:
            mine, pictures = by_district[area.district], photos_by_district[area.district]
        else:
            key = (area.district, area.block)
            mine, pictures = by_block[key], photos_by_block[key]
        result[officer.id] = _assemble(area, officer, mine, current, helped, titles, now,
                                       pictures)
    return result


def _project_rows(session: Session, in_districts: Any, now: dt.datetime) -> Sequence[Any]:
    return session.execute(
        select(Project.id, Project.campaign_id, Project.status, Project.completed_at,
               heard(Person.last_inbound_at).label("heard"),
               School.code, School.name, _district().label("district"),
               _block().label("block"), School.block.label("block_name"),
               School.district.label("district_name"))
        .join(School, School.id == Project.school_id)
        .join(Person, Person.id == Project.headmaster_id)
        .where(in_districts)
        .order_by(School.name)
    ).all()


def _current_tasks(session: Session, in_districts: Any) -> dict[int, int]:
    """project id -> position of the first open task, for running projects."""
    first_open = (
        select(Task.project_id, func.min(Task.position).label("position"))
        .join(Project, Project.id == Task.project_id)
        .join(School, School.id == Project.school_id)
        .where(in_districts, Project.status.in_((PROJECT_STARTED, PROJECT_IN_PROGRESS)),
               Task.status.in_((TASK_NOT_STARTED, TASK_IN_PROGRESS)))
        .group_by(Task.project_id)
    )
    return dict(session.execute(first_open).all())  # type: ignore[arg-type]


def _help_requests(session: Session, in_districts: Any, now: dt.datetime) -> set[int]:
    return set(session.scalars(
        select(Task.project_id).distinct()
        .join(Project, Project.id == Task.project_id)
        .join(School, School.id == Project.school_id)
        .where(in_districts, Task.help_requested_at >= now - WEEK)
    ))


def _photos(session: Session, in_districts: Any, now: dt.datetime, public_url: str,
            secret: str, expires: dt.datetime) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Evidence.id, School.name, Task.position, _district(), _block())
        .join(Task, Task.id == Evidence.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(School, School.id == Project.school_id)
        .where(in_districts, Evidence.status == "stored", Evidence.kind == "photo",
               Evidence.created_at >= now - WEEK)
        .order_by(Evidence.id.desc())
    ).all()
    return [{"school": name, "task": position, "d": d, "b": b,
             "url": evidence_link(public_url, secret, evidence_id, expires)}
            for evidence_id, name, position, d, b in rows]


def _titles(session: Session) -> dict[int, tuple[dict[str, str], dict[int, dict[str, str]]]]:
    """campaign id -> (template title, {position: task title})."""
    out: dict[int, tuple[dict[str, str], dict[int, dict[str, str]]]] = {}
    for campaign_id, template_id, title in session.execute(
        select(Campaign.id, Template.id, Template.title)
        .join(Template, Template.id == Campaign.template_id)
    ):
        tasks: dict[int, dict[str, str]] = {
            position: task_title for position, task_title in session.execute(
                select(TemplateTask.position, TemplateTask.title)
                .where(TemplateTask.template_id == template_id))
        }
        out[campaign_id] = (title, tasks)
    return out


def _assemble(area: Area, officer: Any, rows: list[Any], current: dict[int, int],
              helped: set[int], titles: dict[int, Any], now: dt.datetime,
              photos: list[dict[str, Any]]) -> dict[str, Any]:
    by_campaign: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_campaign[row.campaign_id].append(row)
    campaigns = []
    silent_all: list[Any] = []
    for campaign_id, projects in sorted(by_campaign.items()):
        if not any(p.status in WAITING for p in projects) and not any(
                p.completed_at and p.completed_at >= now - WEEK for p in projects):
            continue  # a campaign that is over and quiet is not news
        title, task_titles = titles.get(campaign_id, ({}, {}))
        silent = [p for p in projects if is_silent(p.status, p.heard, now)]
        silent_all.extend(silent)
        positions = Counter(current[p.id] for p in projects if p.id in current)
        common = positions.most_common(1)
        section: dict[str, Any] = {
            "title": title,
            "schools": len(projects),
            "started": sum(1 for p in projects if p.status in STARTED),
            "completed": sum(1 for p in projects if p.status == PROJECT_SUBMITTED),
            "completed_this_week": [p.name for p in projects if p.completed_at
                                    and p.completed_at >= now - WEEK],
            "help": [p.name for p in projects if p.id in helped],
            "silent": [p.name for p in silent],
            "task": ({"position": common[0][0], "title": task_titles.get(common[0][0], {}),
                      "schools": common[0][1]} if common else None),
        }
        if area.block is None:
            blocks: dict[str, list[Any]] = defaultdict(list)
            for p in projects:
                blocks[p.block_name or "-"].append(p)
            section["blocks"] = [
                {"block": name, "schools": len(ps),
                 "completed": sum(1 for p in ps if p.status == PROJECT_SUBMITTED)}
                for name, ps in sorted(blocks.items())
            ]
        campaigns.append(section)
    return {
        "area": (officer.block if area.block else officer.district) or "",
        "level": "block" if area.block else "district",
        "campaigns": campaigns,
        "silent_schools": [{"name": p.name, "code": p.code, "project": p.id,
                            "days": (now - p.heard).days if p.heard else None}
                           for p in silent_all[:LISTED]],
        "silent_projects": [p.id for p in silent_all],
        "photos": [{"school": p["school"], "task": p["task"], "url": p["url"]}
                   for p in photos[:PHOTOS]],
    }


def school_report(session: Session, officer: Any, code: str, now: dt.datetime
                  ) -> dict[str, Any] | None:
    """One school's projects, if the school is in the officer's area; None otherwise."""
    area = Area.of(officer)
    if area is None:
        return None
    school = session.scalars(select(School).where(School.code == code.strip())).first()
    if school is None or not area.holds((school.district or "").strip().lower(),
                                        (school.block or "").strip().lower()):
        return None  # another block's school is "not found", not "not yours": no leak
    headmaster = session.scalars(select(Person.name).where(
        Person.school_id == school.id, Person.role == "headmaster")).first()
    projects = []
    for project, title in session.execute(
        select(Project, Template.title)
        .join(Campaign, Campaign.id == Project.campaign_id)
        .join(Template, Template.id == Campaign.template_id)
        .where(Project.school_id == school.id).order_by(Project.id)
    ):
        done = session.scalar(select(func.count()).select_from(Task).where(
            Task.project_id == project.id, Task.status == "completed")) or 0
        total = session.scalar(select(func.count()).select_from(Task).where(
            Task.project_id == project.id)) or 0
        heard = last_heard(project.headmaster.last_inbound_at, project)
        projects.append({"title": title, "status": project.status, "done": done,
                         "total": total, "days": (now - heard).days if heard else None})
    return {"school": school.name, "code": school.code, "headmaster": headmaster or "-",
            "projects": projects}


def officers_of(session: Session, school_id: int) -> list[Person]:
    """Who hears about this school's help requests: its BEO(s), else its district's DEO(s)."""
    school = session.get(School, school_id)
    if school is None:
        return []
    district = (school.district or "").strip().lower()
    block = (school.block or "").strip().lower()
    found = list(session.scalars(select(Person).where(
        Person.role == "beo", func.lower(func.trim(Person.district)) == district,
        func.lower(func.trim(Person.block)) == block)))
    if found:
        return found
    return list(session.scalars(select(Person).where(
        Person.role == "deo", func.lower(func.trim(Person.district)) == district)))
