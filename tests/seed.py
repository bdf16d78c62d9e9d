"""One invited headmaster with a four-task project, for tests of the engine and webhooks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage.db import Database
from storage.models import (
    Campaign,
    Conversation,
    Person,
    Project,
    School,
    Task,
    Template,
    TemplateTask,
)
from tests.clock import NOW, india_date

TASKS = (
    ("brief", 0, "Brief your teachers", "शिक्षकों को बताएं", "none"),
    ("parents", 0, "Talk about the parents' role", "अभिभावकों की भूमिका पर बात करें", "none"),
    ("stories", 0, "Find stories for children", "बच्चों के लिए कहानियाँ खोजें", "photo"),
    ("event", 21, "Hold a showcase event", "प्रदर्शन कार्यक्रम करें", "photo"),
)


@dataclass(frozen=True)
class Seeded:
    phone: str
    person_id: int
    project_id: int
    task_ids: tuple[int, ...]


def seed_project(db: Database, *, phone: str = "+919822012345", channel: str = "whatsapp",
                 language: str = "en", start: dt.date | None = None,
                 now: dt.datetime = NOW) -> Seeded:
    """Invited at `now` (tests.clock's NOW unless the test runs on another clock), to a
    campaign that starts on `start`, by default that day in India: the first three tasks are
    due that day, the fourth three weeks on."""
    start = start or india_date(now)
    with db.transaction() as session:
        school = School(code="27310100101", name="ZP School Wai", district="Satara",
                        block="Wai", cluster="Wai-1", state="Maharashtra")
        person = Person(phone=phone, name="Sunita Pawar", role="headmaster", language=language,
                        school=school, district="Satara", block="Wai", channel=channel)
        template = Template(slug="retell", version=1, category="elementary", duration_days=28,
                            title={"en": "Retell the Tale", "hi": "कहानी फिर से सुनाओ"},
                            objective={"en": "Every child retells a story."}, document={},
                            digest="x")
        session.add_all([school, person, template])
        session.flush()
        campaign = Campaign(template_id=template.id, name="Retell, Satara", audience=["all"],
                            start_date=start)
        session.add(campaign)
        session.flush()
        project = Project(campaign_id=campaign.id, school_id=school.id, headmaster_id=person.id,
                          status="invited", invited_at=now)
        session.add(project)
        session.flush()
        task_ids = []
        for position, (key, day, en, hi, evidence) in enumerate(TASKS, start=1):
            tt = TemplateTask(template_id=template.id, position=position, key=key, day=day,
                              title={"en": en, "hi": hi}, evidence=evidence)
            session.add(tt)
            session.flush()
            task = Task(project_id=project.id, position=position, template_task_id=tt.id,
                        evidence=evidence, due_on=start + dt.timedelta(days=day))
            session.add(task)
            session.flush()
            task_ids.append(task.id)
        session.add(Conversation(person_id=person.id, state="invited",
                                 context={"project_id": project.id}))
        return Seeded(phone, person.id, project.id, tuple(task_ids))
