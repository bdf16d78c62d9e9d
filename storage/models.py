"""Kadam's tables, as SQLAlchemy 2 typed models.

Times are stored as UTC. Due times (a task's day, an outbox row's next attempt) are indexed
columns, because scheduling is a query over data, never a job per headmaster.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, hands back aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


# BIGINT on PostgreSQL (a state makes millions of outbox rows), INTEGER on SQLite so that the
# primary key stays the rowid alias and autoincrements.
BigID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


# Status words follow DIKSHA's improvement projects where they overlap.
PROJECT_INVITED = "invited"
PROJECT_STARTED = "started"
PROJECT_IN_PROGRESS = "in_progress"
PROJECT_SUBMITTED = "submitted"
PROJECT_LAPSED = "lapsed"
PROJECT_ACTIVE = (PROJECT_INVITED, PROJECT_STARTED, PROJECT_IN_PROGRESS)

TASK_NOT_STARTED = "not_started"
TASK_IN_PROGRESS = "in_progress"
TASK_COMPLETED = "completed"
TASK_SKIPPED = "skipped"


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


class Template(Base):
    """One version of a project template; running projects keep the version they started on."""

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    slug: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    duration_days: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, Any]]
    objective: Mapped[dict[str, Any]]
    document: Mapped[dict[str, Any]]  # the whole YAML as loaded, for audit and re-export
    digest: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    tasks: Mapped[list[TemplateTask]] = relationship(
        order_by="TemplateTask.position", back_populates="template"
    )

    __table_args__ = (UniqueConstraint("slug", "version"),)


class TemplateTask(Base):
    __tablename__ = "template_task"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    day: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, Any]]
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=True)
    evidence: Mapped[str] = mapped_column(String(16), default="none")  # none | photo
    resources: Mapped[list[Any]] = mapped_column(default=list)

    template: Mapped[Template] = relationship(back_populates="tasks")

    __table_args__ = (UniqueConstraint("template_id", "position"),)


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id"))
    name: Mapped[str] = mapped_column(String(255))
    audience: Mapped[list[Any]]
    start_date: Mapped[dt.date] = mapped_column(Date)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When the campaign had ended as of its last purge (storage/retention.py): its messages'
    # text and its photos are gone. A project picked up again since ends it later, and the
    # campaign is purged once more KADAM_RETENTION_DAYS after that.
    purged_through: Mapped[dt.datetime | None]

    template: Mapped[Template] = relationship()


class Project(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    headmaster_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PROJECT_INVITED)
    invited_at: Mapped[dt.datetime | None]
    deferred_at: Mapped[dt.datetime | None]  # "not now" to the invitation
    started_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    lapsed_at: Mapped[dt.datetime | None]
    # Due times the clock polls (null: nothing pending): when an unanswered invitation is sent
    # once more, and when a running project lapses if its core tasks are still open.
    invitation_reminder_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    lapse_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    invitation_resent_at: Mapped[dt.datetime | None]
    story: Mapped[str | None] = mapped_column(Text)
    share_story: Mapped[bool | None] = mapped_column(Boolean)  # the headmaster's consent
    story_picked_at: Mapped[dt.datetime | None]  # the state team chose it for a celebration
    last_reply_at: Mapped[dt.datetime | None]

    campaign: Mapped[Campaign] = relationship()
    school: Mapped[School] = relationship()
    headmaster: Mapped[Person] = relationship()
    tasks: Mapped[list[Task]] = relationship(order_by="Task.position", back_populates="project")

    # One project per school per campaign, enforced by the database so that two launches
    # racing each other still cannot double-invite a school.
    __table_args__ = (UniqueConstraint("campaign_id", "school_id"),)


class Task(Base):
    __tablename__ = "task"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    position: Mapped[int] = mapped_column(Integer)
    template_task_id: Mapped[int | None] = mapped_column(ForeignKey("template_task.id"))
    origin: Mapped[str] = mapped_column(String(16), default="template")  # template | own
    own_title: Mapped[str | None] = mapped_column(Text)  # a task the headmaster added
    mandatory: Mapped[bool] = mapped_column(Boolean, default=True)
    evidence: Mapped[str] = mapped_column(String(16), default="none")
    due_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default=TASK_NOT_STARTED)
    status_changed_at: Mapped[dt.datetime | None]
    # Due times the clock polls (null: nothing pending): when to ask about the task, and when
    # to nudge next. They are filled when the project starts and cleared once acted on, so the
    # clock's index scans only ever cover work that is really pending.
    prompt_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    next_reminder_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    prompted_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    help_requested_at: Mapped[dt.datetime | None]
    remarks: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship(back_populates="tasks")
    template_task: Mapped[TemplateTask | None] = relationship()

    __table_args__ = (UniqueConstraint("project_id", "position"),)


class TaskEvent(Base):
    """A task's history: every status change and remark, for the timeline and exports."""

    __tablename__ = "task_event"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))


# Evidence statuses: pending (not yet fetched), stored, rejected (not kept: too large, not
# fetched, not what it said it was), purged (its file and words removed; still counted).
EVIDENCE_PURGED = "purged"
FILES_TO_REMOVE = "path IS NOT NULL AND status IN ('purged', 'rejected')"


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    kind: Mapped[str] = mapped_column(String(16))  # photo | audio | video | document
    source_url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(Text)  # relative to MEDIA_DIR
    caption: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # see EVIDENCE_PURGED
    picked_at: Mapped[dt.datetime | None]  # the state team chose it for a celebration
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    task: Mapped[Task] = relationship()

    __table_args__ = (
        Index("ix_evidence_status", "status"),
        # The gallery: stored photos, newest first.
        Index("ix_evidence_gallery", text("created_at DESC"), text("id DESC"),
              postgresql_where=text("status = 'stored' AND kind = 'photo'"),
              sqlite_where=text("status = 'stored' AND kind = 'photo'")),
        # Files are named by their content, so one file may serve several rows: it is deleted
        # only when no kept row names it (storage/retention.py, remove_files).
        Index("ix_evidence_path", "path"),
        # Purged or rejected evidence whose file is still to be deleted: a handful of rows.
        Index("ix_evidence_files_to_remove", "id",
              postgresql_where=text(FILES_TO_REMOVE), sqlite_where=text(FILES_TO_REMOVE)),
    )


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


class ClockLease(Base):
    """Which clock process is active, for SQLite (PostgreSQL uses an advisory lock)."""

    __tablename__ = "clock_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime]


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


class Milestone(Base):
    """A block passing 50% or 100% completion of a campaign: celebrated once."""

    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    district: Mapped[str] = mapped_column(String(128))
    block: Mapped[str] = mapped_column(String(128))
    percent: Mapped[int] = mapped_column(Integer)
    reached_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("campaign_id", "district", "block", "percent"),)


class AdminUser(Base):
    """Someone who signs in to the dashboard: the state team, or a district or block office.

    `scope` names the district (role district) or block (role block; "DISTRICT/BLOCK" when a
    block name repeats across districts); the state role sees everything and has no scope.
    """

    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # state | district | block
    scope: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    # Signing out ends every session of the user begun before this (a copied cookie too).
    signed_out_at: Mapped[dt.datetime | None]
    # `kadam user disable`: no sign-in, and every session ends, until `kadam user enable`.
    disabled_at: Mapped[dt.datetime | None]


class LoginAttempt(Base):
    """Failed sign-ins, kept in the database so every web process sees the same count."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    remote_addr: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class PurgeRun(Base):
    """One run of the daily purge of personal data (storage/retention.py): when, up to which
    instants, and what it removed, for the data-protection officer. The newest row says where
    the next run starts."""

    __tablename__ = "purge_run"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    ran_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Messages of people in the roster older than this, and of numbers not in it older than
    # unknown_cutoff, have been looked at (those of a campaign still kept were left).
    cutoff: Mapped[dt.datetime]
    unknown_cutoff: Mapped[dt.datetime]
    campaigns: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)



# The learning loop's tables live in storage/learning.py; imported here so that Base.metadata,
# and every schema check against it, always holds them (whichever module is imported first).
import storage.learning  # noqa: E402, F401
