"""What the simulator (bot/web/simulator.py) shows: the people a trainer may speak as, and one
person's recent messages in and out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Evidence, InboundMessage, Outbox, Person, School


def people_with_schools(session: Session, limit: int) -> Sequence[Any]:
    """(person, their school's name or None), by role and name: the first `limit` of them."""
    return session.execute(
        select(Person, School.name).outerjoin(School, School.id == Person.school_id)
        .order_by(Person.role, Person.name).limit(limit)
    ).all()


def recent_messages(session: Session, phone: str, limit: int
                    ) -> tuple[Sequence[InboundMessage], Sequence[Outbox]]:
    """The newest `limit` messages from `phone`, and the newest `limit` to it, newest first."""
    inbound = session.scalars(
        select(InboundMessage).where(InboundMessage.phone == phone)
        .order_by(InboundMessage.id.desc()).limit(limit)
    ).all()
    outbound = session.scalars(
        select(Outbox).where(Outbox.phone == phone)
        .order_by(Outbox.id.desc()).limit(limit)
    ).all()
    return inbound, outbound


def school_timezone(session: Session, person: Person) -> str | None:
    """The time zone the person's school names, if it names one."""
    if person.school_id is None:
        return None
    return session.scalar(select(School.timezone).where(School.id == person.school_id))


def photos_by_message(session: Session, inbound_ids: Sequence[int]) -> dict[int, list[int]]:
    """The stored photos each of these inbound messages brought, by message: evidence ids in
    the order received (what the simulator shows as thumbnails)."""
    if not inbound_ids:
        return {}
    photos: dict[int, list[int]] = {}
    for inbound_id, evidence_id in session.execute(
            select(Evidence.inbound_id, Evidence.id)
            .where(Evidence.inbound_id.in_(inbound_ids), Evidence.status == "stored",
                   Evidence.kind == "photo")
            .order_by(Evidence.id)):
        photos.setdefault(inbound_id, []).append(evidence_id)
    return photos
