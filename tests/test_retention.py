"""KADAM_RETENTION_DAYS: the clock's daily purge of personal data, on SQLite and PostgreSQL.

The world: two headmasters and their block officer. Campaign "Monsoon" ran 430 days ago and
ended 400 days ago (one project completed with a story, one lapsed after a help request);
campaign "Winter" started 10 days ago with the same schools. The headmasters wrote, sent
photos and were answered through the engine and the worker, as in production. A number not
in the roster wrote 40 days ago and 5 days ago.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.clock.clock import Clock, tick
from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from bot.worker.channels import ConsoleChannel
from bot.worker.loop import Worker
from bot.worker.outbound import render_row, sms_row
from storage import retention
from storage.campaigns import launch
from storage.dashboard import campaign_summaries
from storage.db import Database
from storage.delivery import health
from storage.exports import TASK_COLUMNS, project_rows, task_rows
from storage.learning import UnreadReply
from storage.media_store import MediaStore
from storage.models import (
    Campaign,
    Conversation,
    Evidence,
    InboundMessage,
    LoginAttempt,
    Outbox,
    Person,
    Project,
    PurgeRun,
    Task,
    TaskEvent,
)
from storage.schedule import QuietHours
from storage.scope import Scope
from tests.admin_support import PNG
from tests.factories import make_beo, make_headmaster, make_school, make_template
from tests.twilio_standin import TwilioStandin

NOW = dt.datetime(2027, 3, 1, 5, 0, tzinfo=dt.UTC)  # 10:30 in India
MONSOON = NOW - dt.timedelta(days=430)
WINTER = NOW - dt.timedelta(days=10)
ASHA, RAVI, PRAKASH = "+919800000001", "+919800000002", "+918000000001"
STRANGER = "+919811111111"
NO_QUIET = QuietHours(dt.time(0, 0), dt.time(0, 0))
REMARKS = TASK_COLUMNS.index("remarks")
LINKS = TASK_COLUMNS.index("evidence_links")


@dataclass
class World:
    monsoon: int
    winter: int
    media: Path
    old_photos: list[str]
    new_photos: list[str]


class Scene:
    """Messages as Twilio would deliver them, answered and sent as in production."""

    def __init__(self, db: Database, settings: Settings):
        self.db = db
        self.settings = settings
        self.engine = Engine(db, settings, NO_QUIET)

    def say(self, phone: str, body: str, at: dt.datetime, photo: str | None = None) -> None:
        media = [{"url": photo, "content_type": "image/png"}] if photo else []
        self.engine.receive(Inbound(sid="SM" + uuid.uuid4().hex, phone=phone,
                                    channel="whatsapp", body=body, media=media), at)
        with Worker(self.db, self.settings, ConsoleChannel(), quiet=NO_QUIET,
                    threads=1) as worker:
            worker.run_once(at)


def photo(twilio: TwilioStandin, name: str) -> str:
    # Bytes after a PNG's end keep it a PNG: distinct photos, distinct files.
    return twilio.add_media(name, PNG + name.encode(), "image/png", redirect=False)


@pytest.fixture
def twilio() -> Iterator[TwilioStandin]:
    with TwilioStandin() as standin:
        yield standin


@pytest.fixture
def world(db: Database, twilio: TwilioStandin, tmp_path: Path) -> World:
    media = tmp_path / "media"
    settings = Settings(database_url=db.url, media_dir=media,
                        twilio_account_sid=twilio.account_sid,
                        twilio_auth_token=twilio.auth_token, twilio_api_url=twilio.url)
    with db.transaction() as session:
        make_template(session)
        p1 = make_school(session, "P1", name="ZP School Wagholi")
        p2 = make_school(session, "P2", name="ZP School Lohegaon")
        make_headmaster(session, p1, name="Asha Patil", phone=ASHA)
        make_headmaster(session, p2, name="Ravi Jadhav", phone=RAVI)
        make_beo(session, name="Prakash More", phone=PRAKASH)
    scene = Scene(db, settings)
    monsoon = launch(db, "clean-classrooms", ["district:Pune"], MONSOON.date(),
                     name="Monsoon", now=MONSOON).campaign_id
    day = dt.timedelta(days=1)
    scene.say(ASHA, "yes", MONSOON + day)
    scene.say(ASHA, "1 done, all teachers came", MONSOON + day)
    scene.say(ASHA, "2", MONSOON + 4 * day, photo=photo(twilio, "oldclassroom"))
    scene.say(ASHA, "qwerty zxcv", MONSOON + 5 * day)  # not understood: kept to teach Kadam
    scene.say(RAVI, "yes", MONSOON + day)
    scene.say(RAVI, "need help, no brooms in the school", MONSOON + 2 * day)
    scene.say(PRAKASH, "I will send brooms on Monday", MONSOON + 2 * day)
    with db.transaction() as session:
        asha_old, ravi_old = session.scalars(select(Project).where(
            Project.campaign_id == monsoon).order_by(Project.id)).all()
        asha_old.status, asha_old.completed_at = "submitted", MONSOON + 30 * day
        asha_old.story, asha_old.share_story = "Children now clean their own classroom", True
        ravi_old.status, ravi_old.lapsed_at, ravi_old.lapse_at = "lapsed", MONSOON + 30 * day, None
        session.execute(update(Task).where(Task.project_id.in_((asha_old.id, ravi_old.id)))
                        .values(prompt_at=None, next_reminder_at=None))

    winter = launch(db, "clean-classrooms", ["district:Pune"], WINTER.date(),
                    name="Winter", now=WINTER).campaign_id
    scene.say(ASHA, "yes", WINTER + day)
    scene.say(ASHA, "1 done", WINTER + 2 * day, photo=photo(twilio, "newclassroom"))
    scene.say(STRANGER, "hello, who is this?", NOW - 40 * day)
    scene.say(STRANGER, "hello again", NOW - 5 * day)
    with db.sessions() as session:
        stored = session.execute(select(Evidence.path, Task.project_id).join(Task).where(
            Evidence.status == "stored")).all()
        old_ids = set(session.scalars(select(Project.id).where(Project.campaign_id == monsoon)))
    return World(monsoon, winter, media,
                 old_photos=[path for path, project in stored if project in old_ids],
                 new_photos=[path for path, project in stored if project not in old_ids])


def counts_shown(db: Database) -> dict[str, object]:
    """What the dashboard and the exports show, minus the words."""
    with db.sessions() as session:
        everything = Scope.of("state", None)
        tasks = [row[:LINKS] + row[LINKS + 1:REMARKS] for row in task_rows(session)]
        return {
            "projects": list(project_rows(session)),
            "tasks": tasks,
            "campaigns": campaign_summaries(session, everything),
            "delivery": health(session, everything),
            "messages in": session.scalar(select(func.count()).select_from(InboundMessage)),
            "messages out": session.scalar(select(func.count()).select_from(Outbox)),
            "evidence": session.scalar(select(func.count()).select_from(Evidence)),
        }


def texts_of(db: Database, phone: str, since: dt.datetime | None = None,
             until: dt.datetime | None = None) -> list[str]:
    with db.sessions() as session:
        query = select(InboundMessage.body).where(InboundMessage.phone == phone)
        if since:
            query = query.where(InboundMessage.received_at >= since)
        if until:
            query = query.where(InboundMessage.received_at < until)
        return list(session.scalars(query.order_by(InboundMessage.id)))


def purge(db: Database, world: World, now: dt.datetime = NOW) -> retention.PurgeReport | None:
    return retention.purge_if_due(db, MediaStore(world.media), now, 365, "Asia/Kolkata")


def test_the_world_is_what_the_tests_think(db, world):
    assert len(world.old_photos) == 1 and len(world.new_photos) == 1
    assert all((world.media / p).is_file() for p in world.old_photos + world.new_photos)
    assert "1 done, all teachers came" in texts_of(db, ASHA)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(UnreadReply)) == 1
        assert session.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.phone == PRAKASH, Outbox.key == "help.alert", Outbox.body.is_not(None))) == 1
    ends = {e.campaign_id: e.ended_at for e in retention_ends(db)}
    assert ends[world.winter] is None
    assert ends[world.monsoon] == MONSOON + dt.timedelta(days=30)


def retention_ends(db: Database) -> list[retention.CampaignEnd]:
    with db.sessions() as session:
        return retention.campaign_ends(session)


def test_an_ended_campaigns_words_and_photos_go_and_the_running_ones_stay(db, world):
    with db.transaction() as session:  # a question Ravi left unanswered back then
        ravi = session.scalar(select(Person.id).where(Person.phone == RAVI))
        session.execute(update(Conversation).where(Conversation.person_id == ravi).values(
            state="which_project", updated_at=MONSOON + dt.timedelta(days=3),
            context={"choices": [1, 2], "pending": {"text": "no brooms yet"}}))
    before = counts_shown(db)

    report = purge(db, world)

    assert report is not None and report.campaigns == 1 and report.files == 1
    # Monsoon's text is gone, in and out, the officer's side too.
    assert set(texts_of(db, ASHA, until=WINTER)) == {""}
    assert set(texts_of(db, RAVI)) == {""}
    assert set(texts_of(db, PRAKASH)) == {""}
    with db.sessions() as session:
        old = select(Project.id).where(Project.campaign_id == world.monsoon)
        old_out = session.execute(select(Outbox.body, Outbox.params, Outbox.status).where(
            Outbox.created_at < WINTER)).all()
        assert old_out and all(body is None and params == retention.PURGED_PARAMS
                               for body, params, _ in old_out)
        assert {status for _, _, status in old_out} == {"sent"}  # the delivery figures stay
        assert session.scalars(select(Task.remarks).where(Task.project_id.in_(old))
                               ).all() == [None] * 6
        notes = session.scalars(select(TaskEvent.note).join(Task).where(
            Task.project_id.in_(old), TaskEvent.note.is_not(None))).all()
        assert "all teachers came" not in " ".join(notes) and "brooms" not in " ".join(notes)
        assert session.scalars(select(Project.story).where(Project.id.in_(old))).all() \
            == [None, None]
        assert session.scalar(select(func.count()).select_from(UnreadReply)) == 0
        assert session.execute(select(Conversation.state, Conversation.context).where(
            Conversation.person_id == ravi)).one() == ("idle", {})
        purged = session.execute(select(Evidence.status, Evidence.path, Evidence.source_url,
                                        Evidence.caption).join(Task)
                                 .where(Task.project_id.in_(old))).all()
        assert purged == [("purged", None, None, None)]
    assert not any((world.media / p).exists() for p in world.old_photos)
    # Shown again (the simulator's history), a purged message reads as removed.
    with db.sessions() as session:
        invitation = session.scalars(select(Outbox).where(Outbox.key == "invitation")
                                     .order_by(Outbox.id)).first()
        assert render_row(session, invitation, None).text.startswith("(text removed")
        assert sms_row(session, invitation, None).startswith("(text removed")
    # Winter's stay, word for word and file for file.
    assert texts_of(db, ASHA, since=WINTER) == ["yes", "1 done"]
    assert all((world.media / p).is_file() for p in world.new_photos)
    with db.sessions() as session:
        new_out = session.scalars(select(Outbox.body).where(Outbox.created_at >= WINTER,
                                                            Outbox.phone == ASHA)).all()
        assert new_out and all(new_out)
    # The counts the dashboard and the exports show are the same.
    assert counts_shown(db) == before


def test_the_purge_runs_once_a_day_and_remembers_what_it_did(db, world):
    first = purge(db, world)
    assert first is not None and first.messages > 0
    assert purge(db, world, NOW + dt.timedelta(hours=3)) is None  # not due again today
    # The next night it runs again, and finds nothing new of Monsoon's.
    again = purge(db, world, NOW + dt.timedelta(days=1))
    assert again is not None and (again.campaigns, again.evidence, again.files) == (0, 0, 0)
    with db.sessions() as session:
        runs = session.scalars(select(PurgeRun).order_by(PurgeRun.id)).all()
        assert [r.campaigns for r in runs] == [1, 0]
        assert runs[0].cutoff == NOW - dt.timedelta(days=365)
        assert session.scalar(select(Campaign.purged_through).where(
            Campaign.id == world.monsoon)) == MONSOON + dt.timedelta(days=30)
        assert session.scalar(select(Campaign.purged_through).where(
            Campaign.id == world.winter)) is None


def test_numbers_not_in_the_roster_lose_text_and_number_after_30_days(db, world):
    with db.transaction() as session:  # and failed dashboard sign-ins after a day
        session.add_all([LoginAttempt(email="old@example.org", remote_addr="203.0.113.7",
                                      at=NOW - dt.timedelta(days=2)),
                         LoginAttempt(email="new@example.org", remote_addr="203.0.113.8",
                                      at=NOW - dt.timedelta(hours=1))])

    purge(db, world)

    with db.sessions() as session:
        unknown = session.execute(select(InboundMessage.phone, InboundMessage.body).where(
            InboundMessage.person_id.is_(None)).order_by(InboundMessage.id)).all()
        answered = session.execute(select(Outbox.phone, Outbox.body).where(
            Outbox.person_id.is_(None)).order_by(Outbox.id)).all()
    assert unknown == [("", ""), (STRANGER, "hello again")]
    assert answered[0] == ("", None) and answered[-1][0] == STRANGER
    with db.sessions() as session:
        assert session.scalars(select(LoginAttempt.email)).all() == ["new@example.org"]


def test_a_lapsed_project_picked_up_again_keeps_its_campaign_until_it_ends_again(db, world):
    purge(db, world)
    later = NOW + dt.timedelta(days=1)
    Scene(db, Settings(database_url=db.url, media_dir=world.media)).say(
        RAVI, "sorry for the delay, we started", later)
    ends = {e.campaign_id: e.ended_at for e in retention_ends(db)}
    assert ends[world.monsoon] is None  # running again

    assert purge(db, world, later + dt.timedelta(days=1)).campaigns == 0
    assert texts_of(db, RAVI, since=later) == ["sorry for the delay, we started"]


def test_the_clock_purges_once_a_day_at_night(db, world):
    settings = Settings(database_url=db.url, media_dir=world.media, quiet_hours=NO_QUIET)
    clock = Clock(db, settings, interval=60)
    night = dt.datetime(2027, 3, 1, 20, 31, tzinfo=dt.UTC)  # 02:01 in India, 2 March
    try:
        beats = [clock.beat(night + dt.timedelta(minutes=m)) for m in range(3)]
    finally:
        clock.leadership.release()
    assert [b.purged is not None for b in beats if b] == [True, False, False]
    # A tick the next afternoon finds today's purge done; the one after 02:00 runs it.
    assert tick(db, settings, night + dt.timedelta(hours=12)).purged is None
    assert tick(db, settings, night + dt.timedelta(days=1)).purged is not None
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PurgeRun)) == 2
