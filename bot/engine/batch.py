"""Clock triggers for thousands of people at once: the same flow step, written in bulk.

The flow still decides every message (flows/headmaster.py); this module only changes how the
outcome reaches the database. A batch is read in a few queries (people, conversations,
projects, pace), each person's step runs in memory, and the effects the clock's triggers
produce (a message, a prompt, a reminder, an invitation reminder, a lapse) are written with
one statement each, with the column values of the same rules the row-by-row applier uses
(bot/engine/rules.py). A step that asks for anything else is applied row by row, as for an
inbound message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, assert_never, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.engine import rules
from flows import effects as fx
from flows.events import Event
from flows.registry import HEADMASTER
from flows.state import State, Step
from storage import bulk
from storage import conversations as store
from storage.db import among
from storage.models import (
    Campaign,
    Outbox,
    Person,
    Project,
    School,
    Task,
)
from storage.schedule import Pace, QuietHours, local_date

# The effects the clock's triggers produce, written here in bulk; a step with any other effect
# takes the row-by-row path (the slow path), as an inbound message does.
BulkEffect = fx.Reply | fx.MarkPrompted | fx.MarkReminded | fx.InvitationSent | fx.LapseProject
BULK_EFFECTS = (fx.Reply, fx.MarkPrompted, fx.MarkReminded, fx.InvitationSent, fx.LapseProject)
SlowPath = Callable[[Session, int, Event, Step], None]


class BatchTrigger:
    """One batch of clock triggers, each person at most once, inside one transaction."""

    def __init__(self, session: Session, now: dt.datetime, default_timezone: str,
                 quiet: QuietHours):
        self.session = session
        self.now = now
        self.default_timezone = default_timezone
        self.quiet = quiet
        self.outbox: list[rules.Values] = []
        self.conversations: list[tuple[int, rules.Values]] = []
        self.prompted: dict[int, rules.Values] = {}  # task id -> its columns
        self.prompted_projects: set[int] = set()
        self.reminded: dict[int, rules.Values] = {}
        self.invitations: dict[int, rules.Change] = {}  # project id -> its change
        self.lapsed: set[int] = set()

    def run(self, chunk: list[tuple[int, Event]], slow_path: SlowPath) -> int:
        ids = sorted({person_id for person_id, _ in chunk})
        people = {row.id: row for row in self.session.execute(
            select(Person.id, Person.phone, Person.name, Person.language, Person.channel,
                   Person.opted_out_at, Person.paused_until, School.timezone)
            .outerjoin(School, School.id == Person.school_id)
            .where(among(self.session, Person.id, ids))
        )}
        states = {i: State(name, context) for i, (name, context)
                  in store.lock_conversations(self.session, ids, self.now).items()}
        today = {i: local_date(self.now, self._zone(p.timezone)) for i, p in people.items()}
        snapshots = store.snapshots(self.session, list(people.values()), today, self.now)
        project_ids = [p.id for s in snapshots.values() for p in s.projects]
        self.task_projects = {t.id: p.id for s in snapshots.values() for p in s.projects
                              for t in p.tasks}
        self.paces = self._paces(project_ids)
        self.reminders_sent = self._reminders_sent(chunk)
        for person_id, event in chunk:
            person = people.get(person_id)
            if person is None:
                continue
            result = HEADMASTER.step(snapshots[person_id], states[person_id], event, self.now)
            if all(isinstance(e, BULK_EFFECTS) for e in result.effects):
                for effect in result.effects:
                    self._collect(person, cast(BulkEffect, effect))
                self.conversations.append((person_id, rules.conversation(
                    result.state.name, result.state.context, self.now)))
            else:
                slow_path(self.session, person_id, event, result)
        self._write()
        return len(self.outbox)

    # --- reading ------------------------------------------------------------------------------

    def _zone(self, timezone: str | None) -> str:
        return timezone or self.default_timezone

    def _paces(self, project_ids: list[int]) -> dict[int, tuple[Pace, str]]:
        rows = self.session.execute(
            select(Project.id, Project.campaign_id, School.timezone)
            .join(School, School.id == Project.school_id)
            .where(among(self.session, Project.id, project_ids))
        ).all()
        paces = {c.id: Pace.from_settings(c.settings) for c in self.session.execute(
            select(Campaign.id, Campaign.settings)
            .where(Campaign.id.in_({r.campaign_id for r in rows}))
        )}
        return {r.id: (paces[r.campaign_id], self._zone(r.timezone)) for r in rows}

    def _reminders_sent(self, chunk: list[tuple[int, Event]]) -> dict[int, int]:
        task_ids = [e.task_id for _, e in chunk if hasattr(e, "task_id")]
        if not task_ids:
            return {}
        return dict(self.session.execute(  # type: ignore[arg-type]
            select(Task.id, Task.reminders_sent).where(among(self.session, Task.id, task_ids))
        ).all())

    # --- collecting ---------------------------------------------------------------------------

    def _collect(self, person: Any, effect: BulkEffect) -> None:
        """The effect's columns, by the same rules the row-by-row applier uses."""
        match effect:
            case fx.Reply():
                zone = self._zone(person.timezone)
                self.outbox.append(rules.outbox_row(
                    person, effect, self.now,
                    rules.next_attempt(self.now, self.quiet, zone, direct=False), None))
            case fx.MarkPrompted():
                project_id = self._project_of(effect.task_id)
                pace, zone = self.paces[project_id]
                self.prompted_projects.add(project_id)
                self.prompted[effect.task_id] = rules.prompted(self.now, pace, zone)
            case fx.MarkReminded():
                pace, zone = self.paces[self._project_of(effect.task_id)]
                self.reminded[effect.task_id] = rules.reminded(
                    self.now, pace, zone, self.reminders_sent.get(effect.task_id, 0))
            case fx.InvitationSent():
                self.invitations[effect.project_id] = rules.invitation_sent(effect, self.now)
            case fx.LapseProject():
                self.lapsed.add(effect.project_id)
            case _:
                assert_never(effect)

    def _project_of(self, task_id: int) -> int:
        return self.task_projects[task_id]

    # --- writing ------------------------------------------------------------------------------

    def _write(self) -> None:
        s, now = self.session, self.now
        bulk.insert_rows(s, Outbox.__table__, self.outbox)
        if self.prompted_projects:
            s.execute(update(Task).where(among(s, Task.project_id, self.prompted_projects),
                                         Task.next_reminder_at.is_not(None))
                      .values(rules.PROMPT_ENDS_OTHER_REMINDERS)
                      .execution_options(synchronize_session=False))
        _update_each(s, Task.__table__, self.prompted)
        _update_each(s, Task.__table__, self.reminded)
        for again in (False, True):
            changes = {i: c for i, c in self.invitations.items() if (c.always != {}) == again}
            if not changes:
                continue
            change = next(iter(changes.values()))  # the same for every project: by `again`
            ids = list(changes)
            if change.always:
                s.execute(update(Project).where(Project.id.in_(ids)).values(change.always)
                          .execution_options(synchronize_session=False))
            for column, value in change.if_unset.items():
                s.execute(update(Project).where(Project.id.in_(ids),
                                                Project.__table__.c[column].is_(None))
                          .values({column: value}).execution_options(synchronize_session=False))
        if self.lapsed:
            s.execute(update(Project).where(Project.id.in_(self.lapsed))
                      .values(rules.lapsed_project(now))
                      .execution_options(synchronize_session=False))
            s.execute(update(Task).where(Task.project_id.in_(self.lapsed))
                      .values(rules.NOTHING_DUE).execution_options(synchronize_session=False))
        store.save_conversations(s, self.conversations)


def _update_each(session: Session, table: Any, rows: dict[int, rules.Values]) -> None:
    """Rows by id, each with its own values (all with the same columns), in one statement."""
    if not rows:
        return
    columns = list(next(iter(rows.values())))
    bulk.update_rows(session, table, "id", ["id", *columns],
                     [(i, *(values[c] for c in columns)) for i, values in rows.items()],
                     {c: c for c in columns}, {})
