"""Each headmaster gets each message once, whatever fails: a worker killed between Twilio's
answer and its record, a timeout after Twilio accepted the message, the database going away in
the middle of a broadcast. Counted as the Twilio stand-in saw the messages.

These tests run on the wall clock (not the fixed NOW of tests/test_worker.py): the stand-in
dates its messages by it, and a worker compares those dates with its own claims.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.worker.channels import OutgoingMessage, SendResult, TwilioChannel
from bot.worker.loop import LEASE_SECONDS, Worker
from storage.db import Database
from storage.models import Outbox
from storage.schedule import QuietHours
from tests.test_worker import add_person, queue, row, settings_for
from tests.twilio_standin import Reply, TwilioStandin

NO_QUIET_HOURS = QuietHours(dt.time(0, 0), dt.time(0, 0))
AFTER_LEASE = dt.timedelta(seconds=LEASE_SECONDS + 1)


@pytest.fixture
def twilio():
    with TwilioStandin() as standin:
        yield standin


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def headmasters(db: Database, count: int, start: int = 0) -> dict[int, str]:
    """`count` headmasters who wrote a minute ago, each with one message queued: row -> phone."""
    rows = {}
    for n in range(start, start + count):
        phone = f"+91982{n:07d}"
        pid = add_person(db, phone, last_inbound_at=now() - dt.timedelta(minutes=1))
        rows[queue(db, pid, phone, params={"position": n % 9 + 1}, at=now())] = phone
    return rows


def received(twilio: TwilioStandin) -> Counter[str]:
    """How many messages each number got, as Twilio saw them."""
    return Counter(m.form["To"].removeprefix("whatsapp:") for m in twilio.messages())


def worker(db: Database, settings: Settings, **kwargs: object) -> Worker:
    return Worker(db, settings, quiet=NO_QUIET_HOURS, **kwargs)  # type: ignore[arg-type]


def lease_runs_out(db: Database) -> None:
    """A minute passes for the claims (the stand-in keeps the wall clock's dates)."""
    with db.transaction() as session:
        for claimed in session.scalars(select(Outbox).where(Outbox.status == "sending")):
            claimed.next_attempt_at -= AFTER_LEASE


class Killed(BaseException):
    """The process died: nothing after this line of the worker runs."""


class DyingChannel(TwilioChannel):
    """Twilio, until the worker is "killed" straight after Twilio accepted message `dies_after`
    (so that one is never recorded); after that no thread gets as far as Twilio."""

    def __init__(self, settings: Settings, dies_after: int):
        super().__init__(settings)
        self.dies_after = dies_after
        self.sent = 0
        self.dead = threading.Event()
        self.lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> SendResult:
        if self.dead.is_set():
            raise Killed
        result = super().send(message)
        with self.lock:
            self.sent += 1
            if self.sent >= self.dies_after:
                self.dead.set()
        if self.dead.is_set():
            raise Killed
        return result


@pytest.mark.parametrize("threads", [1, 4])
def test_a_worker_killed_mid_batch_sends_nothing_twice(db, twilio, tmp_path, threads):
    rows = headmasters(db, 40)
    settings = settings_for(twilio, tmp_path)
    rng = random.Random(threads)
    for _ in range(4):
        dying = DyingChannel(settings, dies_after=rng.randint(1, 8))
        with pytest.raises(Killed), worker(db, settings, channel=dying, threads=threads) as w:
            w.run_once()
        lease_runs_out(db)  # the next worker finds the dead one's claims run out
    with worker(db, settings, threads=threads) as w:
        w.run_once()
    assert received(twilio) == Counter(rows.values())  # everyone once: none lost, none twice
    for rid in rows:
        sent = row(db, rid)
        assert sent.status == "sent" and sent.provider_sid and sent.unsure_since is None
    sids = {m["sid"] for m in twilio.listed()}
    assert {row(db, rid).provider_sid for rid in rows} == sids


def test_a_reply_whose_send_was_cut_off_is_not_sent_again_when_the_lease_runs_out(
        db, twilio, tmp_path):
    [(rid, phone)] = headmasters(db, 1).items()
    settings = settings_for(twilio, tmp_path)
    with pytest.raises(Killed), worker(db, settings,
                                       channel=DyingChannel(settings, 1)) as w:
        w.run_once(now())
    assert row(db, rid).status == "sending"
    # Before the lease runs out no other worker touches it; after, it is looked up, not sent.
    with worker(db, settings) as w:
        assert w.run_once(now()).total == 0
        lease_runs_out(db)
        counts = w.run_once(now())
    assert (counts.found, counts.sent) == (1, 0)
    assert received(twilio) == Counter([phone])
    assert row(db, rid).provider_sid == twilio.listed()[0]["sid"]


@pytest.mark.parametrize("form", ["session", "sms"])
def test_a_timeout_after_twilio_accepted_the_message_is_not_sent_again(
        db, twilio, tmp_path, form):
    phone = "+919830000001"
    channel_name = "sms" if form == "sms" else "whatsapp"
    pid = add_person(db, phone, channel=channel_name,
                     last_inbound_at=now() - dt.timedelta(minutes=1))
    rid = queue(db, pid, phone, channel=channel_name, at=now())
    twilio.script(Reply.accepted_then_hang(5))
    settings = settings_for(twilio, tmp_path)

    with worker(db, settings, channel=TwilioChannel(settings, timeout=0.5)) as w:
        first = w.run_once(now())
    assert first.retried == 1
    waiting = row(db, rid)
    assert waiting.status == "queued" and waiting.unsure_since is not None
    with worker(db, settings) as w:
        again = w.run_once(waiting.next_attempt_at + dt.timedelta(seconds=1))
    assert (again.found, again.sent) == (1, 0)
    assert len(twilio.messages()) == 1
    sent = row(db, rid)
    assert (sent.status, sent.provider_sid, sent.form) == (
        "sent", twilio.listed()[0]["sid"], form)
    assert sent.unsure_since is None


def test_a_timeout_before_twilio_had_it_is_sent_again(db, twilio, tmp_path):
    [(rid, phone)] = headmasters(db, 1).items()
    twilio.script(Reply.hang_for(5))  # no message kept: Twilio never had it
    settings = settings_for(twilio, tmp_path)
    with worker(db, settings, channel=TwilioChannel(settings, timeout=0.5)) as w:
        assert w.run_once(now()).retried == 1
    with worker(db, settings) as w:
        counts = w.run_once(row(db, rid).next_attempt_at + dt.timedelta(seconds=1))
    assert (counts.found, counts.sent) == (0, 1)
    assert received(twilio) == Counter([phone])


def test_the_same_text_sent_earlier_to_the_same_number_is_not_taken_for_it(db, twilio,
                                                                            tmp_path):
    phone = "+919830000002"
    pid = add_person(db, phone, last_inbound_at=now() - dt.timedelta(minutes=1))
    settings = settings_for(twilio, tmp_path)
    first = queue(db, pid, phone, at=now())
    with worker(db, settings) as w:
        assert w.run_once(now()).sent == 1
    # The same words again, and this time the answer is lost before Twilio had it.
    second = queue(db, pid, phone, at=now())
    twilio.script(Reply.hang_for(5))
    with worker(db, settings, channel=TwilioChannel(settings, timeout=0.5)) as w:
        assert w.run_once(now()).retried == 1
    with worker(db, settings) as w:
        counts = w.run_once(row(db, second).next_attempt_at + dt.timedelta(seconds=1))
    assert (counts.found, counts.sent) == (0, 1)  # the first one's sid is the first row's
    assert len(twilio.messages()) == 2
    assert row(db, first).provider_sid != row(db, second).provider_sid


# --- the database away ------------------------------------------------------------------------


@contextmanager
def outage_switch(db: Database) -> Iterator[threading.Event]:
    """While the event is set, every statement fails as a database that cannot be reached."""
    down = threading.Event()

    def refuse(*_args: object) -> None:
        if down.is_set():
            raise OperationalError("SELECT", {}, ConnectionRefusedError(
                "connection to server at 127.0.0.1, port 5432 failed: Connection refused"))

    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        yield down
    finally:
        down.clear()
        event.remove(db.engine, "before_cursor_execute", refuse)


class OutageChannel(TwilioChannel):
    """Twilio; the database goes away straight after message `after` is accepted, and comes
    back `lasting` seconds later."""

    def __init__(self, settings: Settings, down: threading.Event, after: int, lasting: float):
        super().__init__(settings)
        self.down, self.after, self.lasting = down, after, lasting
        self.count = 0
        self.lock = threading.Lock()
        self.timers: list[threading.Timer] = []

    def send(self, message: OutgoingMessage) -> SendResult:
        result = super().send(message)
        with self.lock:
            self.count += 1
            if self.count == self.after:
                self.down.set()
                timer = threading.Timer(self.lasting, self.down.clear)
                self.timers.append(timer)
                timer.start()
        return result

    def close(self) -> None:
        for timer in self.timers:  # an outage "lasting" an hour must not outlive the test
            timer.cancel()
        super().close()


def test_without_its_database_the_worker_stops_sending_says_so_once_and_resumes(
        db, twilio, tmp_path, caplog):
    rows = headmasters(db, 30)
    settings = settings_for(twilio, tmp_path)
    caplog.set_level(logging.INFO)
    with outage_switch(db) as down, worker(
            db, settings, channel=OutageChannel(settings, down, after=5, lasting=1.5),
            threads=4) as w:
        counts = w.run_once()
    assert received(twilio) == Counter(rows.values())  # none lost, none twice
    assert counts.sent + counts.found == 30
    for rid in rows:
        assert row(db, rid).status == "sent"
    unreachable = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    back = [r for r in caplog.records if "database reachable again" in r.getMessage()]
    assert (len(unreachable), len(back)) == (1, 1)
    assert all(r.exc_info is None for r in caplog.records)  # lines, not tracebacks
    assert "Connection refused" in unreachable[0].getMessage()


def test_sends_in_flight_when_the_database_went_away_are_recorded_not_repeated(
        db, twilio, tmp_path):
    """Whatever was sent while recording failed is written once the database is back; a
    worker killed during the outage leaves it to the next, which asks Twilio."""
    rows = headmasters(db, 6)
    settings = settings_for(twilio, tmp_path)
    with outage_switch(db) as down:
        channel = OutageChannel(settings, down, after=1, lasting=3600)
        w = worker(db, settings, channel=channel, threads=1)
        runner = threading.Thread(target=w.run_once)
        runner.start()
        while not w.gate.down:
            runner.join(0.05)
        w.stop()  # the worker ends during the outage: as good as killed
        runner.join(10)
        assert not runner.is_alive()
        w.close()
        assert len(twilio.messages()) == 1  # nothing more was sent once it could not record
    lease_runs_out(db)
    with worker(db, settings) as w:
        counts = w.run_once(now())
    assert counts.found == 1
    assert received(twilio) == Counter(rows.values())


def test_the_retry_setting_reads_hours(monkeypatch):
    monkeypatch.setenv("KADAM_RETRY_HOURS", "6")
    assert Settings.from_env().retry_hours == 6
    monkeypatch.setenv("KADAM_RETRY_HOURS", "0")
    with pytest.raises(ValueError, match="KADAM_RETRY_HOURS"):
        Settings.from_env()
