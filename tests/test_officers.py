"""Block and district officers: help alerts and relays, the weekly digest, one-reply actions,
and what each may see. The digest's figures and silent schools are typed in: the ones this
small area must give."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from bot.clock.clock import tick
from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from bot.worker.outbound import render_row
from storage.campaigns import launch
from storage.models import Outbox, Person, TaskEvent
from storage.schedule import QuietHours
from storage.templates import load, parse
from tests.factories import make_headmaster, make_school

TEMPLATE = SHIPPED_TEMPLATES / "retell-the-tale.yaml"
START = dt.date(2026, 7, 6)  # a Monday
T0 = dt.datetime(2026, 7, 6, 4, 0, tzinfo=dt.UTC)  # 09:30 in Satara
QUIET = QuietHours()
_sid = itertools.count(1)


@pytest.fixture
def area(db):
    """Wai block: four schools; Koregaon block: two; a BEO for each, a DEO for Satara."""
    load(db, parse(TEMPLATE.read_text(encoding="utf-8")))
    people = {}
    with db.transaction() as session:
        for code, block in (("W1", "Wai"), ("W2", "Wai"), ("W3", "Wai"), ("W4", "Wai"),
                            ("K1", "Koregaon"), ("K2", "Koregaon")):
            school = make_school(session, code, name=f"School {code}", district="Satara",
                                 block=block)
            people[code] = make_headmaster(session, school, name=f"HM {code}").phone
        for role, block, phone in (("beo", "Wai", "+919811100001"),
                                   ("beo", "Koregaon", "+919811100002"),
                                   ("deo", "", "+919811100003")):
            session.add(Person(phone=phone, name=f"{role} {block or 'Satara'}", role=role,
                               district="Satara", block=block))
        people.update(beo_wai="+919811100001", beo_koregaon="+919811100002",
                      deo="+919811100003")
    launch(db, "retell-the-tale", ["district:Satara"], START, now=T0)
    return people


def engine(db):
    return Engine(db, Settings(database_url=db.url, public_url="https://kadam.example.org",
                               secret_key="s3cret"), QUIET)


def say(db, phone, text, now):
    return engine(db).receive(Inbound(sid=f"SM{next(_sid):032d}", phone=phone,
                                      channel="whatsapp", body=text), now)


def sent_to(db, phone, key=None):
    with db.sessions() as session:
        query = select(Outbox).where(Outbox.phone == phone).order_by(Outbox.id)
        rows = session.scalars(query).all()
        return [r for r in rows if key is None or r.key == key]


def text_of(db, row):
    with db.sessions() as session:
        person = session.scalars(select(Person).where(Person.phone == row.phone)).first()
        return render_row(session, session.merge(row), person).numbered()


def test_help_request_alerts_the_block_officer_and_the_answer_is_relayed(db, area):
    say(db, area["W1"], "yes", T0)
    say(db, area["W1"], "need help, our projector is broken", T0 + dt.timedelta(minutes=5))
    [alert] = sent_to(db, area["beo_wai"], "help.alert")
    text = text_of(db, alert)
    assert "School W1" in text and "projector is broken" in text
    assert not sent_to(db, area["beo_koregaon"])  # another block hears nothing
    assert not sent_to(db, area["deo"], "help.alert")  # the block has its own BEO

    say(db, area["beo_wai"], "I will bring one on Thursday", T0 + dt.timedelta(minutes=30))
    [reply] = sent_to(db, area["W1"], "help.reply")
    assert "I will bring one on Thursday" in text_of(db, reply)
    assert sent_to(db, area["beo_wai"], "help.relayed")
    with db.sessions() as session:
        notes = session.scalars(select(TaskEvent.status).where(TaskEvent.task_id ==
                                                               reply.task_id)).all()
    assert notes == ["help", "help_reply"]


def test_help_at_night_waits_for_the_officers_morning(db, area):
    night = dt.datetime(2026, 7, 6, 17, 0, tzinfo=dt.UTC)  # 22:30 in Satara
    say(db, area["W2"], "yes", night)
    say(db, area["W2"], "3", night + dt.timedelta(minutes=1))
    [alert] = sent_to(db, area["beo_wai"], "help.alert")
    morning = alert.next_attempt_at.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert morning.hour == 8


def test_monday_digest_matches_the_rows(db, area):
    for code in ("W1", "W2"):
        say(db, area[code], "yes", T0)
    say(db, area["W2"], "done", T0 + dt.timedelta(days=8))  # heard from, but two weeks ago
    say(db, area["W1"], "done", T0 + dt.timedelta(days=15))  # heard from this week
    monday = dt.datetime(2026, 7, 20, 3, 45, tzinfo=dt.UTC)  # 09:15 Satara, two weeks on
    report = tick(db, Settings(database_url=db.url), monday, QUIET)
    assert report.digests == 0  # first tick only schedules each officer's first digest
    report = tick(db, Settings(database_url=db.url), monday + dt.timedelta(days=7), QUIET)
    assert report.digests == 3
    now = monday + dt.timedelta(days=7)

    # Silent: not heard from for 7 days. W1 wrote six days ago; W2 wrote, but 19 days ago; W3
    # and W4 never answered their invitation. Koregaon's schools are another block's.
    [digest] = sent_to(db, area["beo_wai"], "digest")
    text = text_of(db, digest)
    assert len(text) <= 1000 + 60  # the message, plus its numbered options
    assert "2 of 4 schools started" in text  # W1 and W2 said yes
    assert "School K1" not in text and "School K2" not in text
    assert "Silent for 7 days or more: School W2, School W3, School W4\n" in text

    [district] = sent_to(db, area["deo"], "digest")
    district_text = text_of(db, district)
    assert "2 of 6 schools started" in district_text
    assert "Wai: 0 of 4 completed" in district_text and "Koregaon: 0 of 2" in district_text
    assert ("Silent for 7 days or more: School K1, School K2, School W2 and 2 more\n"
            in district_text)

    # one reply: the silent schools by name; two: a nudge to each of them, no one else
    say(db, area["beo_wai"], "1", now + dt.timedelta(minutes=5))
    listed = text_of(db, sent_to(db, area["beo_wai"], "digest.silent")[0])
    assert listed.splitlines()[1:] == ["School W2 (W2): 12 days", "School W3 (W3): 20 days",
                                       "School W4 (W4): 20 days"]
    say(db, area["beo_wai"], "2", now + dt.timedelta(minutes=6))
    nudged = {phone for phone in area.values() if sent_to(db, phone, "nudge")}
    assert nudged == {area["W2"], area["W3"], area["W4"]}


def test_officers_see_only_their_area(db, area):
    say(db, area["beo_wai"], "school W3", T0)
    assert "School W3" in text_of(db, sent_to(db, area["beo_wai"], "school.report")[0])
    say(db, area["beo_wai"], "school K1", T0 + dt.timedelta(minutes=1))
    assert sent_to(db, area["beo_wai"], "school.not_found")
    say(db, area["deo"], "school K1", T0 + dt.timedelta(minutes=2))
    assert sent_to(db, area["deo"], "school.report")
    # and a headmaster asking about another school is just not understood
    say(db, area["W1"], "school W2", T0 + dt.timedelta(minutes=3))
    assert not sent_to(db, area["W1"], "school.report")


def test_status_any_time(db, area):
    say(db, area["beo_koregaon"], "status", T0)
    text = text_of(db, sent_to(db, area["beo_koregaon"], "digest")[0])
    assert "0 of 2 schools started" in text
