"""Broadcasts (circulars) and celebrations: queued for the audience in their language, and a
delivery report that adds up to the audience after Twilio's callbacks."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from bot.cli import main
from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from bot.worker.outbound import render_row
from storage import outbox as outbox_store
from storage.broadcasts import report
from storage.campaigns import launch
from storage.models import Outbox, Person, Project, School
from storage.templates import load, parse
from tests.clock import NOW, TODAY, Ticking

TEMPLATE = SHIPPED_TEMPLATES / "retell-the-tale.yaml"
_sid = itertools.count(1)


def seed_people(db, count, opted_out_every=50):
    """`count` schools with a headmaster each, in two districts; every 50th opted out."""
    now = NOW
    with db.transaction() as session:
        session.execute(insert(School), [
            {"code": f"S{i:05d}", "name": f"School {i}", "district": "Satara" if i % 2 else "Pune",
             "block": f"Block {i % 7}", "cluster": "", "state": "Maharashtra"}
            for i in range(count)])
        ids = dict(session.execute(select(School.code, School.id)).all())
        session.execute(insert(Person), [
            {"phone": f"+9197{i:08d}", "name": f"HM {i}", "role": "headmaster",
             "language": "hi" if i % 3 else "en", "school_id": ids[f"S{i:05d}"],
             "district": "", "block": "", "channel": "whatsapp", "sms_allowed": True,
             "opted_out_at": now if i % opted_out_every == 0 else None,
             "created_at": now, "updated_at": now}
            for i in range(count)])


@pytest.fixture
def runner(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    return CliRunner()


def test_a_broadcast_to_5000_adds_up_after_delivery_callbacks(db, runner, tmp_path):
    seed_people(db, 5000)
    message = tmp_path / "circular.yaml"
    message.write_text("en: Science fair on Friday. Please send one photo.\n"
                       "hi: शुक्रवार को विज्ञान मेला है। कृपया एक फ़ोटो भेजें।\n", encoding="utf-8")
    # `kadam broadcast` stamps its rows with the real time (it has no clock to be given);
    # nothing below depends on when that is.
    result = runner.invoke(main, ["broadcast", "--audience", "all", "--message", str(message)])
    assert result.exit_code == 0, result.output
    assert "audience 5000" in result.output and "opted_out: 100" in result.output

    # The worker's part, simulated: everything not opted out is accepted by Twilio...
    with db.transaction() as session:
        rows = session.scalars(select(Outbox).where(Outbox.status == "queued")).all()
        for row in rows:
            row.status, row.provider_sid = "sent", f"SM{row.id:032d}"
        person = session.get(Person, rows[1].person_id)
        text = render_row(session, rows[1], person).text
    assert text in ("Science fair on Friday. Please send one photo.",
                    "शुक्रवार को विज्ञान मेला है। कृपया एक फ़ोटो भेजें।")
    # ...then Twilio calls back: most delivered, some read, some failed, some late.
    with db.transaction() as session:
        for n, row in enumerate(rows):
            sid = f"SM{row.id:032d}"
            if n % 10 == 0:
                outbox_store.apply_status_callback(session, sid, "failed", 30008)
            elif n % 10 == 1:
                outbox_store.apply_status_callback(session, sid, "undelivered", 30003)
            else:
                outbox_store.apply_status_callback(session, sid, "delivered", None)
                if n % 3 == 0:
                    outbox_store.apply_status_callback(session, sid, "read", None)
                    outbox_store.apply_status_callback(session, sid, "delivered", None)  # late

    broadcast_id = int(result.output.split()[1].rstrip(":"))
    with db.sessions() as session:
        summary = report(session, broadcast_id)
    sent = len(rows)
    failed = sum(1 for n in range(sent) if n % 10 == 0)
    undelivered = sum(1 for n in range(sent) if n % 10 == 1)
    read = sum(1 for n in range(sent) if n % 10 > 1 and n % 3 == 0)
    assert summary.by_status["failed"] == failed
    assert summary.by_status["undelivered"] == undelivered
    assert summary.by_status["read"] == read
    assert summary.by_status["delivered"] == sent - failed - undelivered - read
    assert summary.opted_out == 100
    assert summary.failed_by_code == {"30008": failed, "30003": undelivered}
    assert sum(summary.by_status.values()) == summary.audience == 5000

    shown = runner.invoke(main, ["broadcast", "report", str(broadcast_id)])
    assert shown.exit_code == 0 and f"read: {read}" in shown.output


def test_broadcast_audience_by_district_and_to_officers(db, runner, tmp_path):
    seed_people(db, 20, opted_out_every=1000)
    with db.transaction() as session:
        session.add(Person(phone="+919800011111", name="BEO", role="beo", district="Satara",
                           block="Block 1"))
    message = tmp_path / "note.txt"
    message.write_text("Review meeting on Monday at 11.", encoding="utf-8")
    result = runner.invoke(main, ["broadcast", "--audience", "district:satara", "--role", "all",
                                  "--message", str(message), "--at", "2026-12-01T04:30:00"])
    assert result.exit_code == 0, result.output
    with db.sessions() as session:
        phones = session.scalars(select(Outbox.phone)).all()
        at = session.scalars(select(Outbox.next_attempt_at)).first()
    assert len(phones) == 11  # ten Satara headmasters and their BEO
    assert "+919800011111" in phones
    assert at == dt.datetime(2026, 12, 1, 4, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("args", [["--audience", "all"], ["--message", "x.yaml"]])
def test_broadcast_needs_audience_and_message(runner, args, tmp_path):
    (tmp_path / "x.yaml").write_text("en: hi", encoding="utf-8")
    result = runner.invoke(main, ["broadcast", *args], catch_exceptions=False)
    assert result.exit_code == 2


def test_block_milestones_and_shared_stories(db, runner):
    load(db, parse(TEMPLATE.read_text(encoding="utf-8")))
    seed_people(db, 16, opted_out_every=1000)
    # Schools 1 and 15 are both in Satara's Block 1.
    clock = Ticking()
    launch(db, "retell-the-tale", ["school:S00001", "school:S00015"],
           TODAY - dt.timedelta(days=40), now=clock())  # every task's day has come
    engine = Engine(db, Settings(database_url=db.url))
    with db.sessions() as session:
        phones = session.scalars(select(Person.phone).join(Project, Project.headmaster_id ==
                                                           Person.id).order_by(Person.id)).all()
    assert len(phones) == 2

    def say(phone, text):
        engine.receive(Inbound(f"SM{next(_sid):032d}", phone, "whatsapp", text), now=clock())
        with db.sessions() as session:
            return session.scalars(select(Outbox.key).where(Outbox.phone == phone)
                                   .order_by(Outbox.id.desc())).first()

    def finish(phone, share):
        last = say(phone, "yes")
        while last != "project.story_question":
            last = say(phone, "skip" if last == "task.done_send_photo" else "done")
        say(phone, "We read every day")
        say(phone, share)

    def celebrations():
        with db.sessions() as session:
            return session.scalars(select(Outbox.params).where(
                Outbox.key == "celebration.block")).all()

    finish(phones[0], "yes")
    assert [p["percent"] for p in celebrations()] == [50, 50]  # both headmasters hear it
    finish(phones[1], "no")
    assert sorted(p["percent"] for p in celebrations()) == [50, 50, 100, 100]

    with db.sessions() as session:
        projects = session.scalars(select(Project.id).order_by(Project.id)).all()
    result = runner.invoke(main, ["celebrate", "--project", str(projects[0]), "--project",
                                  str(projects[1]), "--audience", "all"])
    assert result.exit_code == 0, result.output
    assert f"project {projects[1]}: no story" in result.output
    with db.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.key == "celebration.stories")).first()
        text = render_row(session, row, session.get(Person, row.person_id)).text
        count = session.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.key == "celebration.stories"))
    assert "School 1" in text and "We read every day" in text
    assert count == 16
