"""Circulars and celebrations to an audience: queued set-based, reported by delivery status.

A broadcast is one row with its text per language; each recipient gets one outbox row that
points at it (so a million recipients do not copy the text a million times). People who opted
out get a row too, recorded as not sent, so the report always adds up to the audience.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from storage.campaigns import AudienceSpec, parse_audience
from storage.db import Database
from storage.delivery import retry_reason
from storage.models import (
    Broadcast,
    Outbox,
    Person,
    School,
    UTCDateTime,
)

ROLES = ("headmaster", "beo", "all")
OPTED_OUT = "opted out"


class BroadcastError(ValueError):
    pass


@dataclass
class BroadcastReport:
    broadcast_id: int
    audience: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    failed_by_code: Counter[str] = field(default_factory=Counter)
    # Messages not sent yet because the provider turned the last attempt away for passing
    # reasons ("provider busy"): tried again, at most 15 minutes apart, until
    # KADAM_RETRY_HOURS.
    retrying_by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def opted_out(self) -> int:
        return self.by_status["opted_out"]


def audience_condition(specs: Sequence[AudienceSpec], role: str) -> Any:
    """People in the audience: headmasters of matching schools, officers of their areas."""
    matches = or_(*(spec.matches() for spec in specs))
    headmasters = (Person.role == "headmaster") & exists().where(
        School.id == Person.school_id, matches)
    same_district = func.lower(func.trim(School.district)) == func.lower(
        func.trim(Person.district))
    same_block = func.lower(func.trim(School.block)) == func.lower(func.trim(Person.block))
    officers = (((Person.role == "beo") & exists().where(same_district, same_block, matches))
                | ((Person.role == "deo") & exists().where(same_district, matches)))
    who = {"headmaster": headmasters, "beo": officers, "all": headmasters | officers}[role]
    return who


def unmatched(session: Session, specs: Sequence[AudienceSpec]) -> list[str]:
    """Specs that name no school in the roster (a typo, most likely)."""
    return [str(spec) for spec in specs if spec.kind != "all"
            and session.scalar(select(School.id).where(spec.matches()).limit(1)) is None]


def audience_by_language(session: Session, specs: Sequence[AudienceSpec], role: str
                         ) -> list[tuple[str, int, int]]:
    """Who a broadcast would reach, counted without writing: (language, people, how many of
    them opted out), the biggest language first."""
    rows = session.execute(
        select(Person.language, func.count(), func.count(Person.opted_out_at))
        .where(audience_condition(specs, role))
        .group_by(Person.language).order_by(func.count().desc(), Person.language)
    ).all()
    return [(language, int(count), int(opted_out)) for language, count, opted_out in rows]


def create(database: Database, message: dict[str, Any], audience: Sequence[str],
           role: str = "headmaster", media_url: str | None = None,
           send_at: dt.datetime | None = None, kind: str = "circular",
           key: str = "broadcast", now: dt.datetime | None = None) -> BroadcastReport:
    """Queues `message` ({language: text}, or {"stories": [...]} for a celebration) for
    everyone in the audience, in one transaction."""
    if role not in ROLES:
        raise BroadcastError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not message:
        raise BroadcastError("the message is empty")
    specs = [parse_audience(spec) for spec in audience]
    now = now or dt.datetime.now(dt.UTC)
    send_at = send_at or now
    with database.transaction() as session:
        broadcast = Broadcast(kind=kind, message=message, media_url=media_url,
                              audience=[str(s) for s in specs], role=role, send_at=send_at,
                              created_at=now)
        session.add(broadcast)
        session.flush()
        opted_out = Person.opted_out_at.is_not(None)
        rows = select(
            Person.id, Person.phone, Person.channel, literal(key), literal({}, Outbox.params.type),
            literal([], Outbox.options.type),
            case((opted_out, "not_sent"), else_="queued"),
            case((opted_out, OPTED_OUT), else_=None),
            literal(0), literal(send_at, UTCDateTime()), literal(now, UTCDateTime()),
            literal(broadcast.id), literal(media_url),
        ).where(audience_condition(specs, role)).order_by(Person.id)
        columns = ["person_id", "phone", "channel", "key", "params", "options", "status",
                   "error_message", "attempts", "next_attempt_at", "created_at",
                   "broadcast_id", "media_url"]
        session.execute(insert(Outbox).from_select(columns, rows))
        queued = report(session, broadcast.id)
    database.analyze("outbox")  # a worker claims the new rows next
    return queued


def report(session: Session, broadcast_id: int) -> BroadcastReport:
    """Where every message of a broadcast stands; the numbers add up to the audience."""
    if session.get(Broadcast, broadcast_id) is None:
        raise BroadcastError(f"no broadcast with id {broadcast_id}")
    result = BroadcastReport(broadcast_id)
    tried = (Outbox.attempts > 0).label("tried")
    for status, code, note, was_tried, count in session.execute(
        select(Outbox.status, Outbox.error_code, Outbox.error_message, tried, func.count())
        .where(Outbox.broadcast_id == broadcast_id, Outbox.fallback_of.is_(None))
        .group_by(Outbox.status, Outbox.error_code, Outbox.error_message, tried)
    ):
        name = {"sending": "queued", "accepted": "sent", "scheduled": "queued"}.get(status,
                                                                                    status)
        if status == "not_sent" and note == OPTED_OUT:
            name = "opted_out"
        if name == "queued" and was_tried and (code or note):
            name = "retrying"  # tried, turned away for passing reasons, due again
            result.retrying_by_reason[retry_reason(code, note)] += count
        result.by_status[name] += count
        if name in ("failed", "undelivered", "not_sent"):
            result.failed_by_code[str(code or note or "unknown")] += count
        result.audience += count
    return result


def find(session: Session, broadcast_id: int) -> Broadcast | None:
    """The broadcast, if there is one by that id (read once per session: the identity map
    keeps it, so a batch of its messages reads it once)."""
    return session.get(Broadcast, broadcast_id)


def newest(session: Session, page: int, per_page: int) -> list[Broadcast]:
    """Page `page` (from 1) of the broadcasts, newest first, with one more row than
    `per_page` when a next page follows."""
    return list(session.scalars(
        select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)
    ))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Broadcast)) or 0
