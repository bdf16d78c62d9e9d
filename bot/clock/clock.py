"""The clock: `kadam tick` runs the due work once; `kadam clock` runs it every minute.

Due work is a handful of queries over indexed due times (storage/due.py), fed to the engine as
triggers; the same code runs for any instant, which is how `kadam tick --at` catches up and
how tests travel in time. Only one clock is active at a time: on PostgreSQL it holds an
advisory lock on its own connection (released by the server if the process dies); on SQLite
it holds a lease row that it renews. A second clock waits as a standby, asking every
LEADER_POLL seconds, and takes over. On SIGTERM (a deploy, a scale-down) the active clock
finishes the tick in hand, gives the lock up and exits, so a standby leads within LEADER_POLL.

Once a day, at night, a tick also purges the personal data whose time has come
(storage/retention.py, KADAM_RETENTION_DAYS).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import click
from sqlalchemy import Connection

from bot.config import Settings
from bot.engine.engine import Engine
from flows.events import DigestDue
from storage import digests, due, lease, retention
from storage.db import Database
from storage.media_store import MediaStore
from storage.schedule import QuietHours

log = logging.getLogger(__name__)

LEADER_POLL = 5.0  # seconds between a standby's asks to lead (and the active clock's renewals)


@dataclass
class TickReport:
    prompts: int = 0
    reminders: int = 0
    lapses: int = 0
    invitations: int = 0
    digests: int = 0
    replies: int = 0
    purged: retention.PurgeReport | None = None  # the daily purge, when this tick ran it

    def __str__(self) -> str:
        return (f"task prompts {self.prompts}, reminders {self.reminders}, "
                f"lapsed {self.lapses}, invitations re-sent {self.invitations}, "
                f"digests {self.digests}, "
                f"messages queued {self.replies}"
                + (f"; purged {self.purged}" if self.purged else ""))


def tick(database: Database, settings: Settings, now: dt.datetime | None = None,
         quiet: QuietHours | None = None) -> TickReport:
    """Everything that has fallen due by `now`, once."""
    now = now or dt.datetime.now(dt.UTC)
    quiet = quiet or settings.quiet_hours
    engine = Engine(database, settings, quiet)
    report = TickReport()
    zone = settings.timezone
    # Lapses first, so a project that lapses is not also prompted in the same tick.
    with database.sessions() as session:
        lapses = due.lapses(session, now)
    report.replies += engine.trigger_many(lapses, now)
    with database.sessions() as session:
        invitations = due.invitation_reminders(session, now, zone, quiet)
    report.replies += engine.trigger_many(invitations, now)
    # Prompts before reminders: a new task prompt ends the nudges about the task before it.
    with database.sessions() as session:
        prompts = due.task_prompts(session, now, zone, quiet)
    report.replies += engine.trigger_many(prompts, now)
    with database.sessions() as session:
        reminders = due.reminders(session, now, zone, quiet)
    report.replies += engine.trigger_many(reminders, now)
    with database.transaction() as session:
        officers = due.officers_due_a_digest(session, now, zone, settings.digest_time)
        digests_due = [
            (person_id, DigestDue(digest)) for person_id, digest in digests.digests(
                session, officers, now, settings.public_url, settings.secret_key,
                settings.link_days).items()]
    report.replies += engine.trigger_many(digests_due, now)
    report.digests = len(digests_due)
    report.lapses, report.invitations = len(lapses), len(invitations)
    report.reminders, report.prompts = len(reminders), len(prompts)
    report.purged = retention.purge_if_due(database, MediaStore(settings.media_dir), now,
                                           settings.retention_days, zone)
    return report


class Leadership:
    """Decides whether this process is the active clock."""

    def __init__(self, database: Database, lease_seconds: float):
        self.db = database
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._connection: Connection | None = None

    def is_leader(self, now: dt.datetime | None = None) -> bool:
        if self.db.is_sqlite:
            return self._renew_lease(now or dt.datetime.now(dt.UTC))
        return self._hold_advisory_lock()

    def _hold_advisory_lock(self) -> bool:
        # A session-level lock lives as long as this connection: if the process dies, the
        # server drops the connection and the lock with it, and a standby takes over.
        try:
            if self._connection is not None:
                lease.check_advisory_lock(self._connection)
                return True
            self._connection = lease.take_advisory_lock(self.db)
            return self._connection is not None
        except Exception:  # noqa: BLE001 - a broken connection means we no longer lead
            log.exception("lost the clock's database connection")
            self.release()
            return False

    def _renew_lease(self, now: dt.datetime) -> bool:
        return lease.renew_lease(self.db, self.holder, now, self.lease)

    def release(self) -> None:
        """Stops leading. The unlock is explicit: a closed connection's lock is only dropped
        once the server notices, and a standby may ask before then."""
        if self.db.is_sqlite:
            try:
                lease.release_lease(self.db, self.holder)
            except Exception:  # noqa: BLE001 - the lease then runs out by itself
                log.warning("could not give the clock's lease up; it runs out by itself",
                            exc_info=True)
        if self._connection is not None:
            try:
                lease.release_advisory_lock(self._connection)
            except Exception:  # noqa: BLE001 - a dead connection has dropped the lock anyway
                log.debug("unlock on a broken connection", exc_info=True)
            finally:
                self._connection.close()
                self._connection = None


class Clock:
    """Runs `tick` every `interval` seconds while this process leads."""

    def __init__(self, database: Database, settings: Settings, interval: float = 60.0,
                 poll: float = LEADER_POLL):
        self.db = database
        self.settings = settings
        self.interval = interval
        self.poll = min(poll, interval)
        # Renewed every poll; long enough to outlast a slow tick, during which it is not.
        self.leadership = Leadership(database, lease_seconds=interval * 3)
        self._stopping = threading.Event()
        self._leading: bool | None = None  # not asked yet
        self._due = 0.0  # time.monotonic() of the next tick while leading: at once, at first

    def beat(self, now: dt.datetime | None = None) -> TickReport | None:
        if not self.leadership.is_leader(now):
            log.debug("standing by: another clock is active")
            return None
        report = tick(self.db, self.settings, now)
        if report.replies:
            log.info("tick: %s", report)
        return report

    def run(self) -> None:
        """Until stop(): APScheduler asks every `poll` seconds to lead (or renews), and while
        this clock leads the due work runs every `interval` seconds. One job, never two at
        once: a late ask or tick is skipped, not made up twice. stop() lets the tick in hand
        finish, then the lock is given up."""
        from apscheduler.schedulers.background import BackgroundScheduler

        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line a minute is noise
        log.info("clock started (every %ss) as %s", self.interval, self.leadership.holder)
        scheduler = BackgroundScheduler(timezone=dt.UTC)
        scheduler.add_job(self._ask_and_tick, "interval", seconds=self.poll, max_instances=1,
                          coalesce=True, next_run_time=dt.datetime.now(dt.UTC))
        scheduler.start()
        try:
            while not self._stopping.wait(1.0):  # short waits: signals are handled between
                pass
        finally:
            scheduler.shutdown(wait=True)
            self.leadership.release()
            log.info("clock %s stopped; the lock is free", self.leadership.holder)

    def _ask_and_tick(self) -> None:
        try:
            now_leading = self.leadership.is_leader()
        except Exception:  # noqa: BLE001 - the database away: ask again later
            log.warning("clock: cannot reach the database to ask who leads",
                        exc_info=log.isEnabledFor(logging.DEBUG))
            now_leading = False
        if now_leading != self._leading:
            log.info("clock %s: %s", self.leadership.holder,
                     "active" if now_leading else "standing by")
            self._leading = now_leading
        if not now_leading or self._stopping.is_set() or time.monotonic() < self._due:
            return
        started = time.monotonic()
        try:
            report = tick(self.db, self.settings)
            if report.replies:
                log.info("tick: %s", report)
        except Exception:
            log.exception("tick failed; the next runs in %ss", self.interval)
        self._due = max(started + self.interval, time.monotonic())

    def stop(self) -> None:
        """Ends run() after the tick in hand (SIGTERM)."""
        self._stopping.set()


def _instant(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@click.command("tick")
@click.option("--at", "at", metavar="ISO-8601",
              help="Run as of this instant (default: now); without a zone it is UTC.")
def tick_command(at: str | None) -> None:
    """Run the due work once (task prompts, reminders, lapses, invitations) and exit."""
    settings = _settings_or_refusal()
    database = Database(settings.database_url)
    try:
        report = tick(database, settings, _instant(at))
    finally:
        database.dispose()
    click.echo(str(report))


@click.command("clock")
@click.option("--interval", type=float, default=None, show_default="60",
              help="Seconds between runs of the due work (CLOCK_INTERVAL_SECONDS).")
def clock_command(interval: float | None) -> None:
    """Run the due work every minute; one clock is active, others stand by."""
    settings = _settings_or_refusal()
    database = Database(settings.database_url)
    clock = Clock(database, settings,
                  settings.clock_interval_seconds if interval is None else interval)

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %s: finishing the tick in hand, then giving the lock up", signum)
        clock.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        clock.run()
    finally:
        database.dispose()


def _settings_or_refusal() -> Settings:
    """The settings, or a refusal to run: digests carry photo links signed with SECRET_KEY."""
    settings = Settings.from_env()
    refusal = settings.missing_secret_key()
    if refusal:
        raise click.ClickException(refusal)
    return settings
