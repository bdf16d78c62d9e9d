"""What became of each claimed message, and how it is written back to the outbox.

Each result is written as soon as it is known (bot.worker.loop records a send straight after
the provider answers, on the thread that sent it): a worker killed at any moment leaves at most
the messages it had in flight unrecorded, and those are not sent again blindly (see `unsure`
in storage.outbox and bot.worker.unsure). Results that arrive while another is being written
are written together, in the next transaction (`GroupWriter`): a commit a message would cost
the worker a third of its speed, and waiting for company costs nothing when there is none.

Passing trouble is retried, at most RETRY_CAP apart, until KADAM_RETRY_HOURS after the first
attempt; then the message is recorded as failed, with why.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

from sqlalchemy.orm import Session

from bot.worker.sms import sms_cost
from storage import outbox
from storage.delivery import retry_reason

# How long to wait before attempt n+1 after a temporary failure of attempt n; then RETRY_CAP.
BACKOFF = (
    dt.timedelta(seconds=30), dt.timedelta(minutes=2), dt.timedelta(minutes=10),
    dt.timedelta(minutes=15),
)
RETRY_CAP = BACKOFF[-1]


@dataclass
class Counts:
    answered: int = 0  # inbound messages the webhook queued (KADAM_INBOUND=queue)
    sent: int = 0
    found: int = 0  # sends whose outcome was unknown, which the provider turned out to have
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

    def add(self, outcome: str) -> None:
        name = {"sent": "sent", "found": "found", "retry": "retried", "failed": "failed",
                "not_sent": "not_sent", "held": "held"}.get(outcome)
        if name is not None:
            setattr(self, name, getattr(self, name) + 1)


@dataclass(frozen=True)
class Result:
    """What became of one claimed row, to be written back to the outbox."""

    claimed: outbox.ClaimedMessage
    outcome: str  # sent | found | retry | failed | not_sent | held | abandoned
    provider_sid: str | None = None
    form: str | None = None
    body: str | None = None
    channel: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    until: dt.datetime | None = None  # for "held": when the recipient's quiet hours end
    unsure: bool = False  # for "retry": the provider may have it (a timeout)
    unrecorded: bool = False  # the database could not be reached: to write once it can


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th attempt failed for passing reasons."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def record(session: Session, result: Result, now: dt.datetime,
           retry_hours: float) -> str:
    """Writes one result; returns the outcome written (a retry past KADAM_RETRY_HOURS is
    written as "failed")."""
    claimed, rid = result.claimed, result.claimed.id
    if result.outcome in ("sent", "found"):
        encoding, segments = _sms_cost(result)
        outbox.mark_all_sent(session, [outbox.Sent(
            rid, result.provider_sid or "", result.form or "", result.body or "",
            result.channel or claimed.channel, encoding, segments)], now=now)
        return result.outcome
    if result.outcome == "retry":
        first = claimed.first_attempt_at or now
        delay = retry_delay(claimed.attempts)
        if now + delay - first <= dt.timedelta(hours=retry_hours):
            outbox.mark_retry(session, rid, delay, result.error_code, result.error_message,
                              now=now, unsure=result.unsure)
            return "retry"
        reason = (f"gave up after {retry_hours:g} hours of retries "
                  f"({claimed.attempts} attempts): "
                  f"{retry_reason(result.error_code, result.error_message)}")
        if result.error_message:
            reason += f" ({result.error_message.splitlines()[0][:200]})"
        outbox.mark_failed(session, rid, result.error_code, reason, now=now)
        return "failed"
    if result.outcome == "not_sent":
        outbox.mark_failed(session, rid, None, result.error_message, "not_sent", now=now)
        return "not_sent"
    if result.outcome == "held":
        assert result.until is not None
        outbox.hold(session, rid, result.until, unsure=claimed.unsure_since is not None)
        return "held"
    outbox.mark_failed(session, rid, result.error_code, result.error_message, now=now)
    if result.error_code == outbox.UNSUBSCRIBED:
        outbox.opt_out(session, claimed.person_id, now)
    return "failed"


def record_many(session: Session, items: Sequence[tuple[Result, dt.datetime]],
                retry_hours: float) -> list[str]:
    """Writes a group of results; the sent ones in one statement (the hot path), stamped with
    the group's latest time. Returns each outcome, in order."""
    outcomes = ["" for _ in items]
    sent = [(n, result) for n, (result, _at) in enumerate(items)
            if result.outcome in ("sent", "found")]
    if sent:
        latest = max(items[n][1] for n, _ in sent)
        rows = []
        for n, result in sent:
            encoding, segments = _sms_cost(result)
            rows.append(outbox.Sent(result.claimed.id, result.provider_sid or "",
                                    result.form or "", result.body or "",
                                    result.channel or result.claimed.channel, encoding,
                                    segments))
            outcomes[n] = result.outcome
        outbox.mark_all_sent(session, rows, now=latest)
    for n, (result, at) in enumerate(items):
        if not outcomes[n]:
            outcomes[n] = record(session, result, at, retry_hours)
    return outcomes


def _sms_cost(result: Result) -> tuple[str | None, int | None]:
    if result.form != "sms" or result.body is None:
        return None, None
    cost = sms_cost(result.body)
    return cost.encoding, cost.segments


@dataclass
class _Waiting:
    result: Result
    at: dt.datetime
    written: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""
    error: BaseException | None = None


class GroupWriter:
    """Group commit: the thread that finds nobody writing writes everything waiting, in one
    transaction; threads that arrive meanwhile wait for the next. Under load results go in
    groups; alone, a result is written at once.

    `write_group(items)` writes [(result, at), ...] in one transaction and returns each
    outcome; `write_one(result, at)` is the fallback that keeps one bad row from failing the
    rest of its group."""

    def __init__(self, write_group: Callable[[Sequence[tuple[Result, dt.datetime]]], list[str]],
                 write_one: Callable[[Result, dt.datetime], str],
                 keeps_going: Callable[[BaseException], bool]):
        self._write_group = write_group
        self._write_one = write_one
        self._keeps_going = keeps_going  # False for a database outage: the group waits whole
        self._waiting: list[_Waiting] = []
        self._list = threading.Lock()
        self._writer = threading.Lock()  # one transaction at a time

    def write(self, result: Result, at: dt.datetime) -> str:
        """Writes the result (with whatever else is waiting); raises what writing it raised."""
        mine = _Waiting(result, at)
        with self._list:
            self._waiting.append(mine)
        with self._writer:
            if not mine.written.is_set():
                with self._list:
                    group, self._waiting = self._waiting, []
                self._write(group)
        if mine.error is not None:
            raise mine.error
        return mine.outcome

    def _write(self, group: list[_Waiting]) -> None:
        try:
            outcomes = self._write_group([(w.result, w.at) for w in group])
            for waiting, outcome in zip(group, outcomes, strict=True):
                waiting.outcome = outcome
        except Exception as exc:
            if len(group) == 1 or not self._keeps_going(exc):
                for waiting in group:
                    waiting.error = exc
            else:
                for waiting in group:  # one row's trouble: the others are written alone
                    try:
                        waiting.outcome = self._write_one(waiting.result, waiting.at)
                    except Exception as one:
                        waiting.error = one
        finally:
            for waiting in group:
                waiting.written.set()
