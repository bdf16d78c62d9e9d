"""`kadam worker`: sends the outbox and fetches the evidence headmasters sent.

One loop: claim a batch of due outbox rows, hold back what would arrive in the recipient's
quiet hours, render the rest in the recipient's language, choose each one's form (WhatsApp free
text, approved template or SMS: bot.worker.channels.choose_form), send them from a small thread pool
paced to MESSAGES_PER_SECOND, record what happened, then fetch pending media. Sending happens
outside any database transaction; results are written by the loop's own thread, a few at a
time as they come back, so the pool threads only wait on the network.

MESSAGES_PER_SECOND paces one worker process: with several workers, give each its share.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, fields, replace
from types import FrameType
from typing import Any

import click
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.engine.engine import Engine
from bot.language import templates_map
from bot.language.messages import Rendered, render
from bot.worker.channels import (
    FORM_CHANNEL,
    Channel,
    OutgoingMessage,
    PermanentError,
    Route,
    TemporaryError,
    channel_for,
    choose_form,
)
from bot.worker.media import MediaFetcher
from bot.worker.outbound import render_row, rows_params, sms_row
from bot.worker.rate import Pace
from bot.worker.sms import sms_cost
from storage import outbox
from storage.db import Database
from storage.models import Outbox, Person
from storage.retention import remove_files
from storage.schedule import QuietHours, zone

log = logging.getLogger(__name__)

# How long to wait before attempt n+1 after a temporary failure of attempt n.
BACKOFF = (
    dt.timedelta(seconds=30), dt.timedelta(minutes=2), dt.timedelta(minutes=10),
    dt.timedelta(minutes=30), dt.timedelta(hours=2),
)
MAX_ATTEMPTS = 8
LEASE_SECONDS = 60
IDLE_SLEEP = 1.0  # run_forever's pause when nothing was due
INBOUND_POLL = 0.25  # how often an idle worker looks for messages the webhook only recorded
REPLY_WAIT = 2.0  # seconds of paced sends at most in hand ahead of a newly claimed reply
DEFAULT_THREADS = 8
INBOUND_BATCH = 200  # queued inbound messages looked up at a time


@dataclass
class Counts:
    answered: int = 0  # inbound messages the webhook queued (KADAM_INBOUND=queue)
    sent: int = 0
    retried: int = 0
    failed: int = 0
    not_sent: int = 0
    held: int = 0  # scheduled messages put back until the recipient's morning
    media_stored: int = 0
    media_retried: int = 0
    media_rejected: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{f.name.replace('_', ' ')} {getattr(self, f.name)}"
                         for f in fields(self))

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class Result:
    """What became of one claimed row, to be written back to the outbox."""

    claimed: outbox.ClaimedMessage
    outcome: str  # sent | retry | failed | not_sent | held
    provider_sid: str | None = None
    form: str | None = None
    body: str | None = None
    channel: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    until: dt.datetime | None = None  # for "held": when the recipient's quiet hours end


class Worker:
    def __init__(self, database: Database, settings: Settings, channel: Channel | None = None,
                 *, threads: int | None = None, media: MediaFetcher | None = None,
                 quiet: QuietHours | None = None):
        self.db = database
        self.settings = settings
        # Read once, here, so a bad TWILIO_TEMPLATES stops the worker at startup.
        self.templates = templates_map.load(settings.twilio_templates)
        self.quiet = quiet or QuietHours.from_env()
        self.channel = channel or channel_for(settings)
        self.threads = threads or int(os.environ.get("WORKER_THREADS") or DEFAULT_THREADS)
        self.pace = Pace(settings.messages_per_second)
        self.media = media or MediaFetcher(database, settings)
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()  # set when replies were queued, or on stop()

    @property
    def batch_size(self) -> int:
        # Small enough that what is in hand (two batches, see _send_due) goes out within
        # REPLY_WAIT at the paced rate: a reply claimed behind them waits no longer than that,
        # and every row is sent well inside its lease, so no other worker reclaims it.
        size = 2 * self.threads
        rate = self.settings.messages_per_second
        return max(1, min(size, math.ceil(rate * REPLY_WAIT / 2))) if rate > 0 else size

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="kadam-send")
        return self._pool

    # --- the loop -----------------------------------------------------------------------------

    def run_once(self, now: dt.datetime | None = None) -> Counts:
        """Sends every message due now, fetches due media, and returns what happened.

        With `now` given (tests, `tick`-style time travel) every time written uses it;
        otherwise each batch reads the clock afresh.
        """
        counts = Counts()
        self._answer_inbound(now, counts)
        self._send_due(now, counts)
        self._fetch_media(now or _utcnow(), counts)
        return counts

    def run_forever(self) -> None:
        """Runs until stop(); sleeps briefly whenever nothing was due.

        Messages the webhook only recorded (KADAM_INBOUND=queue) are answered on a thread of
        their own, so a headmaster's reply never waits for a pass that is sending a circular
        to a whole state; the replies it queues are claimed ahead of that circular."""
        log.info("worker started: channel %s, %s threads, %s msg/s",
                 type(self.channel).__name__, self.threads,
                 self.settings.messages_per_second or "unlimited")
        answering = threading.Thread(target=self._answer_forever, name="kadam-inbound",
                                     daemon=True)
        answering.start()
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                counts = Counts()
                try:
                    self._send_due(None, counts)
                    self._fetch_media(_utcnow(), counts)
                except Exception:  # a database restart must not end the worker
                    log.exception("worker pass failed")
                if counts.total:
                    log.info("worker: %s", counts)
                else:
                    self._wake.wait(IDLE_SLEEP)
        finally:
            self._stopping.set()
            answering.join()
            self.close()

    def stop(self) -> None:
        """Ends run_forever after the batch in hand (SIGTERM on a deploy)."""
        self._stopping.set()
        self._wake.set()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.channel.close()
        self.media.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending ------------------------------------------------------------------------------

    def _send_due(self, now: dt.datetime | None, counts: Counts) -> None:
        """Claims, sends and records until a claim finds nothing and nothing is in flight.

        The next batch is claimed as soon as fewer than a batch are in flight, while the pool
        still sends the last one's tail: preparing a batch takes longer than sending a few
        paced messages, and a pace slot the pool misses is lost. At most two batches are in
        hand at once, which keeps every row well inside its lease (see batch_size). After
        each result comes back we look again, because recording a message may free the same
        person's next one.
        """
        pending: set[Future[Result]] = set()
        look = True
        while True:
            if look and len(pending) < self.batch_size and not self._stopping.is_set():
                at = now or _utcnow()
                claimed = outbox.claim(self.db, self.batch_size, at, LEASE_SECONDS)
                look = bool(claimed)
                if claimed:
                    ready, settled = self._prepare(claimed, at)
                    pending |= {self._executor().submit(self._deliver, item, message)
                                for item, message in ready}
                    self._record(settled, now, counts)
                continue
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            self._record([future.result() for future in done], now, counts)
            look = True

    def _answer_inbound(self, now: dt.datetime | None, counts: Counts) -> None:
        """Runs the flow for messages the webhook only recorded (KADAM_INBOUND=queue); in
        the default inline mode there are none and this is one indexed query."""
        engine = self._engine()
        while not self._stopping.is_set():
            answered = engine.handle_pending(INBOUND_BATCH, now)
            counts.answered += answered
            if not answered:
                return

    def _answer_forever(self) -> None:
        """run_forever's second thread: answers recorded messages as they come, and wakes
        the sending loop when it has queued replies."""
        engine = self._engine()
        while not self._stopping.is_set():
            try:
                answered = engine.handle_pending(INBOUND_BATCH)
            except Exception:  # a database restart must not end the thread
                log.exception("answering recorded messages failed; trying again")
                self._stopping.wait(IDLE_SLEEP)
                continue
            if answered:
                log.info("worker: answered %s recorded messages", answered)
                self._wake.set()
            else:
                self._stopping.wait(INBOUND_POLL)

    def _engine(self) -> Engine:
        return Engine(self.db, self.settings, self.quiet)

    def _prepare(self, claimed: list[outbox.ClaimedMessage], now: dt.datetime
                 ) -> tuple[list[tuple[outbox.ClaimedMessage, OutgoingMessage]], list[Result]]:
        """Renders each row in its recipient's language and chooses its form; rows that cannot
        go now are settled (opted out, quiet hours, no allowed form, a bad message)."""
        ready: list[tuple[outbox.ClaimedMessage, OutgoingMessage]] = []
        settled: list[Result] = []
        with self.db.sessions() as session:
            rows, people = outbox.rows_and_people(session, claimed)
            # Filled once per message, for the whole batch at once: a launch's invitations
            # take one query between them.
            params = rows_params(session, rows.values())
            for item in claimed:
                if not item.may_send:
                    settled.append(Result(item, "not_sent", error_message="opted out"))
                    continue
                until = self._quiet_until(item, now)
                if until is not None:
                    settled.append(Result(item, "held", until=until))
                    continue
                row = rows[item.id]
                person = people.get(item.person_id) if item.person_id is not None else None
                try:
                    outcome = self._outgoing(session, item, row, person, now,
                                             params[row.id])
                except Exception as exc:  # a bad key or parameter: retrying cannot fix it
                    log.exception("outbox %s: cannot render %r", item.id, item.key)
                    settled.append(Result(item, "failed", error_message=f"cannot render: {exc}"))
                    continue
                if isinstance(outcome, Result):
                    settled.append(outcome)
                else:
                    ready.append((item, outcome))
        return ready, settled

    def _quiet_until(self, item: outbox.ClaimedMessage, now: dt.datetime) -> dt.datetime | None:
        """When a scheduled message may go, if it is night at the recipient now. A direct reply
        (in_reply_to) is never held: the person is awake and waiting for it."""
        if item.in_reply_to is not None:
            return None
        timezone = item.timezone or self.settings.timezone
        try:
            zone(timezone)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            log.warning("outbox %s: unknown time zone %r", item.id, timezone)
            timezone = self.settings.timezone
        until = self.quiet.next_allowed(now, timezone)
        return until if until > now else None

    def _outgoing(self, session: Session, item: outbox.ClaimedMessage, row: Outbox,
                  person: Person | None, now: dt.datetime,
                  params: dict[str, Any]) -> OutgoingMessage | Result:
        """The message in the form the window allows, or why it cannot be sent."""
        rendered = render_row(session, row, person, self.settings.default_language, params)
        message = OutgoingMessage(
            id=item.id, to=item.phone, channel=item.channel, key=item.key,
            body=rendered.numbered(), media_url=row.media_url,
        )
        if not getattr(self.channel, "uses_forms", False):
            return message
        route = choose_form(item, now, self.templates, self.settings.twilio_sms_from,
                            self.settings.twilio_whatsapp_from)
        if route.form == "not_sent":
            log.info("outbox %s: not sent: %s", item.id, route.reason)
            return Result(item, "not_sent", error_message=route.reason)
        if route.form == "template":
            return self._template_message(item, row, params, message, rendered, route)
        if route.form == "sms":
            # What must arrive fits the segment budget: the how-to, the objective and long
            # lists give way, in that order (bot/language/sms_fit.py).
            message = replace(message, body=sms_row(session, row, person,
                                                    self.settings.default_language, params))
        return replace(message, form=route.form)

    def _template_message(self, item: outbox.ClaimedMessage, row: Outbox,
                          params: dict[str, Any], message: OutgoingMessage, rendered: Rendered,
                          route: Route) -> OutgoingMessage:
        """The approved template with its variables in the template's language (English when
        the person's language has no template, so one message never mixes two)."""
        template = route.template
        assert template is not None
        same_language = template.language == (item.language or "en")
        second = item.second_language if same_language else None
        if not same_language:
            rendered = render(row.key, params, list(row.options or []), template.language)
        variables = template.content_variables(params, rendered.numbered(), second)
        # The body column keeps the text the template stands for, for the simulator and logs.
        return replace(message, form="template", body=rendered.numbered(),
                       content_sid=template.content_sid, content_variables=variables)

    def _deliver(self, item: outbox.ClaimedMessage, message: OutgoingMessage) -> Result:
        """Sends one message (on a pool thread); never raises."""
        if getattr(self.channel, "paced", True):
            self.pace.wait()
        try:
            sent = self.channel.send(message)
        except TemporaryError as exc:
            outcome = "retry" if item.attempts < MAX_ATTEMPTS else "failed"
            log.warning("outbox %s: attempt %s failed (%s)", item.id, item.attempts, exc)
            return Result(item, outcome, body=message.body, error_code=exc.code,
                          error_message=exc.message)
        except PermanentError as exc:
            log.warning("outbox %s: refused (%s)", item.id, exc)
            return Result(item, "failed", body=message.body, error_code=exc.code,
                          error_message=exc.message)
        except Exception as exc:  # an unexpected bug in a channel: treat as passing trouble
            log.exception("outbox %s: send raised", item.id)
            outcome = "retry" if item.attempts < MAX_ATTEMPTS else "failed"
            return Result(item, outcome, body=message.body, error_message=repr(exc))
        channel = FORM_CHANNEL.get(sent.form, message.channel)
        return Result(item, "sent", sent.provider_sid, sent.form, message.body, channel)

    def _record(self, results: list[Result], now: dt.datetime | None, counts: Counts) -> None:
        if not results:
            return
        at = now or _utcnow()
        sent = [
            outbox.Sent(r.claimed.id, r.provider_sid or "", r.form or "", r.body or "",
                        r.channel or r.claimed.channel, *_sms_cost(r))
            for r in results if r.outcome == "sent"
        ]
        with self.db.transaction() as session:
            outbox.mark_all_sent(session, sent, now=at)
            counts.sent += len(sent)
            for r in results:
                rid = r.claimed.id
                if r.outcome == "sent":
                    continue
                if r.outcome == "retry":
                    delay = BACKOFF[min(r.claimed.attempts, len(BACKOFF)) - 1]
                    outbox.mark_retry(session, rid, delay, r.error_code, r.error_message, now=at)
                    counts.retried += 1
                elif r.outcome == "not_sent":
                    outbox.mark_failed(session, rid, None, r.error_message, "not_sent", now=at)
                    counts.not_sent += 1
                elif r.outcome == "held":
                    assert r.until is not None
                    outbox.hold(session, rid, r.until)
                    counts.held += 1
                else:
                    outbox.mark_failed(session, rid, r.error_code, r.error_message, now=at)
                    if r.error_code == outbox.UNSUBSCRIBED:
                        outbox.opt_out(session, r.claimed.person_id, at)
                    counts.failed += 1

    # --- media --------------------------------------------------------------------------------

    def _fetch_media(self, now: dt.datetime, counts: Counts) -> None:
        """Fetches due media: the first item here, and only if there was one, the rest with
        the pool's threads (so an idle worker makes one query a pass, not one a thread)."""
        tried: set[int] = set()  # each file gets one go per pass

        def drain() -> list[str]:
            outcomes: list[str] = []
            while not self._stopping.is_set():
                outcome = self.media.fetch_next(now, tried)
                if outcome is None:
                    break
                outcomes.append(outcome)
            return outcomes

        first = self.media.fetch_next(now, tried)
        if first is None:
            return
        batches = [[first]]
        for future in [self._executor().submit(drain) for _ in range(self.threads)]:
            try:
                batches.append(future.result())
            except Exception:
                log.exception("media fetch failed")
        outcomes = [outcome for batch in batches for outcome in batch]
        counts.media_stored += outcomes.count("stored")
        counts.media_retried += outcomes.count("retry")
        counts.media_rejected += outcomes.count("rejected")
        if "rejected" in outcomes:
            # A refused upload does not stay on disk (unless the same bytes are kept evidence).
            remove_files(self.db, self.media.store)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sms_cost(result: Result) -> tuple[str | None, int | None]:
    if result.form != "sms" or result.body is None:
        return None, None
    cost = sms_cost(result.body)
    return cost.encoding, cost.segments


@click.command()
@click.option("--once", is_flag=True, help="Send what is due, fetch pending media, and exit.")
def worker(once: bool) -> None:
    """Send the outbox and fetch media (MESSAGES_PER_SECOND, WORKER_THREADS)."""
    settings = Settings.from_env()
    refusal = settings.missing_secret_key()
    if refusal:
        raise click.ClickException(refusal)
    database = Database(settings.database_url or None)
    try:
        runner = Worker(database, settings)
    except templates_map.TemplateMapError as exc:
        database.dispose()
        raise click.ClickException(str(exc)) from exc
    if once:
        with runner:
            click.echo(str(runner.run_once()))
        database.dispose()
        return

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the batch in hand", signum)
        runner.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner.run_forever()
    database.dispose()
