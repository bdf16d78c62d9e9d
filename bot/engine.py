"""The engine: load a person and their conversation, call the flow, apply its effects.

Everything for one inbound message happens in ONE transaction: the inbound row (unique on its
MessageSid), the conversation's new state and the outbound rows. A retried webhook therefore
changes nothing, and a crash half-way leaves nothing half-written. Nothing here calls Twilio;
the worker sends what the outbox holds.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Settings
from flows import effects as fx
from flows.events import Event, Media, Message
from flows.headmaster import State, step
from storage import conversations as store
from storage.db import Database
from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_STARTED,
    PROJECT_SUBMITTED,
    TASK_COMPLETED,
    Evidence,
    InboundMessage,
    Outbox,
    Person,
    Project,
    Task,
    TaskEvent,
)

log = logging.getLogger(__name__)

UNREGISTERED_REPLY_EVERY = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Inbound:
    """One message as it arrived, whatever the channel (Twilio WhatsApp, SMS, the simulator)."""

    sid: str
    phone: str
    channel: str
    body: str = ""
    button_payload: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)  # [{url, content_type, ...}]


@dataclass(frozen=True)
class Outcome:
    status: str  # processed | duplicate | unregistered
    inbound_id: int | None = None
    replies: int = 0


class Engine:
    def __init__(self, database: Database, settings: Settings | None = None):
        self.db = database
        self.settings = settings or Settings.from_env()

    # --- entry points -------------------------------------------------------------------------

    def receive(self, inbound: Inbound, now: dt.datetime | None = None) -> Outcome:
        """Store and handle one inbound message, exactly once per sid."""
        now = now or dt.datetime.now(dt.UTC)
        try:
            with self.db.transaction() as session:
                return self._receive(session, inbound, now)
        except IntegrityError:
            # Twilio retried, or two copies raced: the other copy did (or is doing) the work.
            with self.db.sessions() as session:
                existing = session.scalar(
                    select(InboundMessage.id).where(InboundMessage.sid == inbound.sid)
                )
            if existing is None:
                raise
            return Outcome("duplicate", existing)

    def trigger(self, person_id: int, event: Event, now: dt.datetime | None = None) -> int:
        """Start or push a conversation (an invitation, a task falling due). Returns replies."""
        now = now or dt.datetime.now(dt.UTC)
        with self.db.transaction() as session:
            person = session.get(Person, person_id)
            if person is None:
                return 0
            return self._run(session, person, event, now, inbound_id=None)

    # --- internals ----------------------------------------------------------------------------

    def _receive(self, session: Session, inbound: Inbound, now: dt.datetime) -> Outcome:
        if session.scalar(select(InboundMessage.id).where(InboundMessage.sid == inbound.sid)):
            return Outcome("duplicate")
        person = store.person_by_phone(session, inbound.phone)
        row = InboundMessage(
            sid=inbound.sid,
            phone=inbound.phone,
            person_id=person.id if person else None,
            channel=inbound.channel,
            body=inbound.body,
            button_payload=inbound.button_payload,
            media=inbound.media,
            received_at=now,
        )
        session.add(row)
        session.flush()  # the unique sid is checked here, before any other write
        if person is None:
            replied = self._reply_unregistered(session, inbound, row.id, now)
            return Outcome("unregistered", row.id, int(replied))
        person.last_inbound_at = now
        message = Message(
            text=inbound.body,
            inbound_id=row.id,
            button=inbound.button_payload,
            media=tuple(
                Media(i, m.get("content_type") or "application/octet-stream")
                for i, m in enumerate(inbound.media)
            ),
        )
        replies = self._run(session, person, message, now, inbound_id=row.id)
        return Outcome("processed", row.id, replies)

    def _reply_unregistered(
        self, session: Session, inbound: Inbound, inbound_id: int, now: dt.datetime
    ) -> bool:
        """One polite answer a day to a number not in the roster; the message is kept."""
        recent = session.scalar(
            select(Outbox.id).where(
                Outbox.phone == inbound.phone,
                Outbox.key == "unregistered",
                Outbox.created_at > now - UNREGISTERED_REPLY_EVERY,
            )
        )
        if recent:
            return False
        store.queue_message(
            session,
            phone=inbound.phone,
            channel="sms" if inbound.channel == "sms" else "whatsapp",
            key="unregistered",
            language=self.settings.default_language,
            in_reply_to=inbound_id,
        )
        return True

    def _run(
        self, session: Session, person: Person, event: Event, now: dt.datetime,
        inbound_id: int | None,
    ) -> int:
        conversation = store.lock_conversation(session, person.id)
        today = store.local_today(person, now, self.settings.timezone)
        snapshot = store.snapshot(session, person, today)
        state = State(conversation.state, dict(conversation.context or {}))
        result = step(snapshot, state, event, now)
        applier = _Applier(session, person, now, inbound_id, today)
        for effect in result.effects:
            applier.apply(effect)
        conversation.state = result.state.name
        conversation.context = store.jsonable(result.state.context)
        conversation.updated_at = now
        return applier.replies


class _Applier:
    """Turns a step's effects into rows, in the order the flow gave them."""

    def __init__(self, session: Session, person: Person, now: dt.datetime,
                 inbound_id: int | None, today: dt.date):
        self.session = session
        self.person = person
        self.now = now
        self.inbound_id = inbound_id
        self.today = today
        self.replies = 0

    def apply(self, effect: fx.Effect) -> None:
        handler = getattr(self, "_" + type(effect).__name__)
        handler(effect)

    def _Reply(self, e: fx.Reply) -> None:
        store.queue_message(
            self.session,
            person_id=self.person.id,
            phone=self.person.phone,
            channel=self.person.channel,
            key=e.key,
            params=e.params,
            options=e.options,
            in_reply_to=self.inbound_id,
            project_id=e.project_id,
            task_id=e.task_id,
        )
        self.replies += 1

    def _project(self, project_id: int) -> Project:
        project = self.session.get(Project, project_id)
        if project is None or project.headmaster_id != self.person.id:
            raise LookupError(f"project {project_id} is not this headmaster's")
        return project

    def _task(self, task_id: int) -> Task:
        task = self.session.get(Task, task_id)
        if task is None:
            raise LookupError(f"no task {task_id}")
        self._project(task.project_id)
        return task

    def _StartProject(self, e: fx.StartProject) -> None:
        project = self._project(e.project_id)
        project.status = PROJECT_STARTED
        project.started_at = self.now
        project.last_reply_at = self.now

    def _DeferInvitation(self, e: fx.DeferInvitation) -> None:
        project = self._project(e.project_id)
        project.deferred_at = self.now
        project.last_reply_at = self.now

    def _SetTaskStatus(self, e: fx.SetTaskStatus) -> None:
        task = self._task(e.task_id)
        task.status = e.status
        task.status_changed_at = self.now
        if e.status == TASK_COMPLETED:
            task.completed_at = self.now
        self.session.add(TaskEvent(task_id=task.id, at=self.now, status=e.status, note=e.note,
                                   inbound_id=self.inbound_id))
        project = self._project(task.project_id)
        if project.status == PROJECT_STARTED:
            project.status = PROJECT_IN_PROGRESS
        project.last_reply_at = self.now

    def _MarkPrompted(self, e: fx.MarkPrompted) -> None:
        self._task(e.task_id).prompted_at = self.now

    def _RequestHelp(self, e: fx.RequestHelp) -> None:
        task = self._task(e.task_id)
        task.help_requested_at = self.now
        text = e.text.strip()
        if text:
            task.remarks = f"{task.remarks}\n{text}" if task.remarks else text
        self.session.add(TaskEvent(task_id=task.id, at=self.now, status="help", note=text,
                                   inbound_id=self.inbound_id))
        self._project(task.project_id).last_reply_at = self.now

    def _AttachEvidence(self, e: fx.AttachEvidence) -> None:
        task = self._task(e.task_id)
        inbound = self.session.get(InboundMessage, e.inbound_id)
        item = (inbound.media[e.media_index] if inbound and e.media_index < len(inbound.media)
                else {})
        stored = bool(item.get("path"))  # the simulator stores uploads itself
        self.session.add(
            Evidence(
                task_id=task.id,
                inbound_id=inbound.id if inbound else None,
                kind=e.kind,
                source_url=item.get("url"),
                content_type=item.get("content_type"),
                size=item.get("size"),
                sha256=item.get("sha256"),
                path=item.get("path"),
                caption=e.caption,
                status="stored" if stored else "pending",
                created_at=self.now,
            )
        )
        self._project(task.project_id).last_reply_at = self.now

    def _AddTask(self, e: fx.AddTask) -> None:
        project = self._project(e.project_id)
        task = Task(
            project_id=project.id,
            position=store.next_task_position(self.session, project.id),
            origin="own",
            own_title=e.title,
            mandatory=False,  # the headmaster's own task never holds back the celebration
            evidence="none",
            due_on=self.today,
            status_changed_at=self.now,
        )
        self.session.add(task)
        self.session.flush()
        self.session.add(TaskEvent(task_id=task.id, at=self.now, status="added", note=e.title,
                                   inbound_id=self.inbound_id))

    def _CompleteProject(self, e: fx.CompleteProject) -> None:
        project = self._project(e.project_id)
        project.status = PROJECT_SUBMITTED
        project.completed_at = self.now

    def _SaveStory(self, e: fx.SaveStory) -> None:
        self._project(e.project_id).story = e.text

    def _OptOut(self, e: fx.OptOut) -> None:
        self.person.opted_out_at = self.now

    def _OptIn(self, e: fx.OptIn) -> None:
        self.person.opted_out_at = None
