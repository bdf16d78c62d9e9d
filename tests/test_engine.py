"""A whole project through the engine and the database, on SQLite and PostgreSQL.

The shipped "Retell the Tale" template, a real launch, and the headmaster's replies as they
would arrive from Twilio; then what the state team would see in the export.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from storage.campaigns import launch
from storage.exports import PROJECT_COLUMNS, project_rows
from storage.models import Evidence, Outbox, Person, Project, Task, TaskEvent
from storage.templates import load, parse
from tests.clock import TODAY, Ticking
from tests.factories import make_headmaster, make_school

TEMPLATES = SHIPPED_TEMPLATES
_sid = itertools.count(1)


@pytest.fixture
def engine(db):
    return Engine(db, Settings(database_url=db.url))


def load_template(db, name: str) -> None:
    load(db, parse((TEMPLATES / f"{name}.yaml").read_text(encoding="utf-8")))


@pytest.fixture
def headmaster(db):
    with db.transaction() as session:
        school = make_school(session, "27310100101", name="ZP School Wai", district="Satara")
        person = make_headmaster(session, school, phone="+919822012345", name="Sunita",
                                 language="hi")
        return person.phone


@pytest.fixture
def clock():
    """The test's clock: NOW for the first launch, a minute later for each step after it."""
    return Ticking()


@pytest.fixture
def say(engine, clock):
    """The headmaster writes (with photos of these types), a minute after the last step."""

    def say(phone, text="", media=()):
        inbound = Inbound(sid=f"SM{next(_sid):032d}", phone=phone, channel="whatsapp",
                          body=text,
                          media=[{"url": f"https://api.twilio.com/Media/ME{i}",
                                  "content_type": ct} for i, ct in enumerate(media)])
        return engine.receive(inbound, now=clock())

    return say


def last_keys(db, phone, n):
    with db.sessions() as session:
        keys = session.scalars(select(Outbox.key).where(Outbox.phone == phone)
                               .order_by(Outbox.id.desc()).limit(n)).all()
    return list(reversed(keys))


def test_retell_the_tale_from_invitation_to_story(db, say, clock, headmaster):
    load_template(db, "retell-the-tale")
    started = TODAY - dt.timedelta(days=30)  # every task's day has come
    launch(db, "retell-the-tale", ["district:Satara"], started, now=clock())
    assert last_keys(db, headmaster, 1) == ["invitation"]

    say(headmaster, "haan ji")
    assert last_keys(db, headmaster, 2) == ["invitation.accepted", "task.prompt"]
    say(headmaster, "ho gaya")  # 1
    say(headmaster, "task 2 hogaya sir")
    say(headmaster, "need help, no internet in the village")  # on task 3
    say(headmaster, "add Paint a story wall")
    say(headmaster, "3 done")
    say(headmaster, "झाले")  # 4
    say(headmaster, "1")  # 5 wants a photo
    assert last_keys(db, headmaster, 1) == ["task.done_send_photo"]
    say(headmaster, "", media=("image/jpeg",))
    say(headmaster, "✅")  # 6
    say(headmaster, "done", media=("image/jpeg", "image/jpeg"))  # 7, with two photos
    assert last_keys(db, headmaster, 2) == ["project.celebration", "project.story_question"]
    say(headmaster, "बच्चे अब सभा में कहानियाँ सुनाते हैं")
    assert last_keys(db, headmaster, 2) == ["project.story_saved", "project.share_question"]
    say(headmaster, "haan")

    with db.sessions() as session:
        project = session.scalars(select(Project)).one()
        tasks = session.scalars(select(Task).order_by(Task.position)).all()
        assert project.status == "submitted" and project.completed_at is not None
        assert project.story == "बच्चे अब सभा में कहानियाँ सुनाते हैं"
        assert project.share_story is True
        assert [t.status for t in tasks[:7]] == ["completed"] * 7
        own = tasks[7]
        assert (own.origin, own.own_title, own.status) == ("own", "Paint a story wall",
                                                           "not_started")
        help_task = tasks[2]
        assert help_task.help_requested_at is not None
        assert "no internet" in help_task.remarks
        assert session.scalars(select(Evidence.status)).all() == ["pending"] * 3
        events = session.scalars(select(TaskEvent.status).where(TaskEvent.task_id == tasks[2].id)
                                 ).all()
        assert events == ["help", "completed"]
        row = dict(zip(PROJECT_COLUMNS, next(project_rows(session)), strict=True))
    assert (row["status"], row["tasks_done"], row["tasks_total"]) == ("submitted", 7, 8)
    assert row["evidence_count"] == 3


def test_an_invitation_mid_task_keeps_the_task_in_hand(db, say, clock, headmaster):
    load_template(db, "retell-the-tale")
    load_template(db, "virtual-ptm")
    launch(db, "retell-the-tale", ["all"], TODAY, now=clock())
    say(headmaster, "yes")
    launch(db, "virtual-ptm", ["all"], TODAY, now=clock())
    say(headmaster, "done")  # about Retell the Tale's task 1, not the invitation
    with db.sessions() as session:
        projects = session.scalars(select(Project).order_by(Project.id)).all()
        first_task = session.scalars(select(Task).where(Task.project_id == projects[0].id)
                                     .order_by(Task.position)).first()
    assert first_task.status == "completed"
    assert projects[1].status == "invited"
    assert last_keys(db, headmaster, 2) == ["task.done", "task.next_on"]
    say(headmaster, "haan")  # a plain yes, with an invitation pending, accepts it
    with db.sessions() as session:
        assert session.get(Project, projects[1].id).status == "started"


def test_stop_is_remembered_and_start_undoes_it(db, say, headmaster):
    say(headmaster, "STOP")
    with db.sessions() as session:
        assert session.scalars(select(Person)).one().opted_out_at is not None
    say(headmaster, "start")
    with db.sessions() as session:
        assert session.scalars(select(Person)).one().opted_out_at is None
    assert last_keys(db, headmaster, 2) == ["opted_out", "opted_in"]
