"""Erasing a person on request (`kadam person erase PHONE`): their name, number, words and files,
everywhere Kadam keeps them, while the counts they are part of stay.

The person's row stays, anonymous: name ERASED_NAME, number `erased-<id>` (unique, and no
phone number), opted out so nothing is sent to it again. Their messages in and out stay as rows
with text, payloads, media URLs and number emptied; messages to others that carried their name
or words (a help alert to their officer, a reply an officer relayed, a celebration of their
story) lose their text too. Remarks, notes and stories on their projects go, their kept replies
are removed, and their evidence becomes "purged" (its files are deleted by
storage.retention.remove_files once this commits). Projects, tasks, statuses and dates stay,
so the dashboard and the exports count as before and show "erased" where the name was.

A number that is not in the roster can be erased too: its messages lose text and number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from storage.learning import UnreadReply
from storage.models import (
    EVIDENCE_PURGED,
    Broadcast,
    Conversation,
    Evidence,
    InboundMessage,
    Outbox,
    Person,
    Project,
    School,
    Task,
    TaskEvent,
)
from storage.retention import (
    OWN_NOTES,
    clear_inbound,
    clear_outbound,
    clear_words,
    purge_evidence,
)

ERASED_NAME = "erased"
ERASED_REASON = "erased at the person's request"
# Message parameters that name a person other than the recipient: a help alert names the
# headmaster, a relayed reply or a nudge names the officer.
NAMING_PARAMS = ("headmaster", "officer")


@dataclass(frozen=True)
class Footprint:
    """What Kadam holds about one number: who it is (if in the roster) and how much."""

    phone: str
    person_id: int | None
    name: str | None
    role: str | None
    school: str | None
    messages_in: int
    messages_out: int
    mentions: int  # others' messages with their name or words, or about their tasks
    evidence: int
    remarks: int  # task remarks and notes with their words
    stories: int
    replies: int  # replies kept by the learning loop

    @property
    def placeholder(self) -> str:
        """What stands for their number once erased: unique, and no number."""
        return f"erased-{self.person_id}" if self.person_id is not None else ""

    @property
    def is_empty(self) -> bool:
        return self.person_id is None and not (self.messages_in or self.messages_out)


class _Where:
    """The rows that hold one person's data, as conditions for counting and for clearing."""

    def __init__(self, session: Session, phone: str, person: Person | None):
        self.person = person
        pid = person.id if person else None
        self.inbound = or_(InboundMessage.phone == phone,
                           InboundMessage.person_id == pid if pid else false())
        self.outbound = or_(Outbox.phone == phone, Outbox.person_id == pid if pid else false())
        # Not theirs (NULL-safe: a message to a number not in the roster has no person).
        self.others = and_(Outbox.phone != phone, func.coalesce(Outbox.person_id, 0) != (pid or 0))
        self.projects = select(Project.id).where(Project.headmaster_id == pid if pid
                                                 else false())
        self.tasks = select(Task.id).where(Task.project_id.in_(self.projects))
        their_inbound = select(InboundMessage.id).where(self.inbound)
        named = [Outbox.params[key].as_string() == person.name for key in NAMING_PARAMS] \
            if person and person.name and person.name != ERASED_NAME else []
        self.mentions = or_(Outbox.project_id.in_(self.projects), *named)
        # Others' messages about their tasks: an officer's reply relayed to them.
        self.about = InboundMessage.id.in_(
            select(TaskEvent.inbound_id).where(TaskEvent.task_id.in_(self.tasks),
                                               TaskEvent.inbound_id.is_not(None)))
        self.evidence = or_(Evidence.task_id.in_(self.tasks),
                            Evidence.inbound_id.in_(their_inbound))
        self.notes = or_(TaskEvent.task_id.in_(self.tasks),
                         TaskEvent.inbound_id.in_(their_inbound))
        self.replies = UnreadReply.person_id == pid if pid else false()
        self.stories: list[str] = [story or "" for story in session.scalars(
            select(Project.story).where(Project.id.in_(self.projects),
                                        Project.story.is_not(None), Project.story != ""))]


def _count(session: Session, model: Any, where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(where)) or 0)


def footprint(session: Session, phone: str) -> Footprint:
    """What erasing `phone` would remove."""
    person = session.scalars(select(Person).where(Person.phone == phone)).first()
    where = _Where(session, phone, person)
    school = session.scalar(select(School.code + " " + School.name)
                            .where(School.id == person.school_id)) if person else None
    return Footprint(
        phone=phone, person_id=person.id if person else None,
        name=person.name if person else None, role=person.role if person else None,
        school=school,
        messages_in=_count(session, InboundMessage, where.inbound),
        messages_out=_count(session, Outbox, where.outbound),
        mentions=_count(session, Outbox, where.mentions & where.others)
        + _count(session, InboundMessage, where.about & ~where.inbound),
        evidence=_count(session, Evidence, where.evidence & Evidence.status.not_in(
            (EVIDENCE_PURGED,))),
        remarks=_count(session, Task, Task.id.in_(where.tasks) & Task.remarks.is_not(None))
        + _count(session, TaskEvent, where.notes & TaskEvent.note.is_not(None) & ~OWN_NOTES),
        stories=len(where.stories),
        replies=_count(session, UnreadReply, where.replies),
    )


def erase(session: Session, phone: str, now: dt.datetime) -> Footprint:
    """Erases everything `footprint(phone)` lists; returns that footprint, as it was."""
    found = footprint(session, phone)
    person = session.scalars(select(Person).where(Person.phone == phone)).first()
    where = _Where(session, phone, person)
    placeholder = found.placeholder
    # Their words and files first: these conditions find them through their messages.
    purge_evidence(session, where.evidence)
    clear_words(session, where.projects, where.tasks)
    session.execute(update(TaskEvent).where(where.notes, TaskEvent.note.is_not(None),
                                            ~OWN_NOTES)
                    .values(note=None).execution_options(synchronize_session=False))
    session.execute(delete(UnreadReply).where(where.replies)
                    .execution_options(synchronize_session=False))
    _uncelebrate(session, where.stories)
    clear_outbound(session, where.mentions)
    clear_inbound(session, where.about)
    # Nothing more goes to them: what is queued is recorded as not sent, and why.
    session.execute(update(Outbox).where(where.outbound, Outbox.status == "queued")
                    .values(status="not_sent", error_message=ERASED_REASON, status_at=now)
                    .execution_options(synchronize_session=False))
    # A provider's error text may quote the number.
    session.execute(update(Outbox).where(where.outbound, Outbox.error_message.is_not(None))
                    .values(error_message=func.replace(func.replace(
                        Outbox.error_message, phone, placeholder), phone.lstrip("+"),
                        placeholder))
                    .execution_options(synchronize_session=False))
    clear_outbound(session, where.outbound)
    session.execute(update(Outbox).where(where.outbound).values(phone=placeholder)
                    .execution_options(synchronize_session=False))
    clear_inbound(session, where.inbound, phone=placeholder)
    if person is not None:
        session.execute(delete(Conversation).where(Conversation.person_id == person.id))
        person.name = ERASED_NAME
        person.phone = placeholder
        person.opted_out_at = person.opted_out_at or now
        person.paused_until = None
        person.next_digest_at = None
        session.flush()
    return found


def _uncelebrate(session: Session, stories: list[str]) -> None:
    """Takes their stories out of celebrations (a handful of rows: read in Python), and the
    text out of the messages that carried them."""
    if not stories:
        return
    for broadcast in session.scalars(select(Broadcast).where(Broadcast.kind == "celebration")):
        told = list((broadcast.message or {}).get("stories") or [])
        kept = [entry for entry in told if entry.get("story") not in stories]
        if len(kept) != len(told):
            broadcast.message = {**broadcast.message, "stories": kept}
            clear_outbound(session, Outbox.broadcast_id == broadcast.id)
    session.flush()
