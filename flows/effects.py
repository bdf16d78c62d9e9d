"""What a flow step asks the engine to do. Typed records; the engine applies them in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """Send the person a catalog message. `options` are message keys shown as numbered choices
    (buttons on WhatsApp, "1 ... 2 ..." everywhere); the first option answers to "1"."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    project_id: int | None = None
    task_id: int | None = None


@dataclass(frozen=True)
class KeepUnread:
    """A reply Kadam did not understand, or one the person undid: kept, with what was read, so
    the state team can see it and teach Kadam the phrase. `reason`: "not_understood" | "undone".
    """

    text: str
    read: str
    reason: str
    project_id: int | None = None


@dataclass(frozen=True)
class StartProject:
    project_id: int


@dataclass(frozen=True)
class DeferInvitation:
    """The headmaster said "not now" to an invitation."""

    project_id: int


@dataclass(frozen=True)
class SetTaskStatus:
    task_id: int
    status: str
    note: str | None = None


@dataclass(frozen=True)
class MarkPrompted:
    """The bot has asked about this task (so a late "done" and reminders know where we are)."""

    task_id: int


@dataclass(frozen=True)
class RequestHelp:
    task_id: int
    text: str


@dataclass(frozen=True)
class AttachEvidence:
    """Keep attachment `media_index` of inbound message `inbound_id` as evidence on a task."""

    task_id: int
    inbound_id: int
    media_index: int
    kind: str
    caption: str | None = None


@dataclass(frozen=True)
class AddTask:
    """The headmaster adds a task of their own to a project."""

    project_id: int
    title: str


@dataclass(frozen=True)
class CompleteProject:
    project_id: int


@dataclass(frozen=True)
class SaveStory:
    """The one line on what changed in the school, kept as the project's story."""

    project_id: int
    text: str


@dataclass(frozen=True)
class InvitationSent:
    """The invitation went out (again: the one reminder for an unanswered invitation)."""

    project_id: int
    again: bool = False


@dataclass(frozen=True)
class MarkReminded:
    task_id: int


@dataclass(frozen=True)
class PostponeTask:
    """ "later" / "tomorrow": ask about the task again after `days`."""

    task_id: int
    days: int = 1


@dataclass(frozen=True)
class Pause:
    """No reminders for `days`; anything the headmaster sends resumes them."""

    days: int = 7


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class LapseProject:
    project_id: int


@dataclass(frozen=True)
class ReopenProject:
    project_id: int


@dataclass(frozen=True)
class UndoStatus:
    """The headmaster undid their last change ("0", "galat"): the task goes back to `status`,
    a help request is withdrawn, and a project that change completed runs again."""

    task_id: int
    status: str
    withdraw_help: bool = False
    reopen_project: bool = False


@dataclass(frozen=True)
class Nudge:
    """An officer's one-reply nudge to the headmasters of these (silent) projects."""

    project_ids: tuple[int, ...]


@dataclass(frozen=True)
class Relay:
    """An officer's answer to a help request, back to the headmaster, kept on the task."""

    task_id: int
    headmaster_id: int
    text: str


@dataclass(frozen=True)
class DigestSent:
    """The weekly digest went out; the next one is due a week on."""


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class ShareStory:
    """Whether the headmaster agrees that their story, with the school's name, is shared."""

    project_id: int
    agreed: bool


@dataclass(frozen=True)
class OptOut:
    pass


@dataclass(frozen=True)
class OptIn:
    pass


Effect = (
    Reply
    | StartProject
    | DeferInvitation
    | SetTaskStatus
    | MarkPrompted
    | RequestHelp
    | AttachEvidence
    | AddTask
    | CompleteProject
    | SaveStory
    | InvitationSent
    | MarkReminded
    | PostponeTask
    | Pause
    | Resume
    | LapseProject
    | ReopenProject
    | UndoStatus
    | SetLanguage
    | Nudge
    | Relay
    | DigestSent
    | ShareStory
    | OptOut
    | OptIn
    | KeepUnread
)
