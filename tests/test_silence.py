""""Silent" means not heard from: any message from a headmaster ("status", "menu", a word Kadam
did not understand) counts, in the BEO digest and its nudge, the dashboard and the exports
(storage/silence.py). Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from bot.worker.outbound import render_row
from storage.campaigns import launch
from storage.dashboard import area_rows, project_detail, school_detail, school_rows
from storage.exports import PROJECT_COLUMNS, project_rows
from storage.models import Outbox, Person, Project, School
from storage.schedule import QuietHours
from storage.scope import Scope
from storage.templates import load, parse
from tests.factories import make_headmaster, make_school

TEMPLATE = SHIPPED_TEMPLATES / "retell-the-tale.yaml"
START = dt.date(2026, 7, 6)
T0 = dt.datetime(2026, 7, 6, 4, 0, tzinfo=dt.UTC)  # 09:30 in Satara
NOW = T0 + dt.timedelta(days=14)
BEO = "+919811100001"
_sid = itertools.count(1)


@pytest.fixture
def wai(db):
    """Three schools of Wai block, all of whom said yes on the first day. Since then Sunita
    Pawar only asked for her status (two days ago), Ramesh Jadhav sent nothing, and Meena
    Shinde wrote something Kadam did not understand (yesterday)."""
    load(db, parse(TEMPLATE.read_text(encoding="utf-8")))
    phones = {}
    with db.transaction() as session:
        for code, name, school in (("27310100101", "Sunita Pawar", "ZP Primary School Wai"),
                                   ("27310100102", "Ramesh Jadhav", "ZP School Bavdhan"),
                                   ("27310100103", "Meena Shinde", "ZP School Kavathe")):
            row = make_school(session, code, name=school, district="Satara", block="Wai")
            phones[name] = make_headmaster(session, row, name=name).phone
        session.add(Person(phone=BEO, name="Prakash More", role="beo", district="Satara",
                           block="Wai"))
    launch(db, "retell-the-tale", ["block:Wai"], START, now=T0)
    for phone in phones.values():
        say(db, phone, "yes", T0 + dt.timedelta(minutes=5))
    say(db, phones["Sunita Pawar"], "status", NOW - dt.timedelta(days=2))
    say(db, phones["Meena Shinde"], "namaste sir", NOW - dt.timedelta(days=1))
    return phones


def say(db, phone, text, now):
    engine = Engine(db, Settings(database_url=db.url, public_url="https://kadam.example.org",
                                 secret_key="s3cret"), QuietHours())
    engine.receive(Inbound(sid=f"SM{next(_sid):032d}", phone=phone, channel="whatsapp",
                           body=text), now)


def last_text(db, phone, key):
    with db.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.phone == phone, Outbox.key == key)
                              .order_by(Outbox.id.desc())).first()
        assert row is not None, f"nothing {key!r} sent to {phone}"
        person = session.scalars(select(Person).where(Person.phone == phone)).one()
        return render_row(session, row, person).numbered()


def nudged(db, phones):
    with db.sessions() as session:
        sent = set(session.scalars(select(Outbox.phone).where(Outbox.key == "nudge")))
    return sorted(name for name, phone in phones.items() if phone in sent)


def test_a_status_two_days_ago_is_being_heard_from_in_the_digest_and_the_nudge(db, wai):
    say(db, BEO, "status", NOW)
    digest = last_text(db, BEO, "digest")
    assert "Silent for 7 days or more: ZP School Bavdhan" in digest
    assert "ZP Primary School Wai" not in digest and "ZP School Kavathe" not in digest

    say(db, BEO, "1", NOW + dt.timedelta(minutes=2))
    listed = last_text(db, BEO, "digest.silent")
    assert "ZP School Bavdhan (27310100102): 13 days" in listed
    assert "ZP Primary School Wai" not in listed

    say(db, BEO, "2", NOW + dt.timedelta(minutes=3))
    assert nudged(db, wai) == ["Ramesh Jadhav"]
    assert "on its way to 1 headmasters" in last_text(db, BEO, "digest.nudged")


def test_a_headmaster_who_writes_after_the_digest_is_not_nudged(db, wai):
    say(db, BEO, "status", NOW)
    say(db, wai["Ramesh Jadhav"], "menu", NOW + dt.timedelta(minutes=30))
    say(db, BEO, "1", NOW + dt.timedelta(hours=1))
    assert "No school has been silent" in last_text(db, BEO, "digest.silent")
    say(db, BEO, "2", NOW + dt.timedelta(hours=1, minutes=1))
    assert nudged(db, wai) == []
    assert "on its way to 0 headmasters" in last_text(db, BEO, "digest.nudged")


def test_the_school_report_counts_days_from_the_last_message(db, wai):
    say(db, BEO, "school 27310100101", NOW)
    assert "last heard 2 days ago" in last_text(db, BEO, "school.report")


def _campaign_id(db):
    with db.sessions() as session:
        return session.scalar(select(Project.campaign_id))


def test_the_dashboard_marks_only_the_school_not_heard_from(db, wai):
    everything = Scope.everything()
    campaign_id = _campaign_id(db)
    with db.sessions() as session:
        [block] = area_rows(session, everything, campaign_id, NOW, by_block=True)
        page = school_rows(session, everything, campaign_id, NOW)
        only_silent = school_rows(session, everything, campaign_id, NOW, silent_only=True)
        sunita = school_detail(session, everything, "27310100101", NOW)
        project_id = session.scalar(select(Project.id).join(School).where(
            School.code == "27310100101"))
        detail = project_detail(session, everything, project_id, NOW)
    assert block.silent == 1
    assert {row.name: row.silent for row in page.items} == {
        "ZP Primary School Wai": False, "ZP School Bavdhan": True, "ZP School Kavathe": False}
    assert [row.name for row in only_silent.items] == ["ZP School Bavdhan"]
    heard = {row.name: row.heard for row in page.items}
    assert heard["ZP Primary School Wai"] == NOW - dt.timedelta(days=2)
    assert heard["ZP School Kavathe"] == NOW - dt.timedelta(days=1)
    assert heard["ZP School Bavdhan"] == T0 + dt.timedelta(minutes=5)  # their "yes"
    assert sunita is not None and not sunita.projects[0].silent
    assert sunita.projects[0].heard == NOW - dt.timedelta(days=2)
    assert detail is not None and not detail.silent and detail.heard == NOW - dt.timedelta(days=2)


def test_the_silent_export_holds_only_the_school_not_heard_from(db, wai):
    with db.sessions() as session:
        silent = [dict(zip(PROJECT_COLUMNS, row, strict=True))
                  for row in project_rows(session, silent_at=NOW)]
        every = {row[5]: dict(zip(PROJECT_COLUMNS, row, strict=True))
                 for row in project_rows(session)}
    assert [row["school_name"] for row in silent] == ["ZP School Bavdhan"]
    sunita = every["ZP Primary School Wai"]
    assert sunita["last_reply_at"] == "2026-07-06T04:05:00Z"  # her "yes"
    assert sunita["last_heard_at"] == "2026-07-18T04:00:00Z"  # her "status"
