"""A small state for dashboard tests, and signing in.

`build_world` makes two districts of two blocks each, three schools per block, a campaign over
all twelve, and moves projects into every state the dashboard shows (waiting, running with
tasks done, completed, lapsed, silent), with photos on disk, a story that tries to run a
script, and outbound messages delivered, failed and opted out. The counts tests assert are
taken from the rows made here, never typed in by hand.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from bot import create_app
from storage.admin_users import add_user
from storage.campaigns import launch
from storage.db import Database
from storage.models import Evidence, Outbox, Person, Project, School, Task, TaskEvent
from tests.factories import make_headmaster, make_school, make_template

PASSWORD = "correct horse battery"
# The smallest valid PNG: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105a0f3b10000000049454e44ae426082"
)
SCRIPT_STORY = "<script>alert('x')</script> Children now retell stories at assembly"
AREAS = (("Satara", "Wai"), ("Satara", "Koregaon"), ("Pune", "Haveli"), ("Pune", "Mulshi"))
NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)


# Who signs in, in the tests: the state team, two district offices and one block office.
USERS = {"state": ("state@example.org", "state", None),
         "satara": ("deo.satara@example.org", "district", "Satara"),
         "pune": ("deo.pune@example.org", "district", "Pune"),
         "wai": ("beo.wai@example.org", "block", "Wai")}


def add_users(db: Database) -> None:
    for email, role, scope in USERS.values():
        make_user(db, email, role, scope)


def client_for(app: Flask, who: str) -> FlaskClient:
    """A test client signed in as one of USERS."""
    client = app.test_client()
    assert sign_in(client, USERS[who][0]).status_code == 302
    return client


def make_app(db: Database, media_dir: Path, **config: Any) -> Flask:
    app = create_app({"database_url": db.url, "media_dir": media_dir, "twilio_account_sid": "",
                      "twilio_auth_token": "", "secret_key": "test-secret", **config})
    return app


def make_user(db: Database, email: str, role: str = "state", scope: str | None = None) -> None:
    with db.transaction() as session:
        add_user(session, email, PASSWORD, role, scope)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/admin/login").get_data(as_text=True))
    return client.post("/admin/login", data={"email": email, "password": password,
                                             "csrf_token": token})


def csrf(client: FlaskClient) -> str:
    """The signed-in session's CSRF token, for posting forms."""
    with client.session_transaction() as session:
        return str(session["csrf"])


@dataclass
class World:
    campaign_id: int
    # school code -> (district, block, project id, status)
    schools: dict[str, tuple[str, str, int, str]] = field(default_factory=dict)
    evidence_ids: list[int] = field(default_factory=list)
    script_project_id: int = 0
    silent_codes: list[str] = field(default_factory=list)

    def codes_in(self, district: str | None = None, block: str | None = None) -> list[str]:
        return sorted(code for code, (d, b, _, _) in self.schools.items()
                      if (district is None or d == district) and (block is None or b == block))


def build_world(db: Database, media_dir: Path, now: dt.datetime = NOW) -> World:
    media_dir.mkdir(parents=True, exist_ok=True)
    with db.transaction() as session:
        make_template(session, "retell", tasks=(
            {"key": "pick", "day": 0, "title": {"en": "Pick a story"}},
            {"key": "tell", "day": 3, "title": {"en": "Tell the story"}, "evidence": "photo"},
            {"key": "retell", "day": 7, "title": {"en": "Children retell it"}},
        ), title={"en": "Retell the Tale"})
        n = 0
        for district, block in AREAS:
            for i in range(3):
                n += 1
                school = make_school(session, f"{district[:2].upper()}{block[:2].upper()}{i}",
                                     name=f"ZP School {block} {i + 1}", district=district,
                                     block=block)
                make_headmaster(session, school, name=f"Headmaster {block} {i + 1}",
                                phone=f"+9198220{n:05d}")
    start = (now - dt.timedelta(days=10)).date()
    report = launch(db, "retell", ["all"], start_date=start, name="Retell the Tale, 2026",
                    now=now - dt.timedelta(days=10))
    world = World(campaign_id=report.campaign_id)
    with db.transaction() as session:
        projects = session.query(Project, School).join(School).order_by(School.code).all()
        for index, (project, school) in enumerate(projects):
            # Per block: school 0 completed or running, school 1 running and silent, school 2
            # still waiting; Mulshi is behind (nobody started), one Haveli project lapsed.
            slot = index % 3
            tasks = (session.query(Task).filter_by(project_id=project.id)
                     .order_by(Task.position).all())
            if school.block == "Mulshi":
                status, done = "invited", 0
            elif slot == 0 and school.block in ("Wai", "Koregaon"):
                status, done = "submitted", 3
            elif slot == 0:
                status, done = "lapsed", 1
            elif slot == 1:
                status, done = "in_progress", 1
            else:
                status, done = "invited", 0
            project.status = status
            if status != "invited":
                project.started_at = now - dt.timedelta(days=9)
                project.last_reply_at = now - dt.timedelta(days=8 if slot == 1 else 1)
            if status == "submitted":
                project.completed_at = now - dt.timedelta(days=1)
            if status == "lapsed":
                project.lapsed_at = now - dt.timedelta(days=2)
            # Silent as the digests count it: waiting or running, not heard from for 7 days
            # (school 2 of each block was invited 10 days ago and never answered).
            if status in ("invited", "in_progress"):
                world.silent_codes.append(school.code)
            for task in tasks[:done]:
                task.status = "completed"
                task.completed_at = now - dt.timedelta(days=9 - task.position)
                task.status_changed_at = task.completed_at
                session.add(TaskEvent(task_id=task.id, at=task.completed_at, status="completed",
                                      note="done" if task.position != 1 else None))
            if done >= 2:
                photo = media_dir / f"{school.code}.png"
                photo.write_bytes(PNG)
                evidence = Evidence(task_id=tasks[1].id, kind="photo", content_type="image/png",
                                    size=len(PNG), path=photo.name, status="stored",
                                    caption=f"Story time at {school.name}",
                                    created_at=now - dt.timedelta(days=5))
                session.add(evidence)
                session.flush()
                world.evidence_ids.append(evidence.id)
            if school.code == "SAWA0":
                project.story = SCRIPT_STORY
                project.share_story = True
                tasks[0].remarks = "<b>bold</b> remark"
                world.script_project_id = project.id
            person = session.get(Person, project.headmaster_id)
            outcome = ("delivered", None) if slot != 2 else ("failed", 63016)
            if school.block == "Haveli" and slot == 2:
                outcome = ("undelivered", 30003)
            session.add(Outbox(person_id=person.id, phone=person.phone, channel="whatsapp",
                               key="invitation", status=outcome[0], error_code=outcome[1],
                               project_id=project.id, created_at=now - dt.timedelta(days=10),
                               sent_at=now - dt.timedelta(days=10)))
            if school.code == "PUMU2":
                person.opted_out_at = now - dt.timedelta(days=3)
            world.schools[school.code] = (school.district, school.block, project.id, status)
    return world
