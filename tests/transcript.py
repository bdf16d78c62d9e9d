"""A transcript driver for flows: say something, see what the bot answers and records.

`World` holds projects in memory and applies effects the way the engine would, so a whole
project can be played through with no database. The conversation state goes through JSON
between every turn, as it does through the database in production.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from flows import effects as fx
from flows.events import Event, Invitation, Lapse, Media, Message, Notice, Reminder, TaskDue
from flows.headmaster import State, step
from flows.intents import TaughtPhrase
from flows.views import ProjectView, Snapshot, TaskView

NOW = dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 7, 1)


def project(pid: int = 1, n: int = 3, *, status: str = "invited", title: str = "Retell the Tale",
            photo_at: tuple[int, ...] = (), optional_at: tuple[int, ...] = (),
            due_every: int = 0) -> ProjectView:
    tasks = tuple(
        TaskView(
            id=pid * 100 + i,
            position=i,
            title={"en": f"Task {i} of {title}", "hi": f"{title} का काम {i}"},
            mandatory=i not in optional_at,
            evidence="photo" if i in photo_at else "none",
            due_on=TODAY + dt.timedelta(days=due_every * (i - 1)),
        )
        for i in range(1, n + 1)
    )
    return ProjectView(id=pid, title={"en": title, "hi": title}, status=status,
                       objective={"en": "Every child retells a story."}, tasks=tasks)


@dataclass
class World:
    projects: list[ProjectView]
    name: str = "Sunita"
    opted_out: bool = False
    paused: bool = False
    language: str = "en"
    today: dt.date = TODAY
    state_json: str = field(default_factory=lambda: State().to_json())
    sent: list[fx.Reply] = field(default_factory=list)
    recorded: list[fx.Effect] = field(default_factory=list)
    inbound: int = 0
    stories: dict[int, str] = field(default_factory=dict)
    shared: dict[int, bool] = field(default_factory=dict)
    now: dt.datetime = NOW
    taught: tuple[TaughtPhrase, ...] = ()

    # --- driving ------------------------------------------------------------------------------

    def say(self, text: str = "", media: tuple[str, ...] = (), button: str | None = None
            ) -> list[str]:
        """The headmaster sends a message; returns the keys of the bot's replies."""
        self.inbound += 1
        event = Message(text, self.inbound, button,
                        tuple(Media(i, ct) for i, ct in enumerate(media)))
        return self._turn(event)

    def invite(self, project_id: int = 1) -> list[str]:
        return self._turn(Invitation(project_id))

    def due(self, project_id: int, task_id: int) -> list[str]:
        return self._turn(TaskDue(project_id, task_id))

    def remind(self, project_id: int, task_id: int) -> list[str]:
        return self._turn(Reminder(project_id, task_id))

    def lapse(self, project_id: int) -> list[str]:
        return self._turn(Lapse(project_id))

    def notice(self, notice: Notice) -> list[str]:
        """Something others did reaches the headmaster (a nudge, an officer's answer, ...)."""
        return self._turn(notice)

    def _turn(self, event: Event) -> list[str]:
        snap = Snapshot(person_id=1, name=self.name, language=self.language,
                        opted_out=self.opted_out, today=self.today, paused=self.paused,
                        projects=tuple(self.projects), taught=self.taught)
        result = step(snap, State.from_json(self.state_json), event, self.now)
        self.state_json = result.state.to_json()  # persistence is exercised on every turn
        replies = []
        for effect in result.effects:
            self._apply(effect)
            if isinstance(effect, fx.Reply):
                replies.append(effect.key)
        return replies

    # --- looking ------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return State.from_json(self.state_json)

    def task(self, project_id: int, position: int) -> TaskView:
        found = next(p for p in self.projects if p.id == project_id).task_at(position)
        assert found is not None
        return found

    def project(self, project_id: int) -> ProjectView:
        return next(p for p in self.projects if p.id == project_id)

    def last(self) -> fx.Reply:
        return self.sent[-1]

    def effects(self, kind: type) -> list[Any]:
        return [e for e in self.recorded if isinstance(e, kind)]

    # --- applying effects as the engine would -------------------------------------------------

    def _apply(self, effect: fx.Effect) -> None:
        self.recorded.append(effect)
        match effect:
            case fx.Reply():
                self.sent.append(effect)
            case fx.StartProject(project_id=pid):
                self._update(pid, status="started")
            case fx.SetTaskStatus(task_id=tid, status=status):
                self._update_task(tid, status=status)
            case fx.AttachEvidence(task_id=tid):
                task = self._find_task(tid)
                self._update_task(tid, evidence_count=task.evidence_count + 1)
            case fx.AddTask(project_id=pid, title=title):
                p = self.project(pid)
                position = len(p.tasks) + 1
                new = TaskView(pid * 100 + position, position, {"*": title}, mandatory=False,
                               due_on=self.today, origin="own")
                self._replace(p.with_task(new))
            case fx.CompleteProject(project_id=pid):
                self._update(pid, status="submitted")
            case fx.SaveStory(project_id=pid, text=text):
                self.stories[pid] = text
            case fx.ShareStory(project_id=pid, agreed=agreed):
                self.shared[pid] = agreed
            case fx.LapseProject(project_id=pid):
                self._update(pid, status="lapsed")
            case fx.ReopenProject(project_id=pid):
                self._update(pid, status="in_progress")
            case fx.UndoStatus(task_id=tid, status=status, reopen_project=reopen):
                self._update_task(tid, status=status)
                owner = next(p for p in self.projects if p.task(tid) is not None)
                if reopen and owner.status == "submitted":
                    self._update(owner.id, status="in_progress")
            case fx.Pause():
                self.paused = True
            case fx.Resume():
                self.paused = False
            case fx.SetLanguage(language=language):
                self.language = language
            case fx.OptOut():
                self.opted_out = True
            case fx.OptIn():
                self.opted_out = False

    def _find_task(self, task_id: int) -> TaskView:
        for p in self.projects:
            if (t := p.task(task_id)) is not None:
                return t
        raise LookupError(task_id)

    def _update(self, project_id: int, **changes: Any) -> None:
        self._replace(replace(self.project(project_id), **changes))

    def _update_task(self, task_id: int, **changes: Any) -> None:
        for p in self.projects:
            if (t := p.task(task_id)) is not None:
                updated = p.with_task(replace(t, **changes))
                if p.status == "started" and "status" in changes:
                    updated = replace(updated, status="in_progress")
                self._replace(updated)

    def _replace(self, new: ProjectView) -> None:
        self.projects = [new if p.id == new.id else p for p in self.projects]
