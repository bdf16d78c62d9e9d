"""Delivery health: where outbound messages stand, within a Scope, in a few GROUP BYs.

A message belongs to the area of the person it went to: a headmaster's school, or an
officer's own district and block (officers have no school). Messages to numbers not in the
roster belong to no area, so only the state team sees them. Everything is counted straight
from the outbox, one row per message sent or tried: a WhatsApp message refused outside the
24-hour window (63016) and its template or SMS copy are two rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, and_, cast, false, func, literal, select, true
from sqlalchemy.orm import Session

from storage.models import Outbox, Person, Project, School
from storage.schedule import DEFAULT_TIMEZONE, QuietHours, zone
from storage.scope import Scope

STATUSES = ("queued", "sent", "delivered", "read", "failed", "undelivered", "not_sent")
# Twilio's in-between statuses, counted with the step they stand for.
SAME_AS = {"sending": "queued", "scheduled": "queued", "accepted": "sent"}
FAILED = ("failed", "undelivered")
PERIODS = {"7": 7, "30": 30, "all": None}
NO_AREA = "(no area: not in the roster, or no district given)"

# What the common Twilio error codes mean, in words the state team can act on.
ERRORS = {
    63016: "Outside WhatsApp's 24-hour window: needs an approved template (or SMS)",
    63003: "Not a WhatsApp user, or the number cannot take WhatsApp",
    63024: "WhatsApp refused the recipient (not a valid WhatsApp number)",
    63032: "WhatsApp did not deliver: the user has been sent too many business messages",
    63049: "WhatsApp held back a marketing message to this user",
    30003: "Unreachable handset: switched off or out of coverage",
    30004: "Message blocked by the recipient",
    30005: "Unknown destination: the number does not exist",
    30006: "Landline or unreachable carrier",
    30007: "Filtered by the carrier (looks like spam)",
    30008: "Unknown error from the carrier",
    21211: "Invalid phone number",
    21408: "Sending to this region is not enabled in Twilio",
    21610: "The recipient opted out (sent STOP)",
    21614: "Not a mobile number: cannot take SMS",
}


def retry_reason(error_code: int | None, error_message: str | None) -> str:
    """Why a message is being tried again, in a few words (a broadcast's report)."""
    message = error_message or ""
    if error_code in (429, 20429) or "Too Many Requests" in message:
        return "provider busy"
    if error_code is not None and (500 <= error_code < 600 or 20500 <= error_code < 20600):
        return "provider error"
    if "Timeout" in message or "timed out" in message:
        return "no answer from provider"
    if "Connection" in message:
        return "provider unreachable"
    return message.split("\n", 1)[0][:80] or "passing trouble"


def describe(code: int | None) -> str:
    if code is None:
        return "No error code (refused before reaching Twilio, or no reason given)"
    return ERRORS.get(code, "See Twilio's error dictionary")


@dataclass(frozen=True)
class Area:
    name: str
    failed: int = 0
    opted_out: int = 0


@dataclass
class Health:
    level: str  # what the area table is by: district, block or school
    by_status: Counter[str] = field(default_factory=Counter)
    failed_by_code: list[tuple[int | None, str, int]] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    opted_out: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def others(self) -> list[tuple[str, int]]:
        """Counts of statuses not in STATUSES (none, unless a new one appears)."""
        return sorted((s, n) for s, n in self.by_status.items() if s not in STATUSES)

    @property
    def failed(self) -> int:
        return sum(self.by_status[s] for s in FAILED)


def _district() -> Any:
    return func.coalesce(School.district, Person.district)


def _block() -> Any:
    return func.coalesce(School.block, Person.block)


def people_condition(scope: Scope) -> Any:
    """A WHERE on person outer-joined to school: the people whose area is in the scope."""
    if scope.nothing:
        return false()
    parts: list[Any] = [true()]
    if scope.district is not None:
        parts.append(func.lower(func.trim(_district())) == scope.district)
    if scope.block is not None:
        parts.append(func.lower(func.trim(_block())) == scope.block)
    return and_(*parts)


def people_in(scope: Scope) -> Any:
    """A subquery of the ids of the people in the scope (headmasters and officers)."""
    return (select(Person.id).outerjoin(School, School.id == Person.school_id)
            .where(people_condition(scope)))


def level_of(scope: Scope) -> str:
    if scope.block is not None:
        return "school"
    return "block" if scope.district is not None else "district"


def health(session: Session, scope: Scope, campaign_id: int | None = None,
           since: dt.datetime | None = None) -> Health:
    """Messages created since `since` (None: ever), to people in the scope, optionally only
    those of one campaign's projects: counts by status, failures by error code and by area,
    and the people in the scope who opted out."""
    result = Health(level_of(scope))

    def limited(query: Any) -> Any:
        if since is not None:
            query = query.where(Outbox.created_at >= since)
        if campaign_id is not None:
            query = query.where(Outbox.project_id.in_(
                select(Project.id).where(Project.campaign_id == campaign_id)))
        if not scope.is_everything:
            query = query.where(Outbox.person_id.in_(people_in(scope)))
        return query

    # One pass over the messages: by status, and each failure's error code.
    codes = Counter[int | None]()
    for status, code, count in session.execute(
            limited(select(Outbox.status, Outbox.error_code, func.count())
                    .group_by(Outbox.status, Outbox.error_code))):
        result.by_status[SAME_AS.get(status, status)] += count
        if status in FAILED:
            codes[code] += count
    result.failed_by_code = sorted(((code, describe(code), n) for code, n in codes.items()),
                                   key=lambda item: (-item[2], item[0] or 0))

    # Failures by area: only the failed messages (a few percent) are joined to their people.
    key, label = _area(result.level)
    names: dict[str, str] = {}
    failed = Counter[str]()
    for k, name, count in session.execute(
            limited(select(key, func.min(label), func.count()).select_from(Outbox)
                    .outerjoin(Person, Person.id == Outbox.person_id)
                    .outerjoin(School, School.id == Person.school_id)
                    .where(Outbox.status.in_(FAILED)).group_by(key))):
        names.setdefault(k or "", name or NO_AREA)
        failed[k or ""] += count

    # Opt-outs, by the same areas.
    opted = Counter[str]()
    query = (select(key, func.min(label), func.count()).select_from(Person)
             .outerjoin(School, School.id == Person.school_id)
             .where(Person.opted_out_at.is_not(None)).group_by(key))
    if not scope.is_everything:
        query = query.where(people_condition(scope))
    for k, name, count in session.execute(query):
        names.setdefault(k or "", name or NO_AREA)
        opted[k or ""] += count
    result.opted_out = sum(opted.values())
    result.areas = [Area(names[k], failed[k], opted[k])
                    for k in sorted(names, key=lambda k: (not k, names[k].lower()))]
    return result


def _area(level: str) -> tuple[Any, Any]:
    """What the area table groups by at this level, and the name it shows."""
    if level == "school":
        return (func.coalesce(School.code, literal("officer ") + cast(Person.id, String)),
                func.coalesce(School.name, Person.name + " (officer)"))
    column = _district() if level == "district" else _block()
    return func.lower(func.trim(column)), func.trim(column)


# --- why a queued message waits ---------------------------------------------------------------

WAITING = ("queued", "sending", "scheduled")


@dataclass(frozen=True)
class Waiting:
    """Why a message has not gone yet, read from its outbox row: `kind` is quiet_hours,
    retrying, window, sending, scheduled or due; `until` is when it goes next (UTC)."""

    kind: str
    until: dt.datetime | None = None

    def words(self, page_zone: str) -> str:
        """In the words the state team and the simulator's user read, times in `page_zone`
        (the zone the page says its times are in)."""
        at = self.until.astimezone(zone(page_zone)).strftime("%H:%M") if self.until else ""
        if self.kind == "quiet_hours":
            return f"quiet hours until {at}"
        if self.kind == "retrying":
            return f"retrying: provider busy (next try {at})"
        if self.kind == "window":
            return ("outside WhatsApp's 24-hour window: waits to go as an approved template "
                    "or SMS")
        if self.kind == "sending":
            return "being sent"
        if self.kind == "scheduled":
            return f"scheduled for {at}"
        return "due now: goes with the worker's next pass"


def why_waiting(row: Any, now: dt.datetime, quiet: QuietHours, timezone: str,
                default_zone: str = DEFAULT_TIMEZONE) -> Waiting | None:
    """Why the outbox `row` has not gone yet (None once it has gone, or failed), from the
    row alone and the recipient's time zone (their school's, else KADAM_TIMEZONE; the caller
    passes Settings.timezone as `default_zone`, for a school's zone that is unknown).

    - a row the worker holds for the night has its next attempt at the end of the quiet
      hours there, with no attempt counted (storage/outbox.py, hold; or queued at night);
    - a row the provider turned back (busy, unreachable) has attempts and the last error;
    - a copy queued after WhatsApp refused a free-form message outside the 24-hour window
      (error 63016, `fallback_of`) may only go as a template or SMS.
    """
    if row.status not in WAITING:
        return None
    if row.status == "sending":
        return Waiting("sending")
    until = row.next_attempt_at
    if row.fallback_of is not None and row.attempts == 0:
        return Waiting("window", until if until and until > now else None)
    if row.attempts > 0 and (row.error_code is not None or row.error_message):
        return Waiting("retrying", until)
    if until is None or until <= now:
        return Waiting("due")
    try:
        local = until.astimezone(zone(timezone))
    except (ValueError, KeyError):  # an unknown zone (ZoneInfoNotFoundError is a KeyError)
        local = until.astimezone(zone(default_zone))
    if (local.hour, local.minute) == (quiet.end.hour, quiet.end.minute) \
            and quiet.is_quiet((until - dt.timedelta(minutes=1)).astimezone(local.tzinfo)
                               .time().replace(tzinfo=None)):
        return Waiting("quiet_hours", until)
    return Waiting("scheduled", until)


@dataclass(frozen=True)
class WaitingMessage:
    id: int
    key: str
    channel: str
    created_at: dt.datetime
    name: str | None  # the recipient, if in the roster
    phone: str
    school: str | None
    waiting: Waiting


def waiting_messages(session: Session, scope: Scope, now: dt.datetime, quiet: QuietHours,
                     default_zone: str, campaign_id: int | None = None, limit: int = 50
                     ) -> tuple[int, list[WaitingMessage]]:
    """The messages in the scope not yet gone (how many, and the `limit` due soonest), each
    with why it waits."""
    query = (select(Outbox, Person.name, School.name, School.timezone).select_from(Outbox)
             .outerjoin(Person, Person.id == Outbox.person_id)
             .outerjoin(School, School.id == Person.school_id)
             .where(Outbox.status.in_(WAITING)))
    if campaign_id is not None:
        query = query.where(Outbox.project_id.in_(
            select(Project.id).where(Project.campaign_id == campaign_id)))
    if not scope.is_everything:
        query = query.where(Outbox.person_id.in_(people_in(scope)))
    total = session.scalar(select(func.count()).select_from(
        query.with_only_columns(Outbox.id).subquery())) or 0
    rows = session.execute(query.order_by(Outbox.next_attempt_at, Outbox.id).limit(limit))
    shown = []
    for row, name, school, timezone in rows:
        waiting = why_waiting(row, now, quiet, timezone or default_zone, default_zone)
        assert waiting is not None
        shown.append(WaitingMessage(row.id, row.key, row.channel, row.created_at, name,
                                    row.phone, school, waiting))
    return total, shown
