"""The roster: schools, and the people who work in them or look after them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, BigID, utcnow


class School(Base):
    __tablename__ = "school"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(128))
    district: Mapped[str] = mapped_column(String(128), default="")
    block: Mapped[str] = mapped_column(String(128), default="")
    cluster: Mapped[str] = mapped_column(String(128), default="")
    timezone: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_school_district_block", "district", "block"),
        # Areas are compared without regard to case or spaces (digests, dashboard scopes);
        # this lets those comparisons use an index instead of reading every school.
        Index("ix_school_area_key", text("lower(trim(district))"), text("lower(trim(block))")),
    )


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # headmaster | beo | state
    language: Mapped[str] = mapped_column(String(16), default="en")
    second_language: Mapped[str | None] = mapped_column(String(16))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    district: Mapped[str] = mapped_column(String(128), default="")
    block: Mapped[str] = mapped_column(String(128), default="")
    channel: Mapped[str] = mapped_column(String(16), default="whatsapp")  # whatsapp | sms
    # Every mobile takes SMS, so a WhatsApp user may get SMS when WhatsApp cannot carry a
    # message; the roster's channel "whatsapp-only" turns that off.
    sms_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_out_at: Mapped[dt.datetime | None]
    last_inbound_at: Mapped[dt.datetime | None]
    paused_until: Mapped[dt.datetime | None]  # "pause": no reminders until then
    # An officer's next weekly digest (a due time the clock polls; null for headmasters).
    next_digest_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    school: Mapped[School | None] = relationship()

    # Officers are a few hundred among a state's headmasters: the clock finds them by role
    # every minute (weekly digests), which must not read every person.
    __table_args__ = (Index("ix_person_role", "role"),)
