"""Kadam's tables, as SQLAlchemy 2 typed models, one module per area: base (column types and
the declarative base), people (the roster), projects (templates, campaigns, projects, tasks,
evidence), messages (conversations, inbound messages, the outbox, broadcasts) and operations
(dashboard users, the clock's lease, the purge's log). Every name is importable from here.

Times are stored as UTC. Due times (a task's day, an outbox row's next attempt) are indexed
columns, because scheduling is a query over data, never a job per headmaster.
"""

from __future__ import annotations

from storage.models.base import Base, BigID, UTCDateTime, utcnow
from storage.models.messages import (
    OUTBOX_RANK,
    Broadcast,
    Conversation,
    InboundMessage,
    Outbox,
)
from storage.models.operations import AdminUser, ClockLease, LoginAttempt, PurgeRun
from storage.models.people import Person, School
from storage.models.projects import (
    EVIDENCE_PURGED,
    FILES_TO_REMOVE,
    PROJECT_ACTIVE,
    PROJECT_IN_PROGRESS,
    PROJECT_INVITED,
    PROJECT_LAPSED,
    PROJECT_STARTED,
    PROJECT_SUBMITTED,
    TASK_COMPLETED,
    TASK_IN_PROGRESS,
    TASK_NOT_STARTED,
    TASK_SKIPPED,
    Campaign,
    Evidence,
    Milestone,
    Project,
    Task,
    TaskEvent,
    Template,
    TemplateTask,
)

__all__ = [
    "EVIDENCE_PURGED", "FILES_TO_REMOVE", "OUTBOX_RANK", "PROJECT_ACTIVE", "PROJECT_IN_PROGRESS",
    "PROJECT_INVITED", "PROJECT_LAPSED", "PROJECT_STARTED", "PROJECT_SUBMITTED",
    "TASK_COMPLETED", "TASK_IN_PROGRESS", "TASK_NOT_STARTED", "TASK_SKIPPED",
    "AdminUser", "Base", "BigID", "Broadcast", "Campaign", "ClockLease", "Conversation",
    "Evidence", "InboundMessage", "LoginAttempt", "Milestone", "Outbox", "Person", "Project",
    "PurgeRun", "School", "Task", "TaskEvent", "Template", "TemplateTask", "UTCDateTime",
    "utcnow",
]

# The learning loop's tables live in storage/learning.py; imported here so that Base.metadata,
# and every schema check against it, always holds them (whichever module is imported first).
import storage.learning  # noqa: E402, F401
