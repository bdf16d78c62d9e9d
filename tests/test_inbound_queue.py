"""KADAM_INBOUND=queue: the webhook records each signed message and answers Twilio at once;
`kadam worker` runs the flow, each sender's messages in the order they came, exactly once."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from bot import create_app
from bot.engine.engine import Engine
from bot.worker.loop import Worker
from storage.models import InboundMessage, Outbox, Project, Task
from storage.schedule import QuietHours
from tests.clock import wall_now
from tests.seed import seed_project
from tests.test_webhooks import PUBLIC, TOKEN, count, replies, signed_post, whatsapp
from tests.test_worker import add_person, queue, settings_for
from tests.twilio_standin import TwilioStandin

NO_QUIET = dt.time(0, 0)  # quiet hours from midnight to midnight: none
# What the headmaster hears for "yes", "status", "1", "2 done", "status", "tasks".
TRANSCRIPT = [["invitation.accepted", "task.prompt"], ["status"], ["task.done", "task.prompt"],
              ["task.done", "task.prompt"], ["status"], ["tasks.list"]]


@pytest.fixture
def app(db, tmp_path):
    app = create_app({"database_url": db.url, "twilio_account_sid": "AC" + "0" * 32,
                      "twilio_auth_token": TOKEN, "public_url": PUBLIC,
                      "media_dir": tmp_path / "media", "TESTING": True, "inbound": "queue"})
    yield app
    app.extensions["kadam.db"].dispose()


def answer(app, db):
    """What `kadam worker` does first on each pass: answer the recorded messages.

    The webhook stamps each message with the real time and the worker answers just after, so
    every test here runs on the real clock, its project seeded by it too; none expects
    anything that depends on the date or the hour."""
    return Engine(db, app.config["KADAM"]).handle_pending(now=wall_now())


def test_the_webhook_records_and_the_worker_answers(app, db):
    seeded = seed_project(db, now=wall_now())
    client = app.test_client()
    response = signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    assert response.status_code == 200 and b"<Response/>" in response.data
    assert replies(db, seeded.phone) == []  # nothing answered yet
    assert count(db, InboundMessage, InboundMessage.pending) == 1
    assert answer(app, db) == 1
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]
    assert count(db, InboundMessage, InboundMessage.pending) == 0
    assert answer(app, db) == 0  # exactly once


def test_a_senders_messages_are_answered_in_the_order_they_came(app, db):
    seeded = seed_project(db, now=wall_now())
    client = app.test_client()
    for body in ("yes", "1", "task 2 done"):
        signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, body))
    # One pass answers at most one message per sender; the worker loops until none is left.
    assert [answer(app, db) for _ in range(4)] == [1, 1, 1, 0]
    with db.sessions() as session:
        statuses = session.scalars(select(Task.status).where(
            Task.project_id == seeded.project_id).order_by(Task.position)).all()
        assert session.get(Project, seeded.project_id).status == "in_progress"
    assert statuses[:2] == ["completed", "completed"]


def test_a_retried_webhook_is_recorded_once(app, db):
    seeded = seed_project(db, now=wall_now())
    client = app.test_client()
    form = whatsapp(seeded.phone, "yes", sid="SMretried")
    assert signed_post(client, "/twilio/whatsapp", form).status_code == 200
    assert signed_post(client, "/twilio/whatsapp", form).status_code == 200
    assert count(db, InboundMessage) == 1
    answer(app, db)
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]


def test_a_message_the_flow_cannot_handle_does_not_hold_up_the_next(app, db, monkeypatch):
    seeded = seed_project(db, now=wall_now())
    client = app.test_client()
    signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, "boom"))
    signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    original = Engine._handle

    def fragile(self, session, row, person, inbound, now):  # noqa: ANN001, ANN202
        if inbound.body == "boom":
            raise RuntimeError("a bug in the flow")
        return original(self, session, row, person, inbound, now)

    monkeypatch.setattr(Engine, "_handle", fragile)
    while answer(app, db):
        pass
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]
    assert count(db, InboundMessage, InboundMessage.pending) == 0


def test_the_worker_answers_before_it_sends(app, db):
    seeded = seed_project(db, now=wall_now())
    signed_post(app.test_client(), "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    settings = app.config["KADAM"]
    from bot.worker.channels import ConsoleChannel

    with Worker(db, settings, ConsoleChannel()) as worker:
        counts = worker.run_once(wall_now())
    assert counts.answered == 1 and counts.sent == 2
    with db.sessions() as session:
        assert set(session.scalars(select(Outbox.status).where(
            Outbox.phone == seeded.phone))) == {"sent"}


def test_a_reply_is_answered_and_sent_while_a_circular_is_going_out(app, db, tmp_path):
    """`kadam worker` answers recorded messages on a thread of its own, and sends the replies
    ahead of a long circular: the headmaster hears back before the circular has gone out."""
    seeded = seed_project(db, now=wall_now())
    circular = []
    due = wall_now() - dt.timedelta(minutes=1)  # `run_forever` reads the real clock
    for n in range(300):
        phone = f"+9198444{n:05d}"
        circular.append(queue(db, add_person(db, phone), phone, at=due))
    with TwilioStandin() as twilio:
        # 300 messages at 20 a second take 15 s.
        settings = settings_for(twilio, tmp_path, messages_per_second=20)
        worker = Worker(db, settings, quiet=QuietHours(NO_QUIET, NO_QUIET))
        running = threading.Thread(target=worker.run_forever)
        running.start()
        try:
            signed_post(app.test_client(), "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(to(twilio, seeded.phone)) < 2:
                time.sleep(0.05)
        finally:
            worker.stop()
            running.join()
        reached = [m.form["To"] for m in twilio.messages()]
    assert to(twilio, seeded.phone)[0].form["Body"].startswith(
        "Wonderful! “Retell the Tale” has started.")
    assert len(to(twilio, seeded.phone)) == 2  # the welcome and the first task
    # The reply reached Twilio while most of the circular was still waiting.
    first_reply = reached.index(f"whatsapp:{seeded.phone}")
    assert first_reply < 150, first_reply


def to(twilio: TwilioStandin, phone: str) -> list:
    return [m for m in twilio.messages() if m.form["To"].endswith(phone)]


def test_two_workers_answer_each_message_once_and_each_senders_in_order(app, db, monkeypatch):
    seeded = seed_project(db, now=wall_now())
    client = app.test_client()
    strangers = [f"+9198555{n:05d}" for n in range(6)]
    for phone in strangers[:3]:
        signed_post(client, "/twilio/whatsapp", whatsapp(phone, "hello"))
    said = ["yes", "status", "1", "2 done", "status", "tasks"]
    for body in said:  # back to back: each fetch of pending messages sees all six
        signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, body))
    for phone in strangers:
        signed_post(client, "/twilio/whatsapp", whatsapp(phone, "who is this?"))
    original = Engine._handle
    both_running = threading.Barrier(2)

    def slow(self, session, row, person, inbound, now):  # noqa: ANN001, ANN202
        # The first message takes long: on PostgreSQL the other worker works meanwhile, and
        # must not answer the headmaster's second message before it.
        time.sleep(0.3 if inbound.body == "yes" else 0.01)
        return original(self, session, row, person, inbound, now)

    monkeypatch.setattr(Engine, "_handle", slow)
    settings = app.config["KADAM"]
    errors: list[BaseException] = []

    def worker() -> None:
        engine = Engine(db, settings)
        both_running.wait()
        try:
            while engine.handle_pending(limit=200, now=wall_now()):
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(db, InboundMessage, InboundMessage.pending) == 0
    with db.sessions() as session:
        heard = session.scalars(select(InboundMessage.id).where(
            InboundMessage.phone == seeded.phone).order_by(InboundMessage.id)).all()
        answers = session.execute(select(Outbox.in_reply_to, Outbox.key).where(
            Outbox.phone == seeded.phone).order_by(Outbox.id)).all()
        tasks = session.scalars(select(Task.status).where(
            Task.project_id == seeded.project_id).order_by(Task.position)).all()
    # Each message answered once, in the order they came: the transcript one worker gives.
    by_message = [[key for reply_to, key in answers if reply_to == message] for message in heard]
    assert by_message == TRANSCRIPT
    assert [reply_to for reply_to, _ in answers] == sorted(reply_to for reply_to, _ in answers)
    assert tasks[:2] == ["completed", "completed"]
    # A number not in the roster gets one polite reply however many messages it sends.
    assert [replies(db, phone) for phone in strangers] == [["unregistered"]] * len(strangers)


def test_a_database_failure_leaves_the_message_to_be_answered_later(app, db, monkeypatch):
    from sqlalchemy.exc import OperationalError

    seeded = seed_project(db, now=wall_now())
    signed_post(app.test_client(), "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    original, failures = Engine._handle, []

    def connection_lost_once(self, session, row, person, inbound, now):  # noqa: ANN001, ANN202
        if not failures:
            failures.append(row.id)
            raise OperationalError("UPDATE ...", {}, Exception("server closed the connection"))
        return original(self, session, row, person, inbound, now)

    monkeypatch.setattr(Engine, "_handle", connection_lost_once)
    with pytest.raises(OperationalError):
        answer(app, db)
    assert count(db, InboundMessage, InboundMessage.pending) == 1  # kept, not given up on
    assert replies(db, seeded.phone) == []
    assert answer(app, db) == 1
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]
