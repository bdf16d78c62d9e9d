"""Rows for tests, made straight with the ORM so a test does not depend on the roster or
template loaders. Each factory adds to the session and flushes, so the row has its id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from storage.models import Person, School, Template, TemplateTask

_serial = count(1)


def _next() -> int:
    return next(_serial)


def make_school(
    session: Session,
    code: str | None = None,
    *,
    name: str | None = None,
    district: str = "Pune",
    block: str = "Haveli",
    cluster: str = "",
    state: str | None = "Maharashtra",
    timezone: str | None = None,
) -> School:
    n = _next()
    school = School(
        code=code or f"S{n:05d}",
        name=name or f"School {n}",
        district=district,
        block=block,
        cluster=cluster,
        state=state,
        timezone=timezone,
    )
    session.add(school)
    session.flush()
    return school


def make_headmaster(
    session: Session,
    school: School | None,
    *,
    phone: str | None = None,
    name: str | None = None,
    language: str = "en",
    channel: str = "whatsapp",
    opted_out_at: dt.datetime | None = None,
) -> Person:
    n = _next()
    person = Person(
        phone=phone or f"+9190000{n:05d}",
        name=name or f"Headmaster {n}",
        role="headmaster",
        language=language,
        school_id=school.id if school else None,
        district=school.district if school else "",
        block=school.block if school else "",
        channel=channel,
        opted_out_at=opted_out_at,
    )
    session.add(person)
    session.flush()
    return person


def make_beo(
    session: Session,
    *,
    district: str = "Pune",
    block: str = "Haveli",
    phone: str | None = None,
    name: str | None = None,
    language: str = "en",
) -> Person:
    n = _next()
    person = Person(
        phone=phone or f"+9180000{n:05d}",
        name=name or f"BEO {n}",
        role="beo",
        language=language,
        district=district,
        block=block,
    )
    session.add(person)
    session.flush()
    return person


DEFAULT_TASKS: tuple[dict[str, Any], ...] = (
    {"key": "meet", "day": 0, "title": {"en": "Meet your teachers", "hi": "शिक्षकों से मिलें"}},
    {"key": "clean", "day": 3, "title": {"en": "Clean the classroom"}, "evidence": "photo"},
    {"key": "share", "day": 10, "title": {"en": "Share with parents"}, "mandatory": False},
)


def make_template(
    session: Session,
    slug: str = "clean-classrooms",
    *,
    version: int = 1,
    tasks: Sequence[dict[str, Any]] = DEFAULT_TASKS,
    title: dict[str, str] | None = None,
    objective: dict[str, str] | None = None,
    duration_days: int = 14,
    category: str = "elementary",
) -> Template:
    """A template version with `tasks` (dicts with key, day, title, and optionally mandatory,
    evidence, description), numbered from position 1 in the order given."""
    template = Template(
        slug=slug,
        version=version,
        category=category,
        duration_days=duration_days,
        title=title or {"en": "Clean classrooms", "hi": "स्वच्छ कक्षा"},
        objective=objective or {"en": "Every classroom clean and bright."},
        document={"slug": slug},
        digest=f"{slug}-{version}",
    )
    template.tasks = [
        TemplateTask(
            position=position,
            key=task["key"],
            day=task["day"],
            title=task["title"],
            description=task.get("description", {}),
            mandatory=task.get("mandatory", True),
            evidence=task.get("evidence", "none"),
            resources=task.get("resources", []),
        )
        for position, task in enumerate(tasks, start=1)
    ]
    session.add(template)
    session.flush()
    return template
