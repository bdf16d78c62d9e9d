"""`kadam person erase PHONE`, end to end: a headmaster's history made through signed webhooks
and the worker (replies, a photo, a help request relayed by her officer), then erased: her name,
number, words and files are gone from the database, MEDIA_DIR, the dashboard and every export,
and every count stays. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot import create_app
from bot.cli import main
from bot.worker.channels import ConsoleChannel
from bot.worker.loop import Worker
from storage.db import Database
from storage.learning import UnreadReply
from storage.models import (
    Conversation,
    Evidence,
    InboundMessage,
    Outbox,
    Person,
    Project,
    School,
    Task,
    TaskEvent,
)
from storage.schedule import QuietHours
from tests.admin_support import PNG, client_for, make_app, make_user
from tests.clock import wall_now, wall_today
from tests.seed import seed_project
from tests.twilio_standin import TwilioStandin

PUBLIC = "https://kadam.example.org"
ASHA = "+919822012345"  # the seeded headmaster, Sunita Pawar
RAVI = "+919822054321"
PRAKASH = "+919822020000"
NO_QUIET = QuietHours(dt.time(0, 0), dt.time(0, 0))
WORDS = ("Sunita", "Pawar", "brooms", "9822012345", "broken benches")


@dataclass
class History:
    project_id: int
    other_project_id: int
    her_file: Path
    shared_file: Path


@pytest.fixture
def twilio() -> Iterator[TwilioStandin]:
    with TwilioStandin() as standin:
        yield standin


@pytest.fixture
def webhooks(db: Database, twilio: TwilioStandin, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The webhooks, which stamp each message with the real time. Quiet hours off: the help
    alert and the officer's answer are relayed at once, whatever the hour the test runs at
    (at night in India they would wait for the morning, and hold no text yet)."""
    monkeypatch.setenv("KADAM_QUIET_HOURS", "off")
    app = create_app({"database_url": db.url, "twilio_account_sid": twilio.account_sid,
                      "twilio_auth_token": twilio.auth_token, "twilio_api_url": twilio.url,
                      "public_url": PUBLIC, "media_dir": tmp_path / "media",
                      "secret_key": "test-secret", "TESTING": True})
    yield app
    app.extensions["kadam.db"].dispose()


def post(app: Flask, token: str, phone: str, body: str = "", media: str | None = None) -> None:
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
            "From": f"whatsapp:{phone}", "To": "whatsapp:+14155238886", "Body": body,
            "NumMedia": "1" if media else "0"}
    if media:
        form.update(MediaUrl0=media, MediaContentType0="image/png")
    signature = RequestValidator(token).compute_signature(PUBLIC + "/twilio/whatsapp", form)
    response = app.test_client().post("/twilio/whatsapp", data=form,
                                      headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    with Worker(app.extensions["kadam.db"], app.config["KADAM"], ConsoleChannel(),
                quiet=NO_QUIET, threads=1) as worker:
        worker.run_once(wall_now())  # on the real clock, as the webhook was


@pytest.fixture
def history(db: Database, webhooks: Flask, twilio: TwilioStandin) -> History:
    # Started three days ago by the real clock the webhooks keep.
    seeded = seed_project(db, phone=ASHA, start=wall_today() - dt.timedelta(days=3),
                          now=wall_now())
    with db.transaction() as session:
        session.add(Person(phone=PRAKASH, name="Prakash More", role="beo", district="Satara",
                           block="Wai"))
        school = School(code="27310100102", name="ZP School Bavdhan", district="Satara",
                        block="Wai")
        ravi = Person(phone=RAVI, name="Ravi Jadhav", role="headmaster", school=school,
                      district="Satara", block="Wai")
        session.add(ravi)
        session.flush()
        other = Project(campaign_id=session.get(Project, seeded.project_id).campaign_id,
                        school_id=school.id, headmaster_id=ravi.id, status="in_progress")
        session.add(other)
        session.flush()
        ravi_task = Task(project_id=other.id, position=1)
        session.add(ravi_task)
        session.flush()
        other_id, ravi_task_id = other.id, ravi_task.id
    token = twilio.auth_token
    her_photo = twilio.add_media("hers", PNG + b"hers", "image/png", redirect=False)
    # Another school's headmaster sent this very photo too: one file on disk, two rows.
    same_photo = twilio.add_media("classroom", PNG, "image/png", redirect=False)
    post(webhooks, token, ASHA, "yes")
    post(webhooks, token, ASHA, "1 done")
    post(webhooks, token, ASHA, "Story time in class 3", media=her_photo)
    post(webhooks, token, ASHA, "", media=same_photo)
    post(webhooks, token, ASHA, "2 need help, no brooms and broken benches")
    post(webhooks, token, PRAKASH, "I will send brooms on Monday, Sunita ji")
    post(webhooks, token, ASHA, "qwerty zxcv")  # not understood: kept to teach Kadam
    with db.transaction() as session:
        project = session.get(Project, seeded.project_id)
        project.story, project.share_story = "Sunita's children now retell stories", True
        stored = {e.size: e for e in session.scalars(select(Evidence).where(
            Evidence.status == "stored"))}
        assert len(stored) == 2
        hers, shared = stored[len(PNG) + 4], stored[len(PNG)]
        session.add(Evidence(task_id=ravi_task_id, kind="photo", status="stored",
                             path=shared.path, sha256=shared.sha256, content_type="image/png",
                             caption="Ravi's classroom"))
        paths = hers.path, shared.path
    media = webhooks.config["KADAM"].media_dir
    return History(seeded.project_id, other_id, media / paths[0], media / paths[1])


@pytest.fixture
def kadam(db: Database, webhooks: Flask, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("MEDIA_DIR", str(webhooks.config["KADAM"].media_dir))
    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(main, list(args), **kw)


def exports(kadam) -> dict[str, list[list[str]]]:
    sheets = {}
    for what in ("projects", "tasks", "messages"):
        result = kadam("export", what)
        assert result.exit_code == 0, result.output
        sheets[what] = list(csv.reader(io.StringIO(result.stdout)))
    return sheets


def dashboard(db: Database, tmp_path: Path, project_id: int) -> str:
    app = make_app(db, tmp_path / "media")
    make_user(db, "state@example.org")
    try:
        client = client_for(app, "state")
        response = client.get(f"/admin/projects/{project_id}")
        assert response.status_code == 200
        return response.get_data(as_text=True)
    finally:
        app.extensions["kadam.db"].dispose()


def count(db: Database, model, *where) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_the_history_holds_her_words_and_files(db, history, kadam, tmp_path):
    assert history.her_file.is_file()
    sheets = exports(kadam)
    assert "Sunita Pawar" in str(sheets["projects"]) and ASHA in str(sheets["messages"])
    assert "broken benches" in str(sheets["tasks"])
    page = dashboard(db, tmp_path, history.project_id)
    assert "broken benches" in page and "Story time in class 3" in page
    assert count(db, UnreadReply) == 1
    with db.sessions() as session:
        alert = session.scalars(select(Outbox.body).where(Outbox.key == "help.alert")).one()
        assert "Sunita Pawar" in alert


def test_erasing_a_headmaster_removes_her_everywhere_and_keeps_the_counts(
        db, history, kadam, tmp_path):
    before = exports(kadam)
    messages = (count(db, InboundMessage), count(db, Outbox))

    result = kadam("person", "erase", "098220 12345", "--yes")  # as people write it

    assert result.exit_code == 0, result.output
    assert "Sunita Pawar, headmaster of 27310100101 ZP School Wai" in result.output
    assert "photos and other files: 2" in result.output
    assert f"erased {ASHA}" in result.output
    # Her file went from MEDIA_DIR, but not the one another school's evidence still needs.
    assert "files deleted from" in result.output and ": 1 (the others are still" in result.output
    assert not history.her_file.exists()
    assert history.shared_file.is_file()
    with db.sessions() as session:
        ravi = session.scalars(select(Evidence).join(Task).where(
            Task.project_id == history.other_project_id)).one()
        assert (ravi.status, ravi.caption) == ("stored", "Ravi's classroom")
        hers = session.execute(select(Evidence.status, Evidence.path, Evidence.caption,
                                      Evidence.source_url).join(Task).where(
            Task.project_id == history.project_id)).all()
        assert hers == [("purged", None, None, None)] * 2
    # Nothing of hers in the exports; every row is still there.
    after = exports(kadam)
    for what in before:
        assert len(after[what]) == len(before[what]), what
        flat = str(after[what])
        assert not any(word in flat for word in WORDS), (what, flat)
    row = next(r for r in after["projects"][1:] if r[4] == "27310100101" and r[8] != "invited"
               and r[6] == "erased")
    assert row[7].startswith("erased-") and row[9:12] == [
        r for r in before["projects"][1:] if r[6] == "Sunita Pawar"][0][9:12]
    # Nor in the database: messages, notes, stories, kept replies, her conversation.
    assert (count(db, InboundMessage), count(db, Outbox)) == messages
    with db.sessions() as session:
        texts = [*session.scalars(select(InboundMessage.body)),
                 *session.scalars(select(InboundMessage.phone)),
                 *session.scalars(select(Outbox.body).where(Outbox.body.is_not(None))),
                 *session.scalars(select(Outbox.phone)),
                 *session.scalars(select(TaskEvent.note).where(TaskEvent.note.is_not(None))),
                 *session.scalars(select(Project.story).where(Project.story.is_not(None))),
                 *session.scalars(select(Task.remarks).where(Task.remarks.is_not(None))),
                 *(str(p) for p in session.scalars(select(Outbox.params)))]
        assert not any(word in text for text in texts for word in WORDS), texts
        person = session.scalars(select(Person).where(Person.name == "erased")).one()
        assert person.phone == f"erased-{person.id}" and person.opted_out_at is not None
        assert session.get(Conversation, person.id) is None
    assert count(db, UnreadReply) == 0
    page = dashboard(db, tmp_path, history.project_id)
    assert not any(word in page for word in WORDS)
    assert "erased" in page and "(text removed" in page


def test_her_number_writing_again_is_a_stranger(db, history, kadam, webhooks, twilio):
    assert kadam("person", "erase", ASHA, "--yes").exit_code == 0

    post(webhooks, twilio.auth_token, ASHA, "hello?")

    with db.sessions() as session:
        row = session.scalars(select(InboundMessage).where(InboundMessage.phone == ASHA)).one()
        assert row.person_id is None and row.body == "hello?"
        assert session.scalars(select(Outbox.key).where(Outbox.phone == ASHA)).all() == [
            "unregistered"]


def test_erasing_asks_first_and_says_no_by_default(db, history, kadam):
    declined = kadam("person", "erase", ASHA, input="\n")

    assert declined.exit_code == 1
    assert "Erase all of this?" in declined.output and "nothing erased" in declined.output
    assert count(db, Person, Person.phone == ASHA) == 1
    assert history.her_file.is_file()

    confirmed = kadam("person", "erase", ASHA, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert count(db, Person, Person.phone == ASHA) == 0


def test_a_number_kadam_never_heard_is_refused(db, kadam):
    result = kadam("person", "erase", "+919999999999", "--yes")
    assert result.exit_code == 1
    assert "Kadam keeps nothing about +919999999999" in result.output
    assert kadam("person", "erase", "not a number", "--yes").exit_code == 2


def test_a_number_not_in_the_roster_can_be_erased(db, webhooks, twilio, kadam):
    stranger = "+919811111111"
    post(webhooks, twilio.auth_token, stranger, "please remove my number")

    result = kadam("person", "erase", stranger, "--yes")

    assert result.exit_code == 0, result.output
    assert "not in the roster" in result.output
    with db.sessions() as session:
        assert session.execute(select(InboundMessage.phone, InboundMessage.body)).all() == [
            ("", "")]
        assert set(session.scalars(select(Outbox.phone))) == {""}


def test_erasing_an_officer_takes_his_name_out_of_what_headmasters_got(db, history, kadam):
    with db.sessions() as session:
        relayed = session.scalars(select(Outbox.body).where(Outbox.key == "help.reply")).one()
    assert "Prakash More" in relayed

    result = kadam("person", "erase", PRAKASH, "--yes")

    assert result.exit_code == 0, result.output
    assert "Prakash More, beo" in result.output
    sheets = exports(kadam)
    assert not any("Prakash" in str(rows) or PRAKASH in str(rows) for rows in sheets.values())
    with db.sessions() as session:
        texts = [*session.scalars(select(Outbox.body).where(Outbox.body.is_not(None))),
                 *(str(p) for p in session.scalars(select(Outbox.params))),
                 *session.scalars(select(InboundMessage.body)),
                 *session.scalars(select(TaskEvent.note).where(TaskEvent.note.is_not(None)))]
        assert not any("Prakash" in text or "brooms on Monday" in text for text in texts)
        # The headmaster's own words stay: only his were asked to go.
        assert "2 need help, no brooms and broken benches" in texts
