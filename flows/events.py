"""What a flow step receives: triggers start or push a conversation, notices tell a person
what others did, and a message (the one resume) continues it.

Every event any flow takes is here, and every flow's `step` takes any `Event`: each flow names
the events it acts on and the ones it leaves alone, so a new event fails type checking until
every flow has said which it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# --- a headmaster's triggers ------------------------------------------------------------------


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


# --- an officer's triggers -------------------------------------------------------------------


@dataclass(frozen=True)
class DigestDue:
    """Trigger: the officer's weekly digest is due; `digest` is what storage computed."""

    digest: dict[str, Any]


@dataclass(frozen=True)
class HelpAlert:
    """Trigger: a headmaster in the officer's area asked for help on a task."""

    task_id: int
    headmaster_id: int
    school: str
    headmaster: str
    task: dict[str, str]
    text: str


# --- notices: what others did, told to a headmaster --------------------------------------------
# A notice never changes the conversation's state, and needs only the person (name, language,
# opted out): the engine loads no projects for one.


@dataclass(frozen=True)
class Nudged:
    """Notice: an officer nudged this headmaster about a (silent) project."""

    project_id: int
    officer: str  # the officer's name


@dataclass(frozen=True)
class HelpAnswered:
    """Notice: an officer answered the headmaster's request for help on a task."""

    task_id: int
    project_id: int
    position: int
    officer: str  # the officer's name
    text: str


@dataclass(frozen=True)
class BlockCelebrated:
    """Notice: the headmaster's block passed a milestone (50%, 100%) of a campaign."""

    percent: int
    block: str
    title: dict[str, str]  # the campaign's template title, by language


EvidenceRefusal = Literal["not_accepted", "fetch_failed", "too_large"]


@dataclass(frozen=True)
class EvidenceRefused:
    """Notice: a file sent as evidence was not kept: not an accepted type once its bytes were
    seen (`not_accepted`), it could not be fetched (`fetch_failed`), or it was larger than
    `limit_mb` megabytes (`too_large`)."""

    project_id: int
    task_id: int
    position: int
    reason: EvidenceRefusal
    limit_mb: int | float = 0  # 16, or 1.5: as the headmaster reads it


# --- the resume ---------------------------------------------------------------------------------


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


HeadmasterTrigger = Invitation | TaskDue | Reminder | Lapse
OfficerTrigger = DigestDue | HelpAlert
Notice = Nudged | HelpAnswered | BlockCelebrated | EvidenceRefused
Trigger = HeadmasterTrigger | OfficerTrigger | Notice
"""What the clock, the dashboard and the engine start or push a conversation with."""

Event = HeadmasterTrigger | OfficerTrigger | Notice | Message
"""Everything a flow step takes."""
