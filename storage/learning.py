"""The learning loop's tables: replies Kadam did not understand or that were undone, the
phrases the state team taught, and the stamp that tells each process its copy is current.
(Beside storage/models/, which imports this module, to keep each file readable.)"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigID, utcnow

# The longest phrase taught, and the part of a kept reply it is grouped by (a whole WhatsApp
# message would not fit a PostgreSQL index entry).
NORMALISED_LENGTH = 255


class UnreadReply(Base):
    """A reply Kadam did not understand, or one its sender undid, kept with what was read so
    the state team can group them ("Replies not understood") and teach Kadam the phrase."""

    __tablename__ = "unread_reply"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    language: Mapped[str] = mapped_column(String(16))  # the sender's, when it was kept
    text: Mapped[str] = mapped_column(Text)  # as typed
    # flows.intents.normalise(text), cut to its length: replies typed differently group
    # together, and a long message still fits an index entry.
    normalised: Mapped[str] = mapped_column(String(NORMALISED_LENGTH))
    read: Mapped[str] = mapped_column(String(32))  # the intent Kadam read ("unknown", "done")
    reason: Mapped[str] = mapped_column(String(16))  # not_understood | undone
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    # The page groups by (language, normalised), newest group first, within a language or a
    # campaign: both filters lead an index that also holds the group and its times.
    __table_args__ = (
        Index("ix_unread_reply_group", "language", "normalised", "created_at"),
        Index("ix_unread_reply_campaign", "campaign_id", "language", "normalised",
              "created_at"),
    )


class TaughtPhrase(Base):
    """A phrase the state team taught Kadam: in this language, this reply means this intent.
    Read into the parser as flows.intents.TaughtPhrase (storage/phrases.py)."""

    __tablename__ = "taught_phrase"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    language: Mapped[str] = mapped_column(String(16))
    phrase: Mapped[str] = mapped_column(String(NORMALISED_LENGTH))  # as typed
    normalised: Mapped[str] = mapped_column(String(NORMALISED_LENGTH))
    intent: Mapped[str] = mapped_column(String(32))
    taught_by: Mapped[str] = mapped_column(String(255))  # the dashboard user's e-mail
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("language", "normalised"),)


class ChangeStamp(Base):
    """A random stamp written with every change to a small table that each process keeps in
    memory (the taught phrases): one primary-key read tells a process whether its copy is
    current. Random, not a counter, so that two databases never share a stamp."""

    __tablename__ = "change_stamp"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
