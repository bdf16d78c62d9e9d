"""The read-only picture of a person and their projects that a flow step works from.

The engine builds it from the database before each step; tests build it by hand.
Titles are `{language: text}` maps: the renderer picks the recipient's language at send time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from flows.intents import TaughtPhrase

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
SKIPPED = "skipped"
CLOSED = (COMPLETED, SKIPPED)

INVITED = "invited"
STARTED = "started"
SUBMITTED = "submitted"
LAPSED = "lapsed"
RUNNING = (STARTED, IN_PROGRESS)


@dataclass(frozen=True)
class TaskView:
    id: int
    position: int
    title: Mapping[str, str]
    status: str = NOT_STARTED
    mandatory: bool = True
    evidence: str = "none"  # none | photo
    evidence_count: int = 0
    due_on: dt.date | None = None
    origin: str = "template"
    description: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED


@dataclass(frozen=True)
class ProjectView:
    id: int
    title: Mapping[str, str]
    status: str = INVITED
    objective: Mapping[str, str] = field(default_factory=dict)
    duration_days: int = 28
    tasks: tuple[TaskView, ...] = ()

    def task(self, task_id: int) -> TaskView | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def task_at(self, position: int) -> TaskView | None:
        return next((t for t in self.tasks if t.position == position), None)

    @property
    def done_count(self) -> int:
        return sum(1 for t in self.tasks if t.status == COMPLETED)

    @property
    def mandatory_done(self) -> bool:
        return all(t.status == COMPLETED for t in self.tasks if t.mandatory)

    def next_task(self, today: dt.date, after: int = 0) -> TaskView | None:
        """The first open task whose day has come, looking first past `after` then from the top."""
        due = [t for t in self.tasks if t.is_open and (t.due_on is None or t.due_on <= today)]
        later = [t for t in due if t.position > after]
        candidates = later or due
        return candidates[0] if candidates else None

    def upcoming_task(self) -> TaskView | None:
        """The first open task, due or not."""
        return next((t for t in self.tasks if t.is_open), None)

    def with_task(self, task: TaskView) -> ProjectView:
        tasks = tuple(task if t.id == task.id else t for t in self.tasks)
        if all(t.id != task.id for t in self.tasks):
            tasks = (*self.tasks, task)
        return replace(self, tasks=tasks)


@dataclass(frozen=True)
class Snapshot:
    """Who is writing and the projects they may talk about (invited or running)."""

    person_id: int
    name: str
    language: str = "en"
    opted_out: bool = False
    today: dt.date = dt.date(2026, 1, 1)  # the school's local date, computed by the engine
    paused: bool = False
    projects: tuple[ProjectView, ...] = ()
    taught: tuple[TaughtPhrase, ...] = ()  # phrases the state team taught, for the parser
    now: dt.datetime | None = None  # the instant of this step (set by `step` from its `now`)

    def project(self, project_id: int | None) -> ProjectView | None:
        return next((p for p in self.projects if p.id == project_id), None)

    @property
    def running(self) -> tuple[ProjectView, ...]:
        return tuple(p for p in self.projects if p.status in RUNNING)

    @property
    def invited(self) -> tuple[ProjectView, ...]:
        return tuple(p for p in self.projects if p.status == INVITED)

    @property
    def lapsed(self) -> tuple[ProjectView, ...]:
        return tuple(p for p in self.projects if p.status == LAPSED)
