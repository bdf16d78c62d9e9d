"""The engine: load a person and their conversation, call the flow, apply its effects.

Everything for one inbound message happens in ONE transaction: the inbound row (unique on its
MessageSid), the conversation's new state and the outbound rows. A retried webhook therefore
changes nothing, and a crash half-way leaves nothing half-written. Nothing here calls Twilio;
the worker sends what the outbox holds.

With KADAM_INBOUND=queue the webhook's transaction holds only the inbound row (`accept`), and
the worker answers it later (`handle_pending`) in a second transaction that writes the state
and the replies and clears the row's `pending` flag together: the same guarantees, with the
flow's work taken off the request (as RapidPro's courier hands messages to its mailroom).

Triggers from the clock come in thousands; `trigger_many` loads people, conversations and
projects for a whole batch in a few queries and runs the same flow step for each.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.engine import rules
from bot.engine.applier import Applier, Schedules
from bot.engine.batch import BatchTrigger
from flows import officer
from flows.events import Event, HeadmasterTrigger, Media, Message, Notice, Trigger
from flows.registry import Flow, flow_for
from flows.state import State, Step
from flows.views import Snapshot
from storage import conversations as store
from storage import digests, phrases
from storage.db import Database
from storage.models import InboundMessage, Outbox, Person
from storage.schedule import QuietHours

log = logging.getLogger(__name__)

UNREGISTERED_REPLY_EVERY = dt.timedelta(hours=24)
# The clock's triggers that trigger_many writes set-based (bot/engine/batch.py); any other
# (an officer's digest or help alert, a notice) runs row by row.
BATCHED = get_args(HeadmasterTrigger)
BATCH = 1000  # people per transaction when the clock triggers many
TRIGGER_THREADS = 2
OFFICER_BATCH = 200  # digests and alerts per transaction


@dataclass(frozen=True)
class Inbound:
    """One message as it arrived, whatever the channel (Twilio WhatsApp, SMS, the simulator)."""

    sid: str
    phone: str
    channel: str
    body: str = ""
    button_payload: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)  # [{url, content_type, ...}]


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | duplicate | unregistered | queued
    inbound_id: int | None = None
    replies: int = 0


class Engine:
    def __init__(self, database: Database, settings: Settings | None = None,
                 quiet: QuietHours | None = None):
        self.db = database
        self.settings = settings or Settings.from_env()
        self.quiet = quiet or self.settings.quiet_hours

    # --- entry points -------------------------------------------------------------------------

    def receive(self, inbound: Inbound, now: dt.datetime | None = None) -> Outcome:
        """Store and handle one inbound message, exactly once per sid."""
        return self._store_once(inbound, now or dt.datetime.now(dt.UTC), handle=True)

    def accept(self, inbound: Inbound, now: dt.datetime | None = None) -> Outcome:
        """Store one inbound message, exactly once per sid, for `handle_pending` to answer
        (KADAM_INBOUND=queue: the webhook only records; the worker runs the flow)."""
        return self._store_once(inbound, now or dt.datetime.now(dt.UTC), handle=False)

    def handle_pending(self, limit: int = 200, now: dt.datetime | None = None) -> int:
        """Answers stored messages not yet handled, oldest first, each person's in the order
        they arrived. Returns how many it took off the queue (answered, or given up on).

        Safe to run in several workers at once: a message is taken under a row lock
        (PostgreSQL) or the write lock (SQLite), and a person's later message waits while an
        earlier one is pending."""
        handled = 0
        with self.db.sessions() as session:
            ids = store.pending_inbound(session, limit)
        for inbound_id in ids:
            at = now or dt.datetime.now(dt.UTC)
            try:
                with self.db.transaction() as session:
                    row = store.take_pending_inbound(session, inbound_id)
                    if row is None:
                        continue  # another worker has it, or had it
                    person = store.person_by_phone(session, row.phone)
                    self._handle(session, row, person, _inbound_of(row), at)
                    row.pending = False
                    handled += 1
            except OperationalError:
                # The database, not the message: a lost connection, a deadlock, a lock held
                # too long. Nothing was written; the message stays pending, and the caller
                # (the worker's answering thread) tries again shortly.
                raise
            except Exception:
                # A message the flow cannot handle must not hold up the sender's next ones:
                # it is kept (and logged) as handled, with nothing written for it.
                log.exception("inbound %s could not be handled; moving on", inbound_id)
                with self.db.transaction() as session:
                    failed = store.take_pending_inbound(session, inbound_id)
                    if failed is not None:
                        failed.pending = False
                        handled += 1
        return handled

    def _store_once(self, inbound: Inbound, now: dt.datetime, handle: bool) -> Outcome:
        try:
            if not handle:
                with self.db.engine.begin() as connection:  # no ORM session: two statements
                    return Outcome("queued", store.record_inbound(connection, _columns(inbound),
                                                                  now))
            with self.db.transaction() as session:
                row, person = self._store(session, inbound, now)
                return self._handle(session, row, person, inbound, now)
        except IntegrityError:
            # Twilio retried, or two copies raced: the other copy did (or is doing) the work.
            with self.db.sessions() as session:
                existing = session.scalar(
                    select(InboundMessage.id).where(InboundMessage.sid == inbound.sid)
                )
            if existing is None:
                raise
            return Outcome("duplicate", existing)

    def notify(self, session: Session, person_id: int, notice: Notice, now: dt.datetime,
               in_reply_to: int | None = None) -> int:
        """Tells a person what others did (a file refused, ...), inside the caller's
        transaction. With `in_reply_to` the message answers that inbound message: it goes at
        once, whatever the hour, as any direct reply does."""
        schedules = Schedules(session, self.settings.timezone, self.quiet,
                              self.settings.digest_time)
        return self._run_for(session, person_id, notice, now, in_reply_to, schedules)

    def trigger(self, person_id: int, event: Trigger, now: dt.datetime | None = None) -> int:
        """Start or push one conversation (an invitation, a task falling due), row by row as
        an inbound message is handled. Returns the replies queued. (`trigger_many` writes the
        clock's batches set-based, by the same rules: tests/test_one_applier.py.)"""
        now = now or dt.datetime.now(dt.UTC)
        with self.db.transaction() as session:
            schedules = Schedules(session, self.settings.timezone, self.quiet,
                                  self.settings.digest_time)
            return self._run_for(session, person_id, event, now, None, schedules)

    def trigger_many(self, items: Sequence[tuple[int, Trigger]], now: dt.datetime | None = None,
                     batch: int = BATCH) -> int:
        """Triggers for many people, a batch per transaction. Returns the replies queued."""
        now = now or dt.datetime.now(dt.UTC)
        replies = 0
        one_by_one = [item for item in items if not isinstance(item[1], BATCHED)]
        headmasters: list[tuple[int, Event]] = [
            (person_id, event) for person_id, event in items if isinstance(event, BATCHED)]
        for start in range(0, len(one_by_one), OFFICER_BATCH):
            with self.db.transaction() as session:
                schedules = Schedules(session, self.settings.timezone, self.quiet,
                                      self.settings.digest_time)
                for person_id, event in one_by_one[start:start + OFFICER_BATCH]:
                    replies += self._run_for(session, person_id, event, now, None, schedules)
        chunks = list(_batches(headmasters, batch))
        people_once = len({person_id for person_id, _ in headmasters}) == len(headmasters)
        if people_once and len(chunks) > 1 and not self.db.is_sqlite:
            # Batches of different people are independent: two connections overlap one
            # batch's Python with the other's database work. (SQLite has one writer anyway.)
            with ThreadPoolExecutor(max_workers=TRIGGER_THREADS) as pool:
                return replies + sum(pool.map(lambda chunk: self._one_batch(chunk, now),
                                              chunks))
        for chunk in chunks:
            replies += self._one_batch(chunk, now)
        return replies

    def _one_batch(self, chunk: list[tuple[int, Event]], now: dt.datetime) -> int:
        with self.db.transaction() as session:
            return self._trigger_batch(session, chunk, now)

    # --- internals ----------------------------------------------------------------------------

    def _store(self, session: Session, inbound: Inbound, now: dt.datetime
               ) -> tuple[InboundMessage, Person | None]:
        """The inbound row (its unique sid checked at the flush, before any other write)."""
        person = store.person_by_phone(session, inbound.phone)
        row = InboundMessage(
            sid=inbound.sid,
            phone=inbound.phone,
            person_id=person.id if person else None,
            channel=inbound.channel,
            body=inbound.body,
            button_payload=inbound.button_payload,
            media=inbound.media,
            received_at=now,
        )
        session.add(row)
        session.flush()
        if person is not None:
            person.last_inbound_at = now
        return row, person

    def _handle(self, session: Session, row: InboundMessage, person: Person | None,
                inbound: Inbound, now: dt.datetime) -> Outcome:
        if person is None:
            replied = self._reply_unregistered(session, inbound, row.id, now)
            return Outcome("unregistered", row.id, int(replied))
        message = Message(
            text=inbound.body,
            inbound_id=row.id,
            button=inbound.button_payload,
            media=tuple(
                Media(i, m.get("content_type") or "application/octet-stream")
                for i, m in enumerate(inbound.media)
            ),
        )
        schedules = Schedules(session, self.settings.timezone, self.quiet,
                              self.settings.digest_time)
        replies = self._run(session, person, message, now, row.id, schedules)
        return Outcome("processed", row.id, replies)

    def _trigger_batch(self, session: Session, chunk: list[tuple[int, Event]],
                       now: dt.datetime) -> int:
        batch = BatchTrigger(session, now, self.settings.timezone, self.quiet)
        schedules = Schedules(session, self.settings.timezone, self.quiet,
                              self.settings.digest_time)
        slow: list[int] = []

        def one_by_one(session: Session, person_id: int, event: Event,
                       result: Step) -> None:
            """Effects the bulk writer does not know, applied as for an inbound message."""
            person = session.get(Person, person_id)
            assert person is not None
            slow.append(self._apply(session, person, result, now, None, schedules))

        queued = batch.run(chunk, one_by_one)
        session.flush()
        return queued + sum(slow)

    def _reply_unregistered(
        self, session: Session, inbound: Inbound, inbound_id: int, now: dt.datetime
    ) -> bool:
        """One polite answer a day to a number not in the roster; the message is kept."""
        recent = session.scalar(
            select(Outbox.id).where(
                Outbox.phone == inbound.phone,
                Outbox.key == "unregistered",
                Outbox.created_at > now - UNREGISTERED_REPLY_EVERY,
            )
        )
        if recent:
            return False
        row = store.queue_message(
            session,
            phone=inbound.phone,
            channel="sms" if inbound.channel == "sms" else "whatsapp",
            key="unregistered",
            language=self.settings.default_language,
            in_reply_to=inbound_id,
        )
        row.created_at = row.next_attempt_at = now
        return True

    def _run_for(self, session: Session, person_id: int, event: Any, now: dt.datetime,
                 inbound_id: int | None, schedules: Schedules) -> int:
        person = session.get(Person, person_id)
        if person is None:
            return 0
        return self._run(session, person, event, now, inbound_id, schedules)

    def _run(
        self, session: Session, person: Person, event: Any,
        now: dt.datetime, inbound_id: int | None, schedules: Schedules,
    ) -> int:
        """One step of the person's conversation (their role's flow), its effects and its
        write-back, then the steps it starts for others (a help request alerts the school's
        officer, a nudge reaches a headmaster)."""
        flow = flow_for(person.role)
        if isinstance(event, get_args(Notice)):
            # A notice leaves the conversation where it is: no lock taken, nothing written
            # back (so telling a whole block of a milestone never waits on their messages).
            state = State(*store.conversation_state(session, person.id))
            result = flow.step(self._snapshot(session, flow, person, event, now, schedules),
                               state, event, now)
            return self._apply(session, person, result, now, inbound_id, schedules,
                               write_back=False)
        name, context = store.lock_conversations(session, [person.id], now)[person.id]
        result = flow.step(self._snapshot(session, flow, person, event, now, schedules),
                           State(name, context), event, now)
        return self._apply(session, person, result, now, inbound_id, schedules)

    def _snapshot(self, session: Session, flow: Flow[Any], person: Person, event: Any,
                  now: dt.datetime, schedules: Schedules) -> Any:
        """What the person's flow reads: the person alone when the event needs no more, else
        a headmaster's projects or an officer's area as of now."""
        if flow.needs_only_the_person(event):
            return flow.minimal(person.id, person.name, person.language,
                                person.opted_out_at is not None)
        if flow.snapshot is Snapshot:
            return store.snapshot(session, person, schedules.local_date(person, now), now)
        text = event.text if isinstance(event, Message) else ""
        return self._officer_snapshot(session, person, text, now)

    def _apply(self, session: Session, person: Person, result: Step, now: dt.datetime,
               inbound_id: int | None, schedules: Schedules, write_back: bool = True) -> int:
        """The row-by-row path: each effect through the applier, then the conversation."""
        def tell(other_id: int, notice: Notice) -> int:
            return self._run_for(session, other_id, notice, now, None, schedules)

        applier = Applier(session, person, now, inbound_id, schedules.local_date(person, now),
                          schedules, tell)
        for effect in result.effects:
            applier.apply(effect)
        if write_back:
            store.save_conversations(session, [(person.id, rules.conversation(
                result.state.name, result.state.context, now))])
        replies = applier.replies
        # Others the step concerns come next, in the same transaction.
        for other_id, other_event in applier.follow_ups:
            replies += self._run_for(session, other_id, other_event, now, None, schedules)
        return replies

    def _officer_snapshot(self, session: Session, person: Person, text: str,
                          now: dt.datetime) -> officer.OfficerSnapshot:
        """An officer's area as of now: their digest, and a school they asked about."""
        digest = digests.digests(session, [person], now, self.settings.public_url,
                                 self.settings.secret_key, self.settings.link_days)[person.id]
        code = officer.school_code_asked(text)
        school = digests.school_report(session, person, code, now) if code else None
        return officer.OfficerSnapshot(person.id, person.name, person.language,
                                       person.opted_out_at is not None, digest, school,
                                       phrases.taught(session))


def _columns(inbound: Inbound) -> dict[str, Any]:
    return {"sid": inbound.sid, "phone": inbound.phone, "channel": inbound.channel,
            "body": inbound.body, "button_payload": inbound.button_payload,
            "media": inbound.media}


def _inbound_of(row: InboundMessage) -> Inbound:
    return Inbound(sid=row.sid, phone=row.phone, channel=row.channel, body=row.body,
                   button_payload=row.button_payload, media=list(row.media or []))


def _batches(items: Sequence[tuple[int, Event]], size: int) -> Iterator[list[tuple[int, Event]]]:
    """Batches in which each person appears once, so every step sees the state the last left."""
    pending = list(items)
    while pending:
        batch: list[tuple[int, Event]] = []
        seen: set[int] = set()
        later: list[tuple[int, Event]] = []
        for item in pending:
            if item[0] in seen or len(batch) >= size:
                later.append(item)
            else:
                seen.add(item[0])
                batch.append(item)
        yield batch
        pending = later
