"""The worker against a local Twilio stand-in, through the real twilio library."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.worker.channels import ConsoleChannel, TwilioChannel
from bot.worker.loop import Worker
from storage import outbox
from storage.conversations import queue_message
from storage.db import Database
from storage.models import InboundMessage, Outbox, Person
from tests.twilio_standin import Reply, TwilioStandin

NOW = dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)
PUBLIC = "https://kadam.example.org"
WHATSAPP_FROM = "+14155238886"
SMS_FROM = "+15005550006"


@pytest.fixture
def twilio():
    with TwilioStandin() as standin:
        yield standin


def settings_for(standin: TwilioStandin, tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = dict(
        twilio_account_sid=standin.account_sid, twilio_auth_token=standin.auth_token,
        twilio_whatsapp_from=WHATSAPP_FROM, twilio_sms_from=SMS_FROM,
        twilio_api_url=standin.url, public_url=PUBLIC, messages_per_second=0,
        media_dir=tmp_path / "media",
    )
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def add_person(db: Database, phone: str, *, channel: str = "whatsapp", language: str = "en",
               opted_out_at: dt.datetime | None = None,
               last_inbound_at: dt.datetime | None = NOW - dt.timedelta(hours=1)) -> int:
    """A headmaster who wrote an hour ago, so WhatsApp's window is open (tests/test_window.py
    covers the closed window)."""
    with db.transaction() as session:
        person = Person(phone=phone, name="Sunita", role="headmaster", language=language,
                        channel=channel, opted_out_at=opted_out_at,
                        last_inbound_at=last_inbound_at)
        session.add(person)
        session.flush()
        return person.id


def queue(db: Database, person_id: int | None, phone: str, key: str = "evidence.fetch_failed",
          params: dict | None = None, options: tuple[str, ...] = (), channel: str = "whatsapp",
          at: dt.datetime = NOW) -> int:
    with db.transaction() as session:
        row = queue_message(session, phone=phone, channel=channel, key=key,
                            params={"position": 2} if params is None else params,
                            options=options, person_id=person_id)
        row.next_attempt_at = at
        session.flush()
        return row.id


def row(db: Database, row_id: int) -> Outbox:
    with db.sessions() as session:
        found = session.get(Outbox, row_id)
        assert found is not None
        return found


def person(db: Database, person_id: int) -> Person:
    with db.sessions() as session:
        found = session.get(Person, person_id)
        assert found is not None
        return found


def run(db: Database, settings: Settings, now: dt.datetime = NOW, **kwargs: object):
    with Worker(db, settings, **kwargs) as worker:  # type: ignore[arg-type]
        return worker.run_once(now)


# --- delivery ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", [WHATSAPP_FROM, "whatsapp:" + WHATSAPP_FROM])
def test_whatsapp_message_reaches_twilio_with_the_rendered_text(db, twilio, tmp_path, sender):
    pid = add_person(db, "+919800000001")
    rid = queue(db, pid, "+919800000001", key="evidence.is_it_done", params={"position": 3},
                options=("option.done", "option.in_progress"))

    counts = run(db, settings_for(twilio, tmp_path, twilio_whatsapp_from=sender))

    assert counts.sent == 1
    [request] = twilio.messages()
    assert request.form["To"] == "whatsapp:+919800000001"
    assert request.form["From"] == "whatsapp:" + WHATSAPP_FROM
    assert request.form["Body"] == "Is task 3 done? Reply with a number:\n\n1. Done\n2. In progress"
    assert request.form["StatusCallback"] == f"{PUBLIC}/twilio/status?outbox={rid}"
    sent = row(db, rid)
    assert sent.status == "sent"
    assert sent.form == "session"
    assert sent.body == request.form["Body"]
    assert sent.provider_sid is not None and sent.provider_sid.startswith("SM")
    assert len(sent.provider_sid) == 34
    assert sent.sent_at == NOW
    assert sent.attempts == 1


def test_sms_person_gets_an_sms_in_their_language(db, twilio, tmp_path):
    pid = add_person(db, "+919800000002", channel="sms", language="hi")
    # Queued when they were on WhatsApp; they have since moved to SMS.
    rid = queue(db, pid, "+919800000002", channel="whatsapp")

    run(db, settings_for(twilio, tmp_path))

    [request] = twilio.messages()
    assert (request.form["To"], request.form["From"]) == ("+919800000002", SMS_FROM)
    assert request.form["Body"] == "माफ़ कीजिए, काम 2 की आपकी फ़ाइल हमें नहीं मिली। कृपया फिर से भेजें।"
    sent = row(db, rid)
    assert (sent.status, sent.form, sent.channel) == ("sent", "sms", "sms")


def test_message_to_someone_not_in_the_roster_uses_the_rows_language(db, twilio, tmp_path):
    with db.transaction() as session:
        queued = queue_message(session, phone="+919800000009", channel="whatsapp",
                               key="evidence.fetch_failed", params={"position": 4}, language="hi")
        queued.next_attempt_at = NOW
    run(db, settings_for(twilio, tmp_path))
    assert twilio.messages()[0].form["Body"] == (
        "माफ़ कीजिए, काम 4 की आपकी फ़ाइल हमें नहीं मिली। कृपया फिर से भेजें।")


def test_without_credentials_messages_stay_in_the_database(db, tmp_path):
    pid = add_person(db, "+919800000003")
    rid = queue(db, pid, "+919800000003")
    settings = Settings(media_dir=tmp_path / "media")
    assert settings.channel == "console"

    with Worker(db, settings) as worker:
        assert isinstance(worker.channel, ConsoleChannel)
        counts = worker.run_once(NOW)

    assert counts.sent == 1
    sent = row(db, rid)
    assert (sent.status, sent.form, sent.provider_sid) == ("sent", "console", f"console-{rid}")
    assert sent.body == "Sorry, I could not receive your file for task 2. Please send it again."


def test_message_that_cannot_be_rendered_fails_without_a_request(db, twilio, tmp_path):
    pid = add_person(db, "+919800000004")
    rid = queue(db, pid, "+919800000004", key="no.such.message")
    counts = run(db, settings_for(twilio, tmp_path))
    assert counts.failed == 1
    assert twilio.requests == []
    assert row(db, rid).status == "failed"
    assert "cannot render" in (row(db, rid).error_message or "")


# --- retries and refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    # The hang outlasts the test; stopping the stand-in releases it unanswered.
    [Reply.too_many_requests(), Reply.server_error(), Reply.hang_for(60)],
    ids=["429", "500", "timeout"],
)
def test_passing_trouble_is_retried_later_and_then_sent(db, twilio, tmp_path, reply):
    pid = add_person(db, "+919800000005")
    rid = queue(db, pid, "+919800000005")
    twilio.script(reply)
    settings = settings_for(twilio, tmp_path)
    channel = TwilioChannel(settings, timeout=0.5)

    first = run(db, settings, channel=channel)

    assert first.retried == 1
    waiting = row(db, rid)
    assert waiting.status == "queued"
    assert waiting.next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert twilio.messages() == []
    # Not due yet: nothing is tried.
    assert run(db, settings, NOW + dt.timedelta(seconds=10)).total == 0
    assert run(db, settings, NOW + dt.timedelta(seconds=31)).sent == 1
    sent = row(db, rid)
    assert (sent.status, sent.attempts, sent.error_code) == ("sent", 2, None)
    assert len(twilio.messages()) == 1


def test_retries_come_at_most_15_minutes_apart_and_give_up_after_retry_hours(
        db, twilio, tmp_path):
    pid = add_person(db, "+919800000006")
    rid = queue(db, pid, "+919800000006")
    twilio.script(*[Reply.too_many_requests()] * 200)
    settings = settings_for(twilio, tmp_path, retry_hours=3)
    at, gaps = NOW, []
    while row(db, rid).status == "queued":
        assert run(db, settings, at).total == 1
        waiting = row(db, rid)
        if waiting.status == "queued":
            gaps.append(waiting.next_attempt_at - at)
            at = waiting.next_attempt_at
    assert max(gaps) == dt.timedelta(minutes=15)
    assert gaps[:4] == [dt.timedelta(seconds=30), dt.timedelta(minutes=2),
                        dt.timedelta(minutes=10), dt.timedelta(minutes=15)]
    failed = row(db, rid)
    assert at - NOW <= dt.timedelta(hours=3)
    assert at - NOW > dt.timedelta(hours=3) - dt.timedelta(minutes=15)
    assert (failed.status, failed.error_code) == ("failed", 20429)
    assert failed.error_message.startswith("gave up after 3 hours of retries")
    assert "provider busy" in failed.error_message
    assert failed.attempts == len(twilio.requests)
    assert run(db, settings, at + dt.timedelta(days=1)).total == 0


def test_unsubscribed_person_is_opted_out_and_not_messaged_again(db, twilio, tmp_path):
    pid = add_person(db, "+919800000007")
    rid = queue(db, pid, "+919800000007")
    twilio.script(Reply.error(21610, message="Attempt to send to unsubscribed recipient"))
    settings = settings_for(twilio, tmp_path)

    assert run(db, settings).failed == 1

    failed = row(db, rid)
    assert (failed.status, failed.error_code) == ("failed", 21610)
    assert "unsubscribed" in (failed.error_message or "")
    assert person(db, pid).opted_out_at == NOW
    # Later messages stay unsent, except the confirmation of their STOP.
    later = queue(db, pid, "+919800000007")
    confirmation = queue(db, pid, "+919800000007", key="opted_out", params={})
    counts = run(db, settings)
    assert (counts.sent, counts.not_sent) == (1, 1)
    assert (row(db, later).status, row(db, later).error_message) == ("not_sent", "opted out")
    assert row(db, confirmation).status == "sent"
    assert len(twilio.messages()) == 1


def test_invalid_number_fails_with_its_code(db, twilio, tmp_path):
    pid = add_person(db, "+919800000008")
    rid = queue(db, pid, "+919800000008")
    twilio.script(Reply.error(21211, message="Invalid 'To' Phone Number"))
    run(db, settings_for(twilio, tmp_path))
    failed = row(db, rid)
    assert (failed.status, failed.error_code) == ("failed", 21211)
    assert person(db, pid).opted_out_at is None
    assert run(db, settings_for(twilio, tmp_path), NOW + dt.timedelta(days=1)).total == 0


# --- pace and concurrency ---------------------------------------------------------------------


def test_messages_per_second_is_never_exceeded(db, twilio, tmp_path):
    for n in range(20):
        phone = f"+91980000{n:04d}"
        queue(db, add_person(db, phone), phone)
    settings = settings_for(twilio, tmp_path, messages_per_second=10)

    assert run(db, settings).sent == 20

    times = sorted(r.at for r in twilio.messages())
    assert len(times) == 20
    # 19 gaps of 0.1 s; unpaced, the 20 would arrive within a few hundredths of a second. The
    # margin is for the first request, which also opens a connection.
    assert times[-1] - times[0] >= 1.8
    for i, start in enumerate(times):
        # No second holds more than the rate allows, plus two for requests a loaded machine
        # delays into the next second (unpaced, all 20 would share one).
        assert sum(1 for t in times[i:] if t < start + 1.0) <= 12


def test_a_persons_messages_go_out_one_at_a_time_in_order(db, twilio, tmp_path):
    pid = add_person(db, "+919877777777")
    positions = list(range(1, 7))
    ids = [queue(db, pid, "+919877777777", params={"position": p}) for p in positions]
    # Only the first can be claimed while it is due or being sent.
    assert [c.id for c in outbox.claim(db, 10, NOW)] == ids[:1]
    assert outbox.claim(db, 10, NOW) == []
    after_lease = NOW + dt.timedelta(seconds=61)
    assert run(db, settings_for(twilio, tmp_path), after_lease).sent == len(positions)
    bodies = [r.form["Body"] for r in twilio.messages()]
    assert bodies == [f"Sorry, I could not receive your file for task {p}. Please send it again."
                      for p in positions]


def test_a_retry_does_not_hold_back_the_persons_later_messages(db, twilio, tmp_path):
    pid = add_person(db, "+919888888888")
    first = queue(db, pid, "+919888888888", params={"position": 1})
    second = queue(db, pid, "+919888888888", params={"position": 2})
    twilio.script(Reply.server_error())
    counts = run(db, settings_for(twilio, tmp_path))
    assert (counts.retried, counts.sent) == (1, 1)
    assert (row(db, first).status, row(db, second).status) == ("queued", "sent")


def heard_from(db: Database, person_id: int, phone: str) -> int:
    """An inbound message from the person, for replies to point at."""
    with db.transaction() as session:
        message = InboundMessage(sid=f"SM{phone}{person_id}", phone=phone, person_id=person_id,
                                 channel="whatsapp", body="1", received_at=NOW)
        session.add(message)
        session.flush()
        return message.id


def reply(db: Database, person_id: int, phone: str, inbound_id: int, position: int,
          at: dt.datetime = NOW) -> int:
    with db.transaction() as session:
        row = queue_message(session, phone=phone, channel="whatsapp", key="evidence.fetch_failed",
                            params={"position": position}, person_id=person_id,
                            in_reply_to=inbound_id)
        row.next_attempt_at = at
        session.flush()
        return row.id


def test_a_reply_goes_out_before_a_circular_queued_for_the_whole_state(db):
    circular = []
    for n in range(40):
        phone = f"+9198222{n:05d}"
        circular.append(queue(db, add_person(db, phone), phone, at=NOW - dt.timedelta(hours=1)))
    # Headmaster 7 has the circular still queued, and has just answered a task.
    hm = "+919822200007"
    with db.sessions() as session:
        hm_id = session.scalars(select(Person.id).where(Person.phone == hm)).one()
    answered = heard_from(db, hm_id, hm)
    first, second = (reply(db, hm_id, hm, answered, p) for p in (2, 3))

    # The reply is in the first batch; the headmaster's second reply waits for the first.
    assert {c.id for c in outbox.claim(db, 5, NOW)} == {first, *circular[:4]}
    assert {c.id for c in outbox.claim(db, 5, NOW)} == set(circular[4:9])


def test_at_a_slow_pace_a_reply_waits_behind_few_bulk_messages(db, twilio, tmp_path):
    """An SMS long code may allow only a few messages a second: the worker must not hold a
    whole batch of a circular ahead of a reply to someone who just wrote."""
    from storage.schedule import QuietHours

    for n in range(12):
        phone = f"+9198666{n:05d}"
        queue(db, add_person(db, phone, channel="sms"), phone, channel="sms")
    hm = "+919866699999"
    hm_id = add_person(db, hm, channel="sms")
    answered = heard_from(db, hm_id, hm)
    settings = settings_for(twilio, tmp_path, messages_per_second=4)  # 12 take 3 s
    with Worker(db, settings, quiet=QuietHours(dt.time(0), dt.time(0))) as worker:
        sending = threading.Thread(target=worker.run_once, args=(NOW,))
        sending.start()
        time.sleep(0.3)  # the circular is going out when the headmaster's answer is queued
        reply(db, hm_id, hm, answered, 2, at=NOW)
        sending.join()
        while worker.run_once(NOW).sent:  # if the reply came after the pass ended
            pass
    reached = [m.form["To"] for m in twilio.messages()]
    assert len(reached) == 13
    assert {m.form["From"] for m in twilio.messages()} == {SMS_FROM}  # all by the long code
    assert reached.index(hm) <= 9, reached.index(hm)  # not behind the whole circular


def test_replies_to_different_people_go_out_earliest_first(db):
    ids = []
    for n, minutes in enumerate((3, 1, 2)):
        phone = f"+9198333{n:05d}"
        pid = add_person(db, phone)
        ids.append(reply(db, pid, phone, heard_from(db, pid, phone), 1,
                         at=NOW - dt.timedelta(minutes=minutes)))
    assert {c.id for c in outbox.claim(db, 2, NOW)} == {ids[0], ids[2]}


def test_claims_racing_each_other_never_share_a_row(db):
    ids = {queue(db, add_person(db, f"+9198111{n:05d}"), f"+9198111{n:05d}")
           for n in range(120)}
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer() -> None:
        while batch := outbox.claim(db, 7, NOW):
            with lock:
                claimed.extend(c.id for c in batch)

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)


def test_two_workers_never_send_the_same_row_twice(db_url, twilio, tmp_path):
    setup = Database(db_url)
    for n in range(150):
        phone = f"+91981000{n:04d}"
        queue(setup, add_person(setup, phone), phone)
    setup.dispose()
    settings = settings_for(twilio, tmp_path)
    databases = [Database(db_url), Database(db_url)]  # as two processes would
    workers = [Worker(d, settings, threads=4) for d in databases]
    results = []

    def work(worker: Worker) -> None:
        results.append(worker.run_once(NOW))

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for worker, database in zip(workers, databases, strict=True):
        worker.close()
        database.dispose()

    recipients = [r.form["To"] for r in twilio.messages()]
    assert len(recipients) == 150
    assert len(set(recipients)) == 150
    assert sum(r.sent for r in results) == 150


def test_a_worker_that_died_lets_its_lease_run_out(db):
    pid = add_person(db, "+919822222222")
    rid = queue(db, pid, "+919822222222")
    assert [c.id for c in outbox.claim(db, 10, NOW, lease_seconds=60)] == [rid]
    assert outbox.claim(db, 10, NOW + dt.timedelta(seconds=59)) == []
    [again] = outbox.claim(db, 10, NOW + dt.timedelta(seconds=61))
    assert (again.id, again.attempts) == (rid, 2)


# --- delivery status --------------------------------------------------------------------------


def test_status_callbacks_only_move_forward(db):
    pid = add_person(db, "+919833333333")
    rid = queue(db, pid, "+919833333333")
    sid = "SM" + "a" * 32
    outbox.claim(db, 10, NOW)
    with db.transaction() as session:
        outbox.mark_sent(session, rid, sid, "session", "Task 2 skipped.", "whatsapp", now=NOW)

    def callback(status: str, code: int | None = None) -> bool:
        with db.transaction() as session:
            return outbox.apply_status_callback(session, sid, status, code)

    assert callback("delivered")
    assert callback("read")
    assert not callback("delivered")  # late, and out of order
    assert not callback("sent")
    assert not callback("receiving")  # not a status Kadam ranks
    assert row(db, rid).status == "read"
    assert not callback("read")


def test_unsubscribed_status_callback_opts_the_person_out(db):
    pid = add_person(db, "+919844444444")
    rid = queue(db, pid, "+919844444444")
    sid = "SM" + "b" * 32
    with db.transaction() as session:
        outbox.mark_sent(session, rid, sid, "sms", "Task 2 skipped.", "sms", now=NOW)
        assert outbox.apply_status_callback(session, sid, "failed", 21610, now=NOW)
    assert (row(db, rid).status, row(db, rid).error_code) == ("failed", 21610)
    assert person(db, pid).opted_out_at == NOW


def test_a_fast_callback_is_not_undone_when_the_send_is_recorded(db):
    pid = add_person(db, "+919855555555")
    rid = queue(db, pid, "+919855555555")
    with db.transaction() as session:
        session.get(Outbox, rid).status = "delivered"  # type: ignore[union-attr]
        outbox.mark_sent(session, rid, "SM" + "c" * 32, "session", "x", "whatsapp", now=NOW)
    assert row(db, rid).status == "delivered"


def test_worker_cli_once_prints_counts(db_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    database = Database(db_url)
    pid = add_person(database, "+919866666666")
    # `kadam worker --once` reads the real clock: the message is due by it.
    queue(database, pid, "+919866666666", at=dt.datetime.now(dt.UTC))
    database.dispose()
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", "k" * 64)  # on PostgreSQL the worker needs one to start
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("KADAM_QUIET_HOURS", "off")  # the message is due now, whatever the hour
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    database = Database(db_url)
    with database.sessions() as session:
        assert session.scalars(select(Outbox.status)).all() == ["sent"]
    database.dispose()
