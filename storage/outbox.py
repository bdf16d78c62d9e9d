"""The outbox queue: claiming due messages for a worker and recording what became of them.

Several workers may run side by side. A claim moves rows to "sending" with a lease (their
next_attempt_at moves to now + lease) in one statement, so no two workers get the same row; a
worker that dies mid-batch simply lets its lease run out and the rows become due again. On
PostgreSQL the claim skips rows another worker has locked (FOR UPDATE SKIP LOCKED); on SQLite
every transaction starts with BEGIN IMMEDIATE, so claims are serialized by the database lock.

A WhatsApp message refused with error 63016 (sent free-form outside the 24-hour window) gets
one copy queued, marked `fallback_of`, which the worker may only send as a template or SMS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from storage.db import Database
from storage.models import OUTBOX_RANK, Outbox, Person, School, UTCDateTime

# Confirmations of STOP are the one thing an opted-out person still receives.
OPT_OUT_CONFIRMATIONS = frozenset({"opted_out", "still_opted_out"})
UNSUBSCRIBED = 21610  # Twilio: the recipient replied STOP to this sender
OUTSIDE_WINDOW = 63016  # Twilio: a free-form WhatsApp message outside the 24-hour window


@dataclass(frozen=True)
class ClaimedMessage:
    """A row this worker now holds a lease on, with what sending it needs about the person."""

    id: int
    person_id: int | None
    phone: str
    channel: str  # the person's channel if known, else the row's: whatsapp | sms
    key: str
    attempts: int  # including this one
    language: str | None
    second_language: str | None
    opted_out: bool
    last_inbound_at: dt.datetime | None
    sms_allowed: bool = True  # False for the roster's "whatsapp-only"
    timezone: str | None = None  # the person's school's, if it names one
    in_reply_to: int | None = None  # set for a direct reply, which quiet hours never hold
    fallback_of: int | None = None  # set for a copy after error 63016: never free-form
    # Set when an earlier attempt's outcome is unknown (its worker died mid-send, or the
    # provider did not answer): since when. Ask the provider before sending again.
    unsure_since: dt.datetime | None = None
    first_attempt_at: dt.datetime | None = None  # when the row was first tried
    lease_until: dt.datetime | None = None  # this claim's lease (its next_attempt_at)

    @property
    def may_send(self) -> bool:
        return not self.opted_out or self.key in OPT_OUT_CONFIRMATIONS


def claim(
    database: Database, limit: int, now: dt.datetime, lease_seconds: float = 60
) -> list[ClaimedMessage]:
    """Claims up to `limit` due rows for `lease_seconds`: first any whose lease ran out (their
    worker died), then replies to what people just said, then the other queued rows, earliest
    due first.

    A person's messages go out one at a time, in the order they were queued: a row waits while
    an earlier row for the same person is due or being sent ("Well done!" must not arrive
    after the next task it introduces). A row whose retry lies in the future does not hold
    the later ones back. Replies come first and keep their order among themselves, but do not
    wait for a person's bulk messages: a headmaster who answers a task while a circular goes
    to a whole state hears back at once, not when the last school has its circular.
    """
    lease_until = now + dt.timedelta(seconds=lease_seconds)
    with database.transaction() as session:
        rows: list[Row[Any]] = []
        for status, replies in (("sending", False), ("queued", True), ("queued", False)):
            if len(rows) < limit:
                rows += _claim(session, status, limit - len(rows), now, lease_until,
                               database.is_sqlite, replies=replies)
        person_ids = {row.person_id for row in rows if row.person_id is not None}
        people = {
            p.id: p
            for p in session.execute(
                select(Person.id, Person.channel, Person.language, Person.second_language,
                       Person.opted_out_at, Person.last_inbound_at, Person.sms_allowed,
                       School.timezone)
                .outerjoin(School, School.id == Person.school_id)
                .where(Person.id.in_(person_ids))
            )
        } if person_ids else {}
    claimed = []
    # Replies first within the batch too: the worker hands rows to its senders in this order.
    for row in sorted(rows, key=lambda r: (r.in_reply_to is None, r.id)):
        person = people.get(row.person_id) if row.person_id is not None else None
        claimed.append(
            ClaimedMessage(
                id=row.id,
                person_id=row.person_id,
                phone=row.phone,
                # The person may have moved from WhatsApp to SMS since the row was queued.
                channel=person.channel if person else row.channel,
                key=row.key,
                attempts=row.attempts,
                language=person.language if person else row.language,
                second_language=person.second_language if person else None,
                opted_out=bool(person and person.opted_out_at),
                last_inbound_at=person.last_inbound_at if person else None,
                sms_allowed=bool(person.sms_allowed) if person else True,
                timezone=person.timezone if person else None,
                in_reply_to=row.in_reply_to,
                fallback_of=row.fallback_of,
                # The claim keeps an earlier unsure_since and sets it to now otherwise.
                unsure_since=row.unsure_since if row.unsure_since < now else None,
                first_attempt_at=row.first_attempt_at,
                lease_until=lease_until,
            )
        )
    return claimed


def rows_and_people(session: Session, claimed: Sequence[ClaimedMessage]
                    ) -> tuple[dict[int, Outbox], dict[int, Person]]:
    """The outbox rows of a claimed batch and the people they go to, by id: two queries for
    the whole batch, for rendering each message in its recipient's language."""
    ids = [c.id for c in claimed]
    rows = {r.id: r for r in session.scalars(select(Outbox).where(Outbox.id.in_(ids)))}
    person_ids = [c.person_id for c in claimed if c.person_id is not None]
    people = {p.id: p for p in session.scalars(
        select(Person).where(Person.id.in_(person_ids)))} if person_ids else {}
    return rows, people


def _claim(session: Session, status: str, limit: int, now: dt.datetime,
           lease_until: dt.datetime, is_sqlite: bool, replies: bool = False) -> list[Row[Any]]:
    # One status per statement, ordered by next_attempt_at alone, so both databases walk the
    # (status, next_attempt_at) index, or for replies the small partial ix_outbox_replies_due,
    # and stop after `limit` rows instead of sorting the whole queue; the turn check is then
    # an index probe on person_id for each candidate.
    earlier = aliased(Outbox)
    due_before = and_(earlier.status == "queued", earlier.next_attempt_at <= now)
    if replies:
        due_before = and_(due_before, earlier.in_reply_to.is_not(None))
    waits_its_turn = exists().where(
        earlier.person_id == Outbox.person_id,
        earlier.id < Outbox.id,
        or_(earlier.status == "sending", due_before),
    )
    # The status as a literal, not a parameter: a planner can then prove a partial index's
    # condition (SQLite never can from a parameter, nor PostgreSQL in a generic plan).
    assert status in ("sending", "queued")
    due = (
        select(Outbox.id)
        .where(Outbox.status == literal_column(f"'{status}'"), Outbox.next_attempt_at <= now,
               ~waits_its_turn)
        .order_by(Outbox.next_attempt_at)
        .limit(limit)
    )
    if replies:
        due = due.where(Outbox.in_reply_to.is_not(None))
    if not is_sqlite:
        due = due.with_for_update(of=Outbox, skip_locked=True)
    return list(session.execute(
        update(Outbox)
        .where(Outbox.id.in_(due.scalar_subquery()))
        .values(status="sending", next_attempt_at=lease_until, attempts=Outbox.attempts + 1,
                # Until its outcome is recorded, a claimed row's fate is unknown: a worker
                # killed mid-send leaves it so, and whoever claims it next asks the provider.
                unsure_since=func.coalesce(Outbox.unsure_since, now),
                first_attempt_at=func.coalesce(Outbox.first_attempt_at, now))
        .returning(
            Outbox.id, Outbox.person_id, Outbox.phone, Outbox.channel, Outbox.key,
            Outbox.attempts, Outbox.language, Outbox.in_reply_to, Outbox.fallback_of,
            Outbox.unsure_since, Outbox.first_attempt_at,
        )
        .execution_options(synchronize_session=False)
    ).all())


def _ranked_below(status: str) -> list[str]:
    rank = OUTBOX_RANK[status]
    return [name for name, r in OUTBOX_RANK.items() if r < rank]


def _forward(status: str) -> object:
    """SQL for "`status`, unless the row has already moved past it" (a fast callback wins)."""
    # OR of equalities rather than IN: an expanding IN cannot go into an executemany.
    earlier = or_(*(Outbox.status == name for name in _ranked_below(status)))
    return case((earlier, status), else_=Outbox.status)


@dataclass(frozen=True)
class Sent:
    """A message the provider accepted."""

    id: int
    provider_sid: str
    form: str  # console | session | template | sms
    body: str
    channel: str  # whatsapp | sms, as actually sent
    sms_encoding: str | None = None
    sms_segments: int | None = None


def mark_sent(
    session: Session, id: int, provider_sid: str, form: str, body: str, channel: str,
    now: dt.datetime | None = None,
) -> None:
    mark_all_sent(session, [Sent(id, provider_sid, form, body, channel)], now)


def mark_all_sent(session: Session, sent: Sequence[Sent], now: dt.datetime | None = None
                  ) -> None:
    """Records accepted messages in one executemany (the worker's hot path)."""
    if not sent:
        return
    now = now or _now()
    # Run on the Connection, not the Session: a Session would read a list of parameters as an
    # ORM bulk update by primary key, which cannot keep the forward-only CASE.
    # A callback that beat this record (a failure with its error code) keeps its error.
    moved = or_(*(Outbox.status == name for name in _ranked_below("sent")))
    statement = (
        update(Outbox)
        .where(Outbox.id == bindparam("b_id"))
        .values(
            status=_forward("sent"), provider_sid=bindparam("b_sid"), form=bindparam("b_form"),
            body=bindparam("b_body"), channel=bindparam("b_channel"), sent_at=now,
            sms_encoding=bindparam("b_encoding"), sms_segments=bindparam("b_segments"),
            status_at=now, unsure_since=None,
            error_code=case((moved, None), else_=Outbox.error_code),
            error_message=case((moved, None), else_=Outbox.error_message),
        )
    )
    session.connection().execute(statement, [
        {"b_id": s.id, "b_sid": s.provider_sid, "b_form": s.form, "b_body": s.body,
         "b_channel": s.channel, "b_encoding": s.sms_encoding, "b_segments": s.sms_segments}
        for s in sent
    ])


def mark_retry(
    session: Session, id: int, delay: dt.timedelta, error_code: int | None,
    error_message: str | None, now: dt.datetime | None = None, unsure: bool = False,
) -> None:
    """Back to the queue, due again after `delay`; only while this worker still holds it.
    `unsure`: the provider may have the message (a timeout), so the next attempt asks first."""
    now = now or _now()
    session.execute(
        update(Outbox)
        .where(Outbox.id == id, Outbox.status == "sending")
        .values(status="queued", next_attempt_at=now + delay, error_code=error_code,
                error_message=error_message,
                unsure_since=Outbox.unsure_since if unsure else None)
        .execution_options(synchronize_session=False)
    )


def hold(session: Session, id: int, until: dt.datetime,
         lease_until: dt.datetime | None = None, unsure: bool = False) -> None:
    """Back to the queue until `until` (quiet hours at the recipient, or a claim given back
    unsent). The claim counted an attempt; a held message was never tried, so the count is
    undone. With `lease_until`, only if the claim is still this worker's (that lease);
    `unsure`: an earlier attempt's outcome is still unknown, and stays so."""
    held = and_(Outbox.id == id, Outbox.status == "sending")
    if lease_until is not None:
        held = and_(held, Outbox.next_attempt_at == lease_until)
    never_tried = Outbox.attempts <= 1
    session.execute(
        update(Outbox)
        .where(held)
        .values(status="queued", next_attempt_at=until, attempts=Outbox.attempts - 1,
                unsure_since=Outbox.unsure_since if unsure else None,
                first_attempt_at=case((never_tried, None), else_=Outbox.first_attempt_at))
        .execution_options(synchronize_session=False)
    )


def mark_failed(
    session: Session, id: int, error_code: int | None, message: str | None,
    status: str = "failed", now: dt.datetime | None = None,
) -> None:
    """Gives up on a row (status "failed", or "not_sent" when it was never tried)."""
    now = now or _now()
    session.execute(
        update(Outbox)
        .where(Outbox.id == id)
        .values(status=_forward(status), error_code=error_code, error_message=message,
                status_at=now, unsure_since=None)
        .execution_options(synchronize_session=False)
    )


def known_sids(session: Session, sids: Sequence[str]) -> set[str]:
    """Which of these provider sids a row already holds (a message found at the provider that
    is another row's is not the one being looked for)."""
    if not sids:
        return set()
    return set(session.scalars(select(Outbox.provider_sid)
                               .where(Outbox.provider_sid.in_(list(sids)))))


def opt_out(session: Session, person_id: int | None, now: dt.datetime | None = None) -> None:
    """Records that the person stopped messages (kept if they had already)."""
    if person_id is None:
        return
    session.execute(
        update(Person)
        .where(Person.id == person_id, Person.opted_out_at.is_(None))
        .values(opted_out_at=now or _now())
        .execution_options(synchronize_session=False)
    )


def apply_status_callback(
    session: Session, provider_sid: str, status: str, error_code: int | None,
    now: dt.datetime | None = None, outbox_id: int | None = None,
) -> bool:
    """Moves a message's status forward (a late "delivered" never undoes "read").

    Returns whether the row changed. Statuses Kadam does not rank are ignored. Error 21610
    (the person replied STOP to the sender) opts the person out whatever the status did; error
    63016 on a free-form WhatsApp message queues its one fallback copy.
    """
    now = now or _now()
    changed = False
    if status in OUTBOX_RANK:
        values: dict[str, object] = {"status": status, "status_at": now,
                                     "provider_sid": provider_sid}
        if error_code:
            values["error_code"] = error_code
        this_message = _this_message(provider_sid, outbox_id)
        # One conditional UPDATE, so two callbacks racing each other cannot go backwards.
        result = session.execute(
            update(Outbox)
            .where(this_message, Outbox.status.in_(_ranked_below(status)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed = bool(getattr(result, "rowcount", 0))
    if error_code == UNSUBSCRIBED:
        person_id = session.scalar(
            select(Outbox.person_id).where(Outbox.provider_sid == provider_sid)
        )
        opt_out(session, person_id, now)
    if error_code == OUTSIDE_WINDOW and status in ("failed", "undelivered"):
        queue_fallback(session, provider_sid, now, outbox_id)
    return changed


def _this_message(provider_sid: str, outbox_id: int | None) -> ColumnElement[bool]:
    """The row a status callback is about: the one holding its sid. The callback URL names
    the row too, so a callback that beats the worker's own record of the sid still finds it;
    but only while no row holds that sid, which is one message's (unique): a callback naming
    a row and another row's sid must not give the sid to a second row (a 500)."""
    this_message = Outbox.provider_sid == provider_sid
    if outbox_id is None:
        return this_message
    holder = aliased(Outbox)
    return this_message | ((Outbox.id == outbox_id) & Outbox.provider_sid.is_(None)
                           & ~exists().where(holder.provider_sid == provider_sid))


FALLBACK_COPIED = ("person_id", "phone", "channel", "language", "key", "params", "options",
                   "media_url", "in_reply_to", "project_id", "task_id", "broadcast_id")


def queue_fallback(session: Session, provider_sid: str, now: dt.datetime,
                   outbox_id: int | None = None) -> None:
    """Queues one copy of a free-form WhatsApp message that WhatsApp refused (63016), due now.

    Only free-form messages get 63016, so the original's form is "session", or not yet
    recorded when the callback beat the worker. The unique fallback_of makes a repeated
    callback (or two racing) queue nothing more; the worker sends the copy as a template or
    SMS, or records why it could not.
    """
    original = _this_message(provider_sid, outbox_id)
    copy = (
        select(*(getattr(Outbox, name) for name in FALLBACK_COPIED), Outbox.id,
               literal("queued"), literal(0), literal(now, UTCDateTime()),
               literal(now, UTCDateTime()))
        .where(original, Outbox.fallback_of.is_(None),
               or_(Outbox.form.is_(None), Outbox.form == "session"))
    )
    columns = [*FALLBACK_COPIED, "fallback_of", "status", "attempts", "next_attempt_at",
               "created_at"]
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)
    session.execute(
        insert(Outbox).from_select(columns, copy)
        .on_conflict_do_nothing(index_elements=["fallback_of"])
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
