"""`kadam worker`: sends the outbox and fetches the evidence headmasters sent.

One loop: claim a batch of due outbox rows, hold back what would arrive in the recipient's
quiet hours, render the rest in the recipient's language, choose each one's form (WhatsApp free
text, approved template or SMS: bot.worker.channels.choose_form), send them from a small thread pool
paced to MESSAGES_PER_SECOND, record what happened, then fetch pending media. Sending happens
outside any database transaction; each result is committed by the thread that sent it, right
after the provider answers (bot/worker/results.py), so a worker killed at any moment leaves at
most its in-flight messages unrecorded.

Exactly once: a message whose outcome is unknown (its worker died mid-send, or the provider did
not answer in time) is looked up at the provider before it is sent again, and recorded as sent
if the provider has it. Without its database the worker sends nothing (bot/worker/outage.py).

MESSAGES_PER_SECOND paces one worker process: with several workers, give each its share.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

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
from bot.worker.outage import DatabaseGate
from bot.worker.outbound import render_row, rows_params, sms_row
from bot.worker.rate import Pace
from bot.worker.results import Counts, GroupWriter, Result, record_many
from bot.worker.unsure import find_sent
from storage import outbox
from storage.db import Database, unreachable
from storage.models import Outbox, Person
from storage.retention import remove_files
from storage.schedule import QuietHours, zone

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
IDLE_SLEEP = 1.0  # run_forever's pause when nothing was due
INBOUND_POLL = 0.25  # how often an idle worker looks for messages the webhook only recorded
REPLY_WAIT = 2.0  # seconds of paced sends at most in hand ahead of a newly claimed reply
INBOUND_BATCH = 200  # queued inbound messages looked up at a time


class Worker:
    def __init__(self, database: Database, settings: Settings, channel: Channel | None = None,
                 *, threads: int | None = None, media: MediaFetcher | None = None,
                 quiet: QuietHours | None = None):
        self.db = database
        self.settings = settings
        # Read once, here, so a bad TWILIO_TEMPLATES stops the worker at startup.
        self.templates = templates_map.load(settings.twilio_templates)
        self.quiet = quiet or settings.quiet_hours
        self.channel = channel or channel_for(settings)
        self.threads = threads or settings.worker_threads
        self.pace = Pace(settings.messages_per_second)
        self.media = media or MediaFetcher(database, settings)
        self._pool: ThreadPoolExecutor | None = None
        self.gate = DatabaseGate(database)
        self.writer = GroupWriter(self._write_group, self._write_one,
                                  keeps_going=lambda exc: not unreachable(exc))
        self._unrecorded: list[Result] = []  # sent during an outage: recorded once it ends
        self._abandoned: list[Result] = []  # claimed, not sent: given back once it ends
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
        if not self.gate.down:  # stopped during an outage
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
                except Exception as exc:  # a database restart must not end the worker
                    if not unreachable(exc):
                        log.exception("worker pass failed")
                        self._stopping.wait(IDLE_SLEEP)  # a bug must not become a log storm
                        continue
                    self.gate.report(exc)
                    self.gate.wait_until_up(self._stopping)
                    continue
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
        person's next one. When the database cannot be reached, nothing more is claimed or
        sent: the loop lets what is in flight finish, waits for the database, writes what it
        could not, gives back what it did not send, and goes on.
        """
        pending: set[Future[Result]] = set()
        look = True
        while True:
            if self.gate.down:
                if pending:
                    done, pending = wait(pending)
                    for future in done:
                        self._account(future.result(), counts)
                    continue
                if not self._recover(now, counts):
                    return
                look = True
                continue
            if look and len(pending) < self.batch_size and not self._stopping.is_set():
                at = now or _utcnow()
                try:
                    claimed = outbox.claim(self.db, self.batch_size, at, LEASE_SECONDS)
                except Exception as exc:
                    if not unreachable(exc):
                        raise
                    self.gate.report(exc)
                    continue
                look = bool(claimed)
                if claimed:
                    try:
                        ready, settled = self._prepare(claimed, at)
                    except Exception as exc:
                        if not unreachable(exc):
                            raise
                        self.gate.report(exc)
                        self._abandoned += [Result(item, "abandoned") for item in claimed]
                        continue
                    pending |= {self._executor().submit(self._deliver, item, message, now)
                                for item, message in ready}
                    for result in settled:
                        self._account(self._write(result, now), counts)
                continue
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                self._account(future.result(), counts)
            look = True

    def _account(self, result: Result, counts: Counts) -> None:
        if result.outcome == "abandoned":
            self._abandoned.append(result)
        elif result.unrecorded:
            self._unrecorded.append(result)
        else:
            counts.add(result.outcome)

    def _recover(self, now: dt.datetime | None, counts: Counts) -> bool:
        """After an outage: writes the results it held, gives back the rows it claimed and
        did not send. False when the worker stopped first."""
        if not self.gate.wait_until_up(self._stopping):
            return False
        unrecorded, self._unrecorded = self._unrecorded, []
        for result in unrecorded:
            self._account(self._write(replace(result, unrecorded=False), now), counts)
        abandoned, self._abandoned = self._abandoned, []
        try:
            with self.db.transaction() as session:
                for result in abandoned:
                    item = result.claimed
                    outbox.hold(session, item.id, now or _utcnow(), item.lease_until,
                                unsure=item.unsure_since is not None)
        except Exception as exc:
            if not unreachable(exc):
                raise
            self.gate.report(exc)
            self._abandoned += abandoned
        return True

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
            except Exception as exc:  # a database restart must not end the thread
                if unreachable(exc):
                    self.gate.report(exc)
                    self.gate.wait_until_up(self._stopping)
                else:
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
        rendered = render_row(session, row, person, self.settings.default_language, params,
                              self.settings.default_region)
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
                                                    self.settings.default_language, params,
                                                    self.settings.default_region))
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
            rendered = render(row.key, params, list(row.options or []), template.language,
                              region=self.settings.default_region)
        variables = template.content_variables(params, rendered.numbered(), second,
                                               self.settings.default_region)
        # The body column keeps the text the template stands for, for the simulator and logs.
        return replace(message, form="template", body=rendered.numbered(),
                       content_sid=template.content_sid, content_variables=variables)

    def _deliver(self, item: outbox.ClaimedMessage, message: OutgoingMessage,
                 now: dt.datetime | None) -> Result:
        """Sends one message and records what became of it (on a pool thread); never raises.
        A message whose earlier attempt may have gone out is first looked up at the provider.
        Nothing is sent while the database cannot be reached: it could not be recorded."""
        if self.gate.down:
            return Result(item, "abandoned")
        if item.unsure_since is not None:
            try:
                found = find_sent(self.db, self.channel, item, message)
            except TemporaryError as exc:
                log.warning("outbox %s: cannot ask the provider whether it has it (%s)",
                            item.id, exc)
                return self._write(Result(item, "retry", body=message.body, unsure=True,
                                          error_code=exc.code, error_message=exc.message), now)
            except Exception as exc:
                if not unreachable(exc):
                    log.exception("outbox %s: looking it up at the provider failed", item.id)
                    return Result(item, "abandoned")
                self.gate.report(exc)
                return Result(item, "abandoned")
            if found is not None:
                log.info("outbox %s: the provider has it already (%s): not sent again",
                         item.id, found.sid)
                return self._write(Result(item, "found", found.sid, message.form, message.body,
                                          FORM_CHANNEL.get(message.form, message.channel)), now)
        if self.gate.down:
            return Result(item, "abandoned")
        return self._write(self._send(item, message), now)

    def _send(self, item: outbox.ClaimedMessage, message: OutgoingMessage) -> Result:
        if getattr(self.channel, "paced", True):
            self.pace.wait()
        try:
            sent = self.channel.send(message)
        except TemporaryError as exc:
            log.warning("outbox %s: attempt %s failed (%s)", item.id, item.attempts, exc)
            return Result(item, "retry", body=message.body, error_code=exc.code,
                          error_message=exc.message, unsure=exc.unsure)
        except PermanentError as exc:
            log.warning("outbox %s: refused (%s)", item.id, exc)
            return Result(item, "failed", body=message.body, error_code=exc.code,
                          error_message=exc.message)
        except Exception as exc:  # an unexpected bug in a channel: treat as passing trouble
            log.exception("outbox %s: send raised", item.id)
            return Result(item, "retry", body=message.body, error_message=repr(exc),
                          unsure=True)
        channel = FORM_CHANNEL.get(sent.form, message.channel)
        return Result(item, "sent", sent.provider_sid, sent.form, message.body, channel)

    def _write(self, result: Result, now: dt.datetime | None) -> Result:
        """Commits one result at once; during an outage, keeps it to write when it ends."""
        at = now or _utcnow()
        try:
            outcome = self.writer.write(result, at)
        except Exception as exc:
            if unreachable(exc):
                self.gate.report(exc)
            else:  # the row stays claimed and unsure: whoever claims it next asks first
                log.exception("outbox %s: recording %s failed", result.claimed.id,
                              result.outcome)
            return replace(result, unrecorded=unreachable(exc))
        return replace(result, outcome=outcome)

    def _write_group(self, items: Sequence[tuple[Result, dt.datetime]]) -> list[str]:
        with self.db.transaction() as session:
            return record_many(session, items, self.settings.retry_hours)

    def _write_one(self, result: Result, at: dt.datetime) -> str:
        return self._write_group([(result, at)])[0]

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
            except Exception as exc:
                if unreachable(exc):
                    self.gate.report(exc)
                else:
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
