"""Applying a flow step's effects to the database, in the order the flow gave them.

The flow decides; this module records. Scheduling effects (a prompt, a reminder, "later",
a lapse) turn into due times in the school's time zone, using the campaign's pace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, assert_never

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import rules
from flows import effects as fx
from flows.events import BlockCelebrated, HelpAlert, HelpAnswered, Notice, Nudged
from storage import celebrations, digests, phrases
from storage import conversations as store
from storage.models import (
    PROJECT_IN_PROGRESS,
    PROJECT_STARTED,
    PROJECT_SUBMITTED,
    TASK_COMPLETED,
    TASK_IN_PROGRESS,
    TASK_NOT_STARTED,
    Campaign,
    Evidence,
    InboundMessage,
    Outbox,
    Person,
    Project,
    School,
    Task,
    TaskEvent,
)
from storage.schedule import DigestTime, Pace, QuietHours, at_local, local_date, next_digest_time

OPEN = (TASK_NOT_STARTED, TASK_IN_PROGRESS)


class Schedules:
    """The pace and time zone of each project, loaded once per transaction."""

    def __init__(self, session: Session, default_timezone: str, quiet: QuietHours,
                 digest_time: DigestTime):
        self.session = session
        self.default_timezone = default_timezone
        self.quiet = quiet
        self.digest_time = digest_time
        self._projects: dict[int, tuple[Pace, str]] = {}
        self._tasks: dict[int, list[Task]] = {}
        self._held: list[Project] = []

    def preload(self, project_ids: list[int]) -> None:
        """Pace, time zone and task rows for many projects at once (the clock's batches)."""
        missing = [i for i in project_ids if i not in self._projects]
        if not missing:
            return
        for project_id in missing:
            self._tasks.setdefault(project_id, [])
        for task in self.session.scalars(select(Task).where(Task.project_id.in_(missing))):
            self._tasks[task.project_id].append(task)
        # The session's identity map holds rows weakly: keep them, so the effects' lookups
        # by id find them there instead of going back to the database one by one.
        self._held.extend(self.session.scalars(select(Project).where(Project.id.in_(missing))))
        rows = self.session.execute(
            select(Project.id, Campaign.settings, School.timezone)
            .join(Campaign, Campaign.id == Project.campaign_id)
            .join(School, School.id == Project.school_id)
            .where(Project.id.in_(missing))
        )
        for project_id, settings, timezone in rows:
            self._projects[project_id] = (Pace.from_settings(settings),
                                          timezone or self.default_timezone)

    def tasks_of(self, project_id: int) -> list[Task]:
        """The project's task rows, from this session's identity map once loaded."""
        if project_id not in self._tasks:
            self._tasks[project_id] = list(
                self.session.scalars(select(Task).where(Task.project_id == project_id))
            )
        return self._tasks[project_id]

    def forget_tasks(self, project_id: int) -> None:
        self._tasks.pop(project_id, None)

    def of(self, project_id: int) -> tuple[Pace, str]:
        if project_id not in self._projects:
            self.preload([project_id])
        return self._projects.get(project_id, (Pace(), self.default_timezone))

    def timezone_of(self, person: Person) -> str:
        return (person.school.timezone if person.school else None) or self.default_timezone

    def local_date(self, person: Person, now: dt.datetime) -> dt.date:
        return local_date(now, self.timezone_of(person))


class Applier:
    """Turns one step's effects into rows."""

    def __init__(self, session: Session, person: Person, now: dt.datetime,
                 inbound_id: int | None, today: dt.date, schedules: Schedules,
                 tell: Callable[[int, Notice], int] | None = None):
        self.session = session
        self.tell = tell  # runs a notice through the other person's flow; returns replies
        self.person = person
        self.now = now
        self.inbound_id = inbound_id
        self.today = today
        self.schedules = schedules
        self.replies = 0
        self.follow_ups: list[tuple[int, Any]] = []  # (person id, trigger) for others

    def apply(self, effect: fx.Effect) -> None:
        """One effect, by its type. A new effect without a case here fails type checking."""
        match effect:
            case fx.Reply():
                self._reply(effect)
            case fx.StartProject():
                self._start_project(effect)
            case fx.DeferInvitation():
                self._defer_invitation(effect)
            case fx.SetTaskStatus():
                self._set_task_status(effect)
            case fx.MarkPrompted():
                self._mark_prompted(effect)
            case fx.RequestHelp():
                self._request_help(effect)
            case fx.AttachEvidence():
                self._attach_evidence(effect)
            case fx.AddTask():
                self._add_task(effect)
            case fx.CompleteProject():
                self._complete_project(effect)
            case fx.SaveStory():
                self._save_story(effect)
            case fx.InvitationSent():
                self._invitation_sent(effect)
            case fx.MarkReminded():
                self._mark_reminded(effect)
            case fx.PostponeTask():
                self._postpone_task(effect)
            case fx.Pause():
                self._pause(effect)
            case fx.Resume():
                self._resume(effect)
            case fx.LapseProject():
                self._lapse_project(effect)
            case fx.ReopenProject():
                self._reopen_project(effect)
            case fx.UndoStatus():
                self._undo_status(effect)
            case fx.SetLanguage():
                self._set_language(effect)
            case fx.Nudge():
                self._nudge(effect)
            case fx.Relay():
                self._relay(effect)
            case fx.DigestSent():
                self._digest_sent(effect)
            case fx.ShareStory():
                self._share_story(effect)
            case fx.OptOut():
                self._opt_out(effect)
            case fx.OptIn():
                self._opt_in(effect)
            case fx.KeepUnread():
                self._keep_unread(effect)
            case _:
                assert_never(effect)

    # --- lookups ------------------------------------------------------------------------------

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

    def _at_send_time(self, project_id: int, days_from_today: int) -> dt.datetime:
        pace, timezone = self.schedules.of(project_id)
        return rules.send_time(self.now, pace, timezone, days_from_today)

    def _event(self, task: Task, status: str, note: str | None = None) -> None:
        self.session.add(TaskEvent(task_id=task.id, at=self.now, status=status, note=note,
                                   inbound_id=self.inbound_id))

    def _answered(self, task: Task) -> None:
        """Any answer on a task stops its reminders."""
        task.next_reminder_at = None
        self._project(task.project_id).last_reply_at = self.now

    def _schedule_open_tasks(self, project: Project) -> None:
        """Gives every open, not yet asked-about task its prompt time: its day, or today."""
        pace, timezone = self.schedules.of(project.id)
        today = local_date(self.now, timezone)
        for task in self.schedules.tasks_of(project.id):
            if task.status in OPEN and task.prompted_at is None:
                day = max(task.due_on or today, today)
                task.prompt_at = at_local(day, pace.time_of_day(), timezone)

    def _clear_due_times(self, project: Project) -> None:
        """A finished or lapsed project has nothing pending: its tasks leave the clock's view."""
        for task in self.schedules.tasks_of(project.id):
            rules.set_on(task, rules.NOTHING_DUE)
        project.lapse_at = None

    # --- effects ------------------------------------------------------------------------------

    def _reply(self, e: fx.Reply) -> None:
        next_attempt = rules.next_attempt(self.now, self.schedules.quiet,
                                          self.schedules.timezone_of(self.person),
                                          direct=self.inbound_id is not None)
        self.session.add(Outbox(**rules.outbox_row(self.person, e, self.now, next_attempt,
                                                   self.inbound_id)))
        self.replies += 1

    def _invitation_sent(self, e: fx.InvitationSent) -> None:
        rules.change_on(self._project(e.project_id), rules.invitation_sent(e, self.now))

    def _start_project(self, e: fx.StartProject) -> None:
        project = self._project(e.project_id)
        project.status = PROJECT_STARTED
        project.started_at = self.now
        project.last_reply_at = self.now
        project.invitation_reminder_at = None
        self._schedule_open_tasks(project)
        project.lapse_at = self._lapse_time(project)

    def _lapse_time(self, project: Project) -> dt.datetime:
        """`lapse_after_days` after the last core task's day (or from today, if later)."""
        pace, timezone = self.schedules.of(project.id)
        last_due = self.session.scalar(
            select(Task.due_on).where(Task.project_id == project.id, Task.mandatory)
            .order_by(Task.due_on.desc()).limit(1)
        )
        today = local_date(self.now, timezone)
        day = max(last_due or today, today) + dt.timedelta(days=pace.lapse_after_days)
        return at_local(day, pace.time_of_day(), timezone)

    def _defer_invitation(self, e: fx.DeferInvitation) -> None:
        project = self._project(e.project_id)
        project.deferred_at = self.now
        project.last_reply_at = self.now
        project.invitation_reminder_at = None  # "not now" is an answer

    def _set_task_status(self, e: fx.SetTaskStatus) -> None:
        task = self._task(e.task_id)
        task.status = e.status
        task.status_changed_at = self.now
        if e.status not in OPEN:
            task.prompt_at = None
        if e.status == TASK_COMPLETED:
            task.completed_at = self.now
        self._event(task, e.status, e.note)
        self._answered(task)
        project = self._project(task.project_id)
        if project.status == PROJECT_STARTED:
            project.status = PROJECT_IN_PROGRESS

    def _mark_prompted(self, e: fx.MarkPrompted) -> None:
        task = self._task(e.task_id)
        pace, zone = self.schedules.of(task.project_id)
        for other in self.schedules.tasks_of(task.project_id):
            if other.id != task.id:
                rules.set_on(other, rules.PROMPT_ENDS_OTHER_REMINDERS)
        rules.set_on(task, rules.prompted(self.now, pace, zone))

    def _mark_reminded(self, e: fx.MarkReminded) -> None:
        task = self._task(e.task_id)
        pace, zone = self.schedules.of(task.project_id)
        rules.set_on(task, rules.reminded(self.now, pace, zone, task.reminders_sent or 0))

    def _postpone_task(self, e: fx.PostponeTask) -> None:
        task = self._task(e.task_id)
        task.prompt_at = self._at_send_time(task.project_id, e.days)
        task.prompted_at = None
        task.next_reminder_at = None
        self._event(task, "postponed", f"{e.days} day(s)")
        self._project(task.project_id).last_reply_at = self.now

    def _pause(self, e: fx.Pause) -> None:
        self.person.paused_until = self.now + dt.timedelta(days=e.days)

    def _resume(self, e: fx.Resume) -> None:
        self.person.paused_until = None

    def _lapse_project(self, e: fx.LapseProject) -> None:
        project = self._project(e.project_id)
        rules.set_on(project, rules.lapsed_project(self.now))
        self._clear_due_times(project)

    def _reopen_project(self, e: fx.ReopenProject) -> None:
        project = self._project(e.project_id)
        project.status = PROJECT_IN_PROGRESS
        project.last_reply_at = self.now
        self._schedule_open_tasks(project)
        pace, _ = self.schedules.of(project.id)
        project.lapse_at = self._at_send_time(project.id, pace.lapse_after_days)

    def _undo_status(self, e: fx.UndoStatus) -> None:
        task = self._task(e.task_id)
        task.status = e.status
        task.status_changed_at = self.now
        if e.status != TASK_COMPLETED:
            task.completed_at = None
        if e.withdraw_help:
            task.help_requested_at = None
        self._event(task, e.status, "undone")
        self._answered(task)
        project = self._project(task.project_id)
        if e.reopen_project and project.status == PROJECT_SUBMITTED:
            project.status = PROJECT_IN_PROGRESS
            project.completed_at = None
            self._schedule_open_tasks(project)
            pace, _ = self.schedules.of(project.id)
            project.lapse_at = self._at_send_time(project.id, pace.lapse_after_days)

    def _request_help(self, e: fx.RequestHelp) -> None:
        task = self._task(e.task_id)
        task.help_requested_at = self.now
        text = e.text.strip()
        if text:
            task.remarks = f"{task.remarks}\n{text}" if task.remarks else text
        self._event(task, "help", text)
        self._answered(task)
        project = self._project(task.project_id)
        title = (task.template_task.title if task.template_task else {"*": task.own_title or ""})
        for officer in digests.officers_of(self.session, project.school_id):
            self.follow_ups.append((officer.id, HelpAlert(
                task_id=task.id, headmaster_id=self.person.id,
                school=project.school.name if project.school else "",
                headmaster=self.person.name, task=title, text=text)))

    # --- an officer's effects -----------------------------------------------------------------

    def _tell(self, person_id: int, notice: Notice) -> None:
        """Someone else is told what happened, by their own flow, at once: their message
        takes its place among this step's (a block's celebration comes before the
        headmaster's own, and the story question stays the last thing they read)."""
        if self.tell is not None:
            self.replies += self.tell(person_id, notice)

    def _nudge(self, e: fx.Nudge) -> None:
        area = digests.Area.of(self.person)
        if area is None:
            return
        for project in self.session.scalars(select(Project).where(
                Project.id.in_(e.project_ids))):
            school = project.school
            if school is None or not area.holds((school.district or "").strip().lower(),
                                                (school.block or "").strip().lower()):
                continue  # never nudge outside one's own area, whatever the context says
            self._tell(project.headmaster_id, Nudged(project.id, self.person.name))

    def _relay(self, e: fx.Relay) -> None:
        task = self.session.get(Task, e.task_id)
        if task is None or self.session.get(Person, e.headmaster_id) is None:
            return
        self._event(task, "help_reply", e.text)
        self._tell(e.headmaster_id, HelpAnswered(task.id, task.project_id, task.position,
                                                 self.person.name, e.text))

    def _digest_sent(self, e: fx.DigestSent) -> None:
        self.person.next_digest_at = next_digest_time(self.now, self.schedules.timezone_of(
            self.person), self.schedules.digest_time)

    def _attach_evidence(self, e: fx.AttachEvidence) -> None:
        task = self._task(e.task_id)
        inbound = self.session.get(InboundMessage, e.inbound_id)
        media: list[dict[str, Any]] = inbound.media if inbound else []
        item = media[e.media_index] if e.media_index < len(media) else {}
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
                next_attempt_at=None if stored else self.now,
                created_at=self.now,
            )
        )
        self._answered(task)

    def _add_task(self, e: fx.AddTask) -> None:
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
        self.schedules.forget_tasks(project.id)
        self._event(task, "added", e.title)

    def _complete_project(self, e: fx.CompleteProject) -> None:
        project = self._project(e.project_id)
        project.status = PROJECT_SUBMITTED
        project.completed_at = self.now
        self._clear_due_times(project)
        self.session.flush()
        for milestone in celebrations.milestones_reached(self.session, project, self.now):
            title = celebrations.campaign_title(self.session, milestone.campaign_id)
            for headmaster in celebrations.block_headmasters(self.session, milestone):
                self._tell(headmaster.id, BlockCelebrated(milestone.percent, milestone.block,
                                                          title))

    def _save_story(self, e: fx.SaveStory) -> None:
        self._project(e.project_id).story = e.text

    def _share_story(self, e: fx.ShareStory) -> None:
        self._project(e.project_id).share_story = e.agreed

    def _keep_unread(self, e: fx.KeepUnread) -> None:
        """Any person's reply (a headmaster's or an officer's): kept in their language, with
        the campaign of the project named, else of the one they are working on."""
        phrases.keep(self.session, self.person, e.text, e.read, e.reason, e.project_id,
                     self.inbound_id, self.now)

    def _set_language(self, e: fx.SetLanguage) -> None:
        self.person.language = e.language

    def _opt_out(self, e: fx.OptOut) -> None:
        self.person.opted_out_at = self.now

    def _opt_in(self, e: fx.OptIn) -> None:
        self.person.opted_out_at = None
