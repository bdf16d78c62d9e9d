"""Templates, campaigns and the projects they give each school: tasks, their history and
the evidence headmasters send, and the milestones a block celebrates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, BigID, utcnow
from storage.models.people import Person, School

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
