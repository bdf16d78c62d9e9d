"""Conversations and messages: where each person's conversation stands, what came in, what
goes out (the outbox), and the broadcasts that send one text to many."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigID, utcnow


class Conversation(Base):
    """Where a person's conversation stands: a state name and a small JSON context."""

    __tablename__ = "conversation"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default="idle")
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboundMessage(Base):
    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    # Twilio retries a webhook it did not see answered; the unique sid makes the retry a no-op.
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # whatsapp | sms | simulator
    body: Mapped[str] = mapped_column(Text, default="")
    button_payload: Mapped[str | None] = mapped_column(String(255))
    media: Mapped[list[Any]] = mapped_column(default=list)  # [{url, content_type}]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Recorded by the webhook and not yet answered (KADAM_INBOUND=queue); inline, the flow
    # answers in the webhook's own transaction and this stays false.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        Index("ix_inbound_pending", "id", postgresql_where=text("pending"),
              sqlite_where=text("pending")),
        # The daily purge reads messages by age (storage/retention.py).
        Index("ix_inbound_received_at", "received_at"),
    )


# Outbox status ranks: a delivery callback may only move a message up this ladder.
OUTBOX_RANK = {
    "queued": 0,
    "sending": 1,
    "accepted": 1,
    "scheduled": 1,
    "sent": 2,
    "failed": 3,
    "undelivered": 3,
    "not_sent": 3,
    "delivered": 4,
    "read": 5,
}


class Outbox(Base):
    """A message to send: a catalog key and its parameters, rendered when the worker sends it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))  # whatsapp | sms
    language: Mapped[str | None] = mapped_column(String(16))  # set for people not in the roster
    key: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[list[Any]] = mapped_column(default=list)  # option keys, numbered from 1
    status: Mapped[str] = mapped_column(String(16), default="queued")
    form: Mapped[str | None] = mapped_column(String(16))  # console | session | template | sms
    body: Mapped[str | None] = mapped_column(Text)
    # What an SMS cost: GSM-7 or UCS-2, and its segment count (set when sent as SMS).
    sms_encoding: Mapped[str | None] = mapped_column(String(8))
    sms_segments: Mapped[int | None] = mapped_column(Integer)
    media_url: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    # A copy queued after WhatsApp refused the original (error 63016): template or SMS only.
    fallback_of: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), unique=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcast.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    status_at: Mapped[dt.datetime | None]
    # While an attempt's outcome is unknown (claimed and not recorded, or timed out after the
    # provider may have accepted it): since when. The next attempt asks the provider first.
    unsure_since: Mapped[dt.datetime | None]
    first_attempt_at: Mapped[dt.datetime | None]  # KADAM_RETRY_HOURS count from here

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The dashboard's delivery health counts a period's messages, and its failures.
        Index("ix_outbox_created_at", "created_at",
              postgresql_include=["status", "error_code", "person_id", "project_id"]),
        Index("ix_outbox_failed", "created_at",
              postgresql_include=["person_id", "error_code", "project_id"],
              postgresql_where=text("status IN ('failed', 'undelivered')"),
              sqlite_where=text("status IN ('failed', 'undelivered')")),
        # Replies to what a headmaster just said go before bulk sends (storage.outbox.claim).
        Index("ix_outbox_replies_due", "status", "next_attempt_at",
              postgresql_where=text("status = 'queued' AND in_reply_to IS NOT NULL"),
              sqlite_where=text("status = 'queued' AND in_reply_to IS NOT NULL")),
    )


class Broadcast(Base):
    """A circular or a celebration sent to an audience, text per language."""

    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="circular")  # circular | celebration
    message: Mapped[dict[str, Any]]  # {language: text}
    media_url: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[list[Any]]
    role: Mapped[str] = mapped_column(String(16), default="headmaster")
    send_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
