"""What a flow step receives: triggers start or push a conversation, resumes continue it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Invitation:
    """Trigger: a campaign invites this headmaster to a project (`again`: a reminder)."""

    project_id: int
    again: bool = False


@dataclass(frozen=True)
class TaskDue:
    """Trigger: a task's day has come, so the bot asks the headmaster about it."""

    project_id: int
    task_id: int


@dataclass(frozen=True)
class Reminder:
    """Trigger: a task the bot asked about has had no answer for a while."""

    project_id: int
    task_id: int


@dataclass(frozen=True)
class Lapse:
    """Trigger: a running project's core tasks are long overdue."""

    project_id: int


@dataclass(frozen=True)
class Media:
    """One attachment on an inbound message; `index` is its place in that message."""

    index: int
    content_type: str


@dataclass(frozen=True)
class Message:
    """Resume: the person wrote (text, a tapped button, and/or attachments)."""

    text: str = ""
    inbound_id: int | None = None
    button: str | None = None
    media: tuple[Media, ...] = field(default_factory=tuple)


Trigger = Invitation | TaskDue | Reminder | Lapse
Event = Invitation | TaskDue | Reminder | Lapse | Message
