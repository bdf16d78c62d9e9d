"""The headmaster's conversation: invitation, one task at a time, evidence, celebration, story.

State table (what each waiting state accepts, see WAITING; anything else falls through to the
commands that work everywhere, see COMMANDS and PROJECT_COMMANDS: stop/start, menu, status,
tasks, add, a photo, "task N done"):

| state          | context                        | accepts                                      |
| -------------- | ------------------------------ | -------------------------------------------- |
| idle           | project_id?, task_id?          | commands; YES to a pending invitation        |
| invited        | project_id                     | 1 yes, 2 not now, 3 details                  |
| task           | project_id, task_id, photo?    | 1 done, 2 in progress, 3 need help, 4 skip,  |
|                |                                | a photo; "photo?" waits for a done task's    |
| story          | project_id                     | one line on what changed in the school       |
| adding_task    | project_id                     | the text of the headmaster's own task        |
| which_project  | choices, pending message       | the number of a project                      |
| which_task     | project_id, pending media      | the number of a task                         |
| which_language | (the state it came from)       | a number from the list, or a language's name |
| share_story    | project_id                     | 1 share the story, 2 keep it private         |

Numbered options work in every state, because SMS has no buttons.

Notices (an officer's nudge or answer, a block's celebration, a file that could not be kept)
are told as they come and never change the state. None goes to a headmaster who opted out:
they asked to hear nothing more, and the worker would hold such a message back anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, assert_never

from flows import effects as fx
from flows.events import (
    BlockCelebrated,
    DigestDue,
    Event,
    EvidenceRefused,
    HelpAlert,
    HelpAnswered,
    Invitation,
    Lapse,
    Media,
    Message,
    Notice,
    Nudged,
    Reminder,
    TaskDue,
)
from flows.evidence_types import accepted_type, kind_of
from flows.intents import Intent, Name, parse
from flows.languages import LANGUAGES, named
from flows.state import State, Step
from flows.views import (
    COMPLETED,
    IN_PROGRESS,
    INVITED,
    RUNNING,
    SKIPPED,
    STARTED,
    SUBMITTED,
    ProjectView,
    Snapshot,
    TaskView,
)

__all__ = ["HeadmasterState", "State", "Step", "invitation", "invitation_params", "step"]

POSTPONE_DAYS = 1  # "later", "kal": unless the reply says how long ("parso", "next week")
PAUSE_DAYS = 7  # "pause": unless the reply says how long ("ek hafte", "2 weeks")
UNDO_WITHIN = dt.timedelta(hours=24)  # how long "0" / "undo" can take back a recorded change


class HeadmasterState(StrEnum):
    """The headmaster's states (the table above), stored by their string."""

    IDLE = "idle"
    INVITED = "invited"
    TASK = "task"
    STORY = "story"
    ADDING_TASK = "adding_task"
    WHICH_PROJECT = "which_project"
    WHICH_TASK = "which_task"
    WHICH_LANGUAGE = "which_language"
    SHARE_STORY = "share_story"


def step(snapshot: Snapshot, state: State, event: Event, now: dt.datetime) -> Step:
    """Handle one trigger, notice or message; `now` is passed in because flows never read the
    clock."""
    snapshot = replace(snapshot, now=now)
    match event:
        case Invitation():
            return _invite(snapshot, state, event.project_id, event.again)
        case TaskDue():
            return _task_due(snapshot, state, event)
        case Reminder():
            return _reminder(snapshot, state, event)
        case Lapse():
            return _lapse(snapshot, state, event)
        case Nudged() | HelpAnswered() | BlockCelebrated() | EvidenceRefused():
            return _notice(snapshot, state, event)
        case Message():
            return _message(snapshot, state, event)
        case DigestDue() | HelpAlert():
            return Step(state)  # an officer's: nothing for a headmaster
        case _:
            assert_never(event)


# --- triggers -------------------------------------------------------------------------------

INVITE_OPTIONS = ("option.accept", "option.not_now", "option.details")


def invitation(state: State, project_id: int, again: bool = False,
               params: Mapping[str, Any] | None = None) -> Step:
    """The invitation to a project (or its one reminder): the message with its options, the
    record that it went out, and the state that waits for yes / not now / details.

    `params` fill the message (`invitation_params`). A launch leaves them out: it queues the
    invitations of a whole state in one statement, and the worker fills them when it sends
    (storage/campaigns.py asks this function what to queue).
    """
    out = Step(state.with_(HeadmasterState.INVITED, project_id=project_id))
    out.do(fx.InvitationSent(project_id, again))
    key = "invitation.reminder" if again else "invitation"
    filled = {k: v for k, v in (params or {}).items() if k != "project_id"}
    return out.say(key, INVITE_OPTIONS, project_id=project_id, **filled)


def invitation_params(*, project_id: int, name: str, title: Mapping[str, str],
                      objective: Mapping[str, str], tasks_total: int,
                      duration_days: int) -> dict[str, Any]:
    """What an invitation says about its project: the flow's, and the worker's when it fills a
    launch's invitations (storage.campaigns.invitation_params_many)."""
    return {"project_id": project_id, "name": name, "title": title, "objective": objective,
            "tasks_total": tasks_total, "weeks": max(1, round(duration_days / 7))}


def _invite(snapshot: Snapshot, state: State, project_id: int, again: bool = False) -> Step:
    """Sends the invitation (or its one reminder) and waits for yes / not now / details."""
    project = snapshot.project(project_id)
    if snapshot.opted_out or project is None or project.status != INVITED:
        return Step(state)
    return invitation(state, project_id, again, _project_params(snapshot, project))


def _task_due(snapshot: Snapshot, state: State, event: TaskDue) -> Step:
    """Asks about a task whose day has come."""
    project = snapshot.project(event.project_id)
    task = project.task(event.task_id) if project else None
    if snapshot.opted_out or project is None or task is None or not task.is_open:
        return Step(state)
    if project.status == INVITED:
        return Step(state)
    return _prompt(Step(state), project, task)


def _reminder(snapshot: Snapshot, state: State, event: Reminder) -> Step:
    """Nudges about a task the bot asked about and heard nothing on."""
    project = snapshot.project(event.project_id)
    task = project.task(event.task_id) if project else None
    if snapshot.opted_out or project is None or task is None or not task.is_open:
        return Step(state)
    if project.status not in RUNNING:
        return Step(state)
    out = Step(state.with_(HeadmasterState.TASK, project_id=project.id, task_id=task.id,
                           photo=None))
    out.do(fx.MarkReminded(task.id))
    return out.say("task.reminder", _task_options(task), project_id=project.id, task_id=task.id,
                   position=task.position, title=task.title, project_title=project.title)


def _lapse(snapshot: Snapshot, state: State, event: Lapse) -> Step:
    """Pauses a long-overdue project and says how to pick it up again."""
    project = snapshot.project(event.project_id)
    if project is None or project.status not in RUNNING:
        return Step(state)
    out = Step(state).do(fx.LapseProject(project.id))
    if snapshot.opted_out:
        return out
    return out.say("project.lapsed", project_id=project.id, title=project.title,
                   done=project.done_count, total=len(project.tasks))


# --- notices --------------------------------------------------------------------------------


def _notice(snapshot: Snapshot, state: State, notice: Notice) -> Step:
    """Tells the headmaster what others did; the conversation stays where it was."""
    out = Step(state)
    if snapshot.opted_out:
        return out
    match notice:
        case Nudged(project_id=project_id, officer=officer):
            # The project's id among the params too, as the nudge has always been queued.
            return out.do(fx.Reply("nudge", {"name": snapshot.name, "officer": officer,
                                             "project_id": project_id}, (), project_id))
        case HelpAnswered():
            return out.say("help.reply", officer=notice.officer, text=notice.text,
                           position=notice.position, project_id=notice.project_id,
                           task_id=notice.task_id)
        case BlockCelebrated():
            return out.say("celebration.block", percent=notice.percent, block=notice.block,
                           title=notice.title)
        case EvidenceRefused(reason="too_large"):
            return out.say("evidence.too_large", limit_mb=notice.limit_mb,
                           project_id=notice.project_id, task_id=notice.task_id)
        case EvidenceRefused():
            return out.say(f"evidence.{notice.reason}", position=notice.position,
                           project_id=notice.project_id, task_id=notice.task_id)
        case _:
            assert_never(notice)


# --- messages -------------------------------------------------------------------------------


def _message(snapshot: Snapshot, state: State, msg: Message) -> Step:
    intent = parse(msg.button or msg.text, snapshot.language, snapshot.taught)
    out = Step(state)
    if snapshot.opted_out:
        if intent.name == Name.START:
            out.do(fx.OptIn())
            return out.say("opted_in", name=snapshot.name)
        return out.say("still_opted_out")
    if intent.name == Name.STOP:
        out.state = State()
        return out.do(fx.OptOut()).say("opted_out")
    if intent.name == Name.PAUSE:
        days = intent.days or PAUSE_DAYS
        until = snapshot.today + dt.timedelta(days=days)
        return out.do(fx.Pause(days)).say("paused", date=until)
    if snapshot.paused:
        out.do(fx.Resume())  # anything from the headmaster turns reminders back on
    if intent.name == Name.UNDO:
        return _undo(out, snapshot, state)
    if snapshot.lapsed:
        return _reopen(out, snapshot, state, msg, intent)
    return _respond(out, snapshot, state, msg, intent)


def _respond(out: Step, snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step:
    """Everything after the person-level words (stop, pause): evidence, answers, commands."""
    answer: Step | None = None
    if msg.media:
        answer = _media(snapshot, state, msg, intent)
    elif (handler := WAITING.get(state.name)) is not None:
        answer = handler(snapshot, state, msg, intent)
    if answer is None:
        answer = _command(snapshot, state, msg, intent)
    out.state = answer.state
    out.effects.extend(answer.effects)
    return out


def _reopen(out: Step, snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step:
    """A reply to a lapsed project picks it up again, then is answered as usual."""
    reopened = []
    for project in snapshot.lapsed:
        out.do(fx.ReopenProject(project.id))
        out.say("project.reopened", project_id=project.id, title=project.title)
        reopened.append(replace(project, status=IN_PROGRESS))
    by_id = {p.id: p for p in reopened}
    snapshot = replace(snapshot, projects=tuple(by_id.get(p.id, p) for p in snapshot.projects))
    understood = intent.name not in (Name.UNKNOWN, Name.MENU, Name.YES, Name.START)
    if understood or msg.media or intent.number is not None:
        return _respond(out, snapshot, state, msg, intent)
    return _advance(out, snapshot, reopened[0], after=0)


def _on_invitation(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step | None:
    """Accept (1, yes, 👍), not now (2, no), or details (3)."""
    project = snapshot.project(state.context.get("project_id"))
    if project is None or project.status != INVITED:
        return None
    choice = _option(intent, INVITE_OPTIONS)
    if choice is None and intent.name in (Name.DETAILS, Name.HELP):
        choice = "option.details"  # a question about the project: tell them more
    if choice is None and intent.name in (Name.YES, Name.START):
        choice = "option.accept"
    if choice is None and intent.name == Name.DONE and "task_id" not in state.context:
        choice = "option.accept"  # "done" with no task in hand can only mean yes
    if choice is None and intent.name in (Name.NO, Name.LATER):
        choice = "option.not_now"
    if choice == "option.accept":
        return _accept(snapshot, state, project)
    if choice == "option.not_now":
        out = Step(state.with_(HeadmasterState.IDLE))
        out.do(fx.DeferInvitation(project.id))
        return out.say("invitation.deferred", project_id=project.id, title=project.title)
    if choice == "option.details":
        out = Step(state)
        titles = [{"position": t.position, "title": t.title} for t in project.tasks]
        return out.say("invitation.details", ("option.accept", "option.not_now"),
                       project_id=project.id, title=project.title,
                       objective=project.objective, tasks=titles)
    return None


def _accept(snapshot: Snapshot, state: State, project: ProjectView) -> Step:
    """Starts the project and asks about its first task whose day has come."""
    out = Step(state.with_(HeadmasterState.IDLE, project_id=project.id, task_id=None))
    out.do(fx.StartProject(project.id))
    out.say("invitation.accepted", project_id=project.id, title=project.title,
            tasks_total=len(project.tasks))
    started = replace(project, status=STARTED)
    return _advance(out, snapshot, started, after=0)


def _on_task(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step | None:
    """Replies to the task in hand: 1 done, 2 in progress, 3 need help, 4 skip."""
    project = snapshot.project(state.context.get("project_id"))
    task = project.task(state.context.get("task_id", -1)) if project else None
    if project is None or task is None:
        return None
    if intent.number is not None and intent.name != Name.UNKNOWN:
        return None  # "task 3 done" names its own task: handled as a command
    if intent.name == Name.YES and snapshot.invited:
        return None  # a plain "yes" with an invitation pending answers the invitation
    if state.context.get("photo") and intent.name in (Name.NO, Name.SKIP, Name.LATER):
        out = Step(state.with_(HeadmasterState.IDLE, photo=None))
        return _advance(out, snapshot, project, after=task.position)
    if state.context.get("photo") and intent.name == Name.YES:
        return Step(state).say("task.done_send_photo", project_id=project.id, task_id=task.id,
                               position=task.position, title=task.title)
    if intent.name == Name.LATER:
        days = intent.days or POSTPONE_DAYS
        out = Step(state.with_(HeadmasterState.IDLE))
        out.do(fx.PostponeTask(task.id, days))
        return out.say("task.postponed", project_id=project.id, task_id=task.id,
                       position=task.position, title=task.title,
                       date=snapshot.today + dt.timedelta(days=days))
    if intent.name == Name.YES and _option(intent, _task_options(task)) is None:
        # "ok", "theek hai", "ho jayega": too weak to mark a task done, so ask.
        return Step(state).say("task.confirm", CONFIRM_OPTIONS, project_id=project.id,
                               task_id=task.id, position=task.position, title=task.title)
    choice = _option(intent, _task_options(task))
    action = choice or _STATUS_INTENTS.get(intent.name)
    if action is None:
        return None
    return _set_status(snapshot, state, project, task, action, msg.text)


CONFIRM_OPTIONS = ("option.done", "option.in_progress")

_STATUS_INTENTS = {
    Name.DONE: "option.done",
    Name.IN_PROGRESS: "option.in_progress",
    Name.START: "option.in_progress",  # "shuru" to a task prompt: the task has started
    Name.HELP: "option.need_help",
    Name.SKIP: "option.skip",
}


def _set_status(snapshot: Snapshot, state: State, project: ProjectView, task: TaskView,
                action: str, text: str) -> Step:
    """Applies a status reply; only a reply to the task in hand moves on to the next task."""
    out = Step(state)
    in_hand = state.context.get("task_id") == task.id
    ids = {"project_id": project.id, "task_id": task.id}
    params = {"position": task.position, "title": task.title, **ids}
    if action == "option.done":
        return _complete(out, snapshot, project, task, in_hand, text)
    if action == "option.in_progress":
        out.do(fx.SetTaskStatus(task.id, IN_PROGRESS))
        out.say("task.in_progress", **params)
        return _remember(out, snapshot, task, IN_PROGRESS, text)
    if action == "option.need_help":
        out.do(fx.RequestHelp(task.id, text))
        out.say("task.help_noted", **params)
        return _remember(out, snapshot, task, HELP, text)
    if task.mandatory:
        return out.say("task.cannot_skip", _task_options(task), **params)
    out.do(fx.SetTaskStatus(task.id, SKIPPED))
    out.say("task.skipped", **params)
    skipped = project.with_task(replace(task, status=SKIPPED))
    _advance(out, snapshot, skipped, after=task.position, prompt_next=in_hand)
    return _remember(out, snapshot, task, SKIPPED, text)


def _complete(out: Step, snapshot: Snapshot, project: ProjectView, task: TaskView,
              in_hand: bool = True, text: str = "") -> Step:
    """Marks a task done; asks for its photo if one is wanted, else moves on."""
    out.do(fx.SetTaskStatus(task.id, COMPLETED))
    done = project.with_task(replace(task, status=COMPLETED))
    ids = {"project_id": project.id, "task_id": task.id}
    if task.evidence == "photo" and task.evidence_count == 0:
        out.state = out.state.with_(HeadmasterState.TASK, project_id=project.id,
                                    task_id=task.id, photo=True)
        out.say("task.done_send_photo", position=task.position, title=task.title, **ids)
        return _remember(out, snapshot, task, COMPLETED, text)
    out.say("task.done", position=task.position, title=task.title, done=done.done_count,
            total=len(done.tasks), **ids)
    _advance(out, snapshot, done, after=task.position, prompt_next=in_hand)
    return _remember(out, snapshot, task, COMPLETED, text)


# --- undo -------------------------------------------------------------------------------------

HELP = "help"  # what an undo record calls a help request (the task's status stays as it was)


def _remember(out: Step, snapshot: Snapshot, task: TaskView, after: str, text: str) -> Step:
    """Keeps the change just made in the conversation, so "0" or "undo" can take it back."""
    completes = any(isinstance(e, fx.CompleteProject) for e in out.effects)
    at = snapshot.now.isoformat() if snapshot.now else None
    out.state = out.state.with_(undo={"task_id": task.id, "before": task.status, "after": after,
                                      "at": at, "text": text, "reopen": completes})
    return out


def _undo(out: Step, snapshot: Snapshot, state: State) -> Step:
    """ "0", "undo", "galat": takes back the last recorded change, within a day, once."""
    record = state.context.get("undo") or {}
    at = dt.datetime.fromisoformat(record["at"]) if record.get("at") else None
    project = next((p for p in snapshot.projects if p.task(record.get("task_id", -1))), None)
    task = project.task(record["task_id"]) if project else None
    if (task is None or at is None or snapshot.now is None
            or snapshot.now - at > UNDO_WITHIN):
        out.state = _settled(state).with_(undo=None)
        return out.say("undo.nothing")
    assert project is not None
    before, after = record["before"], record["after"]
    out.do(fx.UndoStatus(task.id, before, withdraw_help=after == HELP,
                         reopen_project=bool(record.get("reopen"))))
    out.do(fx.KeepUnread(record.get("text", ""), after, "undone", project.id))
    out.state = State(HeadmasterState.TASK, {"project_id": project.id, "task_id": task.id})
    ids = {"project_id": project.id, "task_id": task.id}
    return out.say("undo.done", _task_options(task), position=task.position, title=task.title,
                   status=before, **ids)


def _advance(out: Step, snapshot: Snapshot, project: ProjectView, after: int,
             prompt_next: bool = True) -> Step:
    """After a task closes: the celebration, or the next task whose day has come, or its date."""
    if project.tasks and project.mandatory_done and project.status != SUBMITTED:
        out.do(fx.CompleteProject(project.id))
        out.say("project.celebration", project_id=project.id, title=project.title,
                name=snapshot.name, done=project.done_count, total=len(project.tasks))
        out.state = out.state.with_(HeadmasterState.STORY, project_id=project.id, task_id=None,
                                    photo=None)
        return out.say("project.story_question", project_id=project.id)
    if not prompt_next:
        return out
    nxt = project.next_task(snapshot.today, after=after)
    if nxt is not None:
        return _prompt(out, project, nxt)
    out.state = out.state.with_(HeadmasterState.IDLE, project_id=project.id, photo=None)
    upcoming = project.upcoming_task()
    if upcoming is not None and upcoming.due_on is not None:
        out.say("task.next_on", project_id=project.id, position=upcoming.position,
                title=upcoming.title, date=upcoming.due_on)
    return out


def _prompt(out: Step, project: ProjectView, task: TaskView) -> Step:
    """Asks about one task, naming how to answer."""
    out.state = out.state.with_(HeadmasterState.TASK, project_id=project.id, task_id=task.id,
                                photo=None)
    out.do(fx.MarkPrompted(task.id))
    return out.say("task.prompt", _task_options(task), project_id=project.id, task_id=task.id,
                   position=task.position, total=len(project.tasks), title=task.title,
                   description=task.description, photo=task.evidence == "photo",
                   project_title=project.title)


def _task_options(task: TaskView) -> tuple[str, ...]:
    base = ("option.done", "option.in_progress", "option.need_help")
    return base if task.mandatory else (*base, "option.skip")


def _on_story(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step | None:
    """Keeps the headmaster's one line on what changed as the project's story."""
    project_id = state.context.get("project_id")
    if project_id is None:
        return None
    if intent.name in (Name.MENU, Name.STATUS, Name.TASKS, Name.ADD_TASK, Name.LANGUAGE):
        return None
    out = Step(state.with_(HeadmasterState.IDLE))
    if intent.name in (Name.NO, Name.SKIP, Name.LATER) or not msg.text.strip():
        return out.say("project.story_skipped", project_id=project_id)
    out.do(fx.SaveStory(project_id, msg.text.strip()))
    out.say("project.story_saved", project_id=project_id)
    out.state = State(HeadmasterState.SHARE_STORY, {"project_id": project_id})
    return out.say("project.share_question", SHARE_OPTIONS, project_id=project_id)


SHARE_OPTIONS = ("option.share_yes", "option.share_no")


def _on_share(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step | None:
    """Asks once whether the story may be shared, with the school's name, with other schools."""
    project_id = state.context.get("project_id")
    choice = _option(intent, SHARE_OPTIONS)
    if choice is None and intent.name in (Name.YES, Name.DONE):
        choice = "option.share_yes"
    if choice is None and intent.name in (Name.NO, Name.SKIP):
        choice = "option.share_no"
    if project_id is None or choice is None:
        return None
    out = Step(State(HeadmasterState.IDLE, {"project_id": project_id}))
    agreed = choice == "option.share_yes"
    out.do(fx.ShareStory(project_id, agreed))
    return out.say("project.share_thanks" if agreed else "project.share_private",
                   project_id=project_id)


def _on_new_task(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step | None:
    """Takes the text of the headmaster's own task."""
    project = snapshot.project(state.context.get("project_id"))
    # A title is usually a few words, and may well contain a command word ("Update the
    # attendance list"); a lone command word is taken as the command.
    is_title = len(msg.text.split()) >= 2 or intent.name in (
        Name.UNKNOWN, Name.DONE, Name.IN_PROGRESS)
    if project is None or not is_title:
        return None
    in_hand = project.task(state.context.get("task_id", -1))
    in_a_task = in_hand is not None and in_hand.is_open
    back_to = HeadmasterState.TASK if in_a_task else HeadmasterState.IDLE
    return _add_task(Step(state.with_(back_to)), project, msg.text)


def _on_project_choice(snapshot: Snapshot, state: State, msg: Message,
                       intent: Intent) -> Step | None:
    """Replays the pending message against the project the headmaster picked."""
    choices: list[int] = state.context.get("choices", [])
    if intent.number is None or not 1 <= intent.number <= len(choices):
        return None
    pending = state.context.get("pending", {})
    chosen = State(HeadmasterState.IDLE, {"project_id": choices[intent.number - 1], "pinned": True})
    media = tuple(Media(m["index"], m["content_type"]) for m in pending.get("media", []))
    replay = Message(pending.get("text", ""), pending.get("inbound_id"), None, media)
    out = _message(snapshot, chosen, replay)
    out.state = out.state.with_(pinned=None)  # the choice answers this one message only
    return out


def _on_task_choice(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step | None:
    """Attaches the photo that was waiting to the task the headmaster named."""
    project = snapshot.project(state.context.get("project_id"))
    if project is None or intent.number is None:
        return None
    task = project.task_at(intent.number)
    if task is None:
        return _no_such_task(Step(state), project, intent.number)
    pending = state.context.get("pending", {})
    media = tuple(Media(m["index"], m["content_type"]) for m in pending.get("media", []))
    out = Step(State(HeadmasterState.IDLE, {"project_id": project.id, "task_id": task.id}))
    return _attach(out, snapshot, project, task, pending.get("inbound_id"), media,
                   pending.get("text", ""))


# Outside a task prompt a bare "yes" or "ok" is too weak to mark a task done.
_TASK_WORDS = (Name.DONE, Name.IN_PROGRESS, Name.HELP, Name.SKIP)

def _choose_language(out: Step, msg: Message) -> Step:
    """ "language" / "भाषा": the languages, each written in its own script, by number."""
    chosen = named(msg.text)
    if chosen is not None:
        out.do(fx.SetLanguage(chosen))
        return out.say("language.set")
    out.state = out.state.with_(HeadmasterState.WHICH_LANGUAGE, back_to=out.state.name)
    return out.say("language.choose",
                   languages=[{"n": n, "name": name}
                              for n, (_, name) in enumerate(LANGUAGES, start=1)])


def _on_language(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step | None:
    """Sets the language picked by number or by name."""
    code = named(msg.text)
    if code is None and intent.number is not None and 1 <= intent.number <= len(LANGUAGES):
        code = LANGUAGES[intent.number - 1][0]
    if code is None:
        return None
    back = state.context.get("back_to", HeadmasterState.IDLE)
    if back == HeadmasterState.WHICH_LANGUAGE:
        back = HeadmasterState.IDLE
    out = Step(state.with_(back, back_to=None))
    out.do(fx.SetLanguage(code))
    return out.say("language.set")


WAITING: dict[str, Callable[[Snapshot, State, Message, Intent], Step | None]] = {
    HeadmasterState.INVITED: _on_invitation,
    HeadmasterState.TASK: _on_task,
    HeadmasterState.STORY: _on_story,
    HeadmasterState.ADDING_TASK: _on_new_task,
    HeadmasterState.WHICH_PROJECT: _on_project_choice,
    HeadmasterState.WHICH_TASK: _on_task_choice,
    HeadmasterState.WHICH_LANGUAGE: _on_language,
    HeadmasterState.SHARE_STORY: _on_share,
}


# --- commands that work in every state --------------------------------------------------------


def _command(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step:
    """A message no waiting state took: a command from the tables below, else not understood.

    The order is the meaning: the commands about the person first; then a yes or no, which
    answers an invitation if one is pending; with no project running, the pending invitation
    (again) or "no project"; then the commands about one project.
    """
    out = Step(_settled(state))
    if (command := COMMANDS.get(intent.name)) is not None:
        return command(out, snapshot, msg)
    if intent.name in (Name.YES, Name.NO) and snapshot.invited:
        invited = State(HeadmasterState.INVITED, {"project_id": snapshot.invited[0].id})
        return _on_invitation(snapshot, invited, msg, intent) or out
    if not snapshot.running:
        if snapshot.invited:
            return _invite(snapshot, State(), snapshot.invited[0].id)
        return out.say("no_project", name=snapshot.name)
    on_project = PROJECT_COMMANDS.get(intent.name)
    if on_project is None and intent.number is not None:
        on_project = _A_TASK_NUMBERED  # "3", "task 3 ...": whatever the word, about task 3
    if on_project is None:
        return _not_understood(out, snapshot, state, msg, intent)
    project = _project_in_hand(snapshot, state, strict=on_project.strict,
                               pinned_only=on_project.pinned_only)
    if project is None:
        return _ask_which_project(out, snapshot, msg)
    return on_project.handle(out, snapshot, project, msg, intent)


def _opted_in_already(out: Step, snapshot: Snapshot, msg: Message) -> Step:
    """ "start" from someone who never stopped: a welcome all the same."""
    return out.say("opted_in", name=snapshot.name)


def _menu(out: Step, snapshot: Snapshot, msg: Message) -> Step:
    """What the headmaster can say."""
    return out.say("menu", name=snapshot.name)


def _tasks(out: Step, snapshot: Snapshot, project: ProjectView, msg: Message,
           intent: Intent) -> Step:
    """ "tasks": the project's tasks with their status."""
    return _task_list(out, project)


def _add(out: Step, snapshot: Snapshot, project: ProjectView, msg: Message,
         intent: Intent) -> Step:
    """ "add Paint a story wall": a task of their own; a bare "add" asks for its text."""
    if not intent.text:
        out.state = out.state.with_(HeadmasterState.ADDING_TASK, project_id=project.id)
        return out.say("task.add_what", project_id=project.id)
    return _add_task(out, project, intent.text)


def _numbered_or_current(out: Step, snapshot: Snapshot, project: ProjectView, msg: Message,
                         intent: Intent) -> Step:
    """ "task 3 done" acts on task 3; a bare "3" opens task 3; "done" acts on the task in hand."""
    if intent.number is not None:
        task = project.task_at(intent.number)
        if task is None:
            return _no_such_task(out, project, intent.number)
        action = _STATUS_INTENTS.get(intent.name) if intent.name in _TASK_WORDS else None
        if action is None:
            return _prompt(out, project, task)
        return _set_status(snapshot, out.state, project, task, action, msg.text)
    task = project.task(out.state.context.get("task_id", -1)) or project.next_task(snapshot.today)
    if task is None:
        return _task_list(out, project)
    return _set_status(snapshot, out.state, project, task, _STATUS_INTENTS[intent.name], msg.text)


PersonCommand = Callable[[Step, Snapshot, Message], Step]
ProjectCommand = Callable[[Step, Snapshot, ProjectView, Message, Intent], Step]


@dataclass(frozen=True)
class _OnProject:
    """A command about one project, and how sure the bot must be which project (with two
    running) before it acts: see `_project_in_hand`."""

    handle: ProjectCommand
    strict: bool = False  # only the task prompt in hand or a project just picked will do
    pinned_only: bool = False  # only a project just picked will do


# Commands about the person, whatever projects they have.
COMMANDS: dict[Name, PersonCommand] = {
    Name.START: _opted_in_already,
    Name.MENU: _menu,
    Name.LANGUAGE: lambda out, snapshot, msg: _choose_language(out, msg),
    Name.STATUS: lambda out, snapshot, msg: _status(out, snapshot),
}

# Commands about one running project.
PROJECT_COMMANDS: dict[Name, _OnProject] = {
    Name.TASKS: _OnProject(_tasks, strict=True),
    Name.ADD_TASK: _OnProject(_add, pinned_only=True),
    **{name: _OnProject(_numbered_or_current) for name in _TASK_WORDS},
}
_A_TASK_NUMBERED = _OnProject(_numbered_or_current)


def _status(out: Step, snapshot: Snapshot) -> Step:
    """Progress so far on every project the headmaster is running or invited to."""
    if not snapshot.projects:
        return out.say("no_project", name=snapshot.name)
    lines = [{"title": p.title, "done": p.done_count, "total": len(p.tasks), "status": p.status}
             for p in snapshot.projects]
    return out.say("status", projects=lines)


def _task_list(out: Step, project: ProjectView) -> Step:
    """Every task of the project with its status."""
    out.state = out.state.with_(project_id=project.id)
    tasks = [{"position": t.position, "title": t.title, "status": t.status,
              "mandatory": t.mandatory} for t in project.tasks]
    return out.say("tasks.list", project_id=project.id, title=project.title, tasks=tasks)


def _add_task(out: Step, project: ProjectView, text: str) -> Step:
    """Adds the headmaster's own task at the end of the project."""
    title = " ".join(text.split())[:200]
    position = max((t.position for t in project.tasks), default=0) + 1
    out.do(fx.AddTask(project.id, title))
    return out.say("task.added", project_id=project.id, position=position, title={"*": title})


def _ask_which_project(out: Step, snapshot: Snapshot, msg: Message) -> Step:
    choices = [p.id for p in snapshot.running]
    pending = {"text": msg.text, "inbound_id": msg.inbound_id,
               "media": [{"index": m.index, "content_type": m.content_type} for m in msg.media]}
    out.state = State(HeadmasterState.WHICH_PROJECT, {"choices": choices, "pending": pending})
    titles = [{"n": i + 1, "title": p.title} for i, p in enumerate(snapshot.running)]
    return out.say("which_project", projects=titles)


def _no_such_task(out: Step, project: ProjectView, number: int) -> Step:
    """A task number the project does not have: the tasks it has, and nothing changed."""
    tasks = [{"position": t.position, "title": t.title, "status": t.status,
              "mandatory": t.mandatory} for t in project.tasks]
    return out.say("task.no_such_number", project_id=project.id, number=number,
                   title=project.title, tasks=tasks)


def _not_understood(out: Step, snapshot: Snapshot, state: State, msg: Message,
                    intent: Intent) -> Step:
    """Never silence: say what the bot can take right now. The reply is kept for teaching."""
    project = snapshot.project(state.context.get("project_id"))
    if msg.text.strip():
        running = project or (snapshot.running[0] if snapshot.running else None)
        out.do(fx.KeepUnread(msg.text.strip(), str(intent.name), "not_understood",
                             running.id if running else None))
    if state.name == HeadmasterState.TASK and project is not None:
        task = project.task(state.context.get("task_id", -1))
        if task is not None:
            out.state = state
            return out.say("not_understood.task", _task_options(task), project_id=project.id,
                           task_id=task.id, position=task.position, title=task.title)
    if state.name == HeadmasterState.INVITED and project is not None:
        out.state = state
        return out.say("not_understood.invitation", INVITE_OPTIONS, project_id=project.id,
                       title=project.title)
    return out.say("not_understood")


# --- evidence ---------------------------------------------------------------------------------


def _media(snapshot: Snapshot, state: State, msg: Message, intent: Intent) -> Step:
    """A photo, voice note or document: evidence on the task named in the caption, or in hand."""
    out = Step(_settled(state))
    # The declared type is a first look; the bytes decide when the file is fetched.
    accepted = tuple(m for m in msg.media if accepted_type(m.content_type))
    if not accepted:
        return out.say("evidence.type_not_accepted", content_type=msg.media[0].content_type)
    project = _project_in_hand(snapshot, state, strict=False)
    if project is None:
        if not snapshot.running:
            return out.say("no_project", name=snapshot.name)
        return _ask_which_project(out, snapshot, msg)
    task = project.task_at(intent.number) if intent.number is not None else None
    if task is None and intent.number is None:
        task = project.task(state.context.get("task_id", -1))
    if task is None:
        pending = {"inbound_id": msg.inbound_id, "text": msg.text,
                   "media": [{"index": m.index, "content_type": m.content_type}
                             for m in accepted]}
        out.state = State(HeadmasterState.WHICH_TASK,
                          {"project_id": project.id, "pending": pending})
        tasks = [{"position": t.position, "title": t.title, "status": t.status,
                  "mandatory": t.mandatory} for t in project.tasks]
        return out.say("evidence.which_task", project_id=project.id, tasks=tasks)
    out.state = out.state.with_(project_id=project.id, task_id=task.id)
    return _attach(out, snapshot, project, task, msg.inbound_id, accepted, msg.text,
                   done=intent.name == Name.DONE, was_waiting=bool(state.context.get("photo")))


def _attach(out: Step, snapshot: Snapshot, project: ProjectView, task: TaskView,
            inbound_id: int | None, media: tuple[Media, ...], caption: str,
            done: bool = False, was_waiting: bool = False) -> Step:
    for item in media:
        out.do(fx.AttachEvidence(task.id, inbound_id or 0, item.index, kind_of(item.content_type),
                                 caption.strip() or None))
    with_photo = replace(task, evidence_count=task.evidence_count + len(media))
    project = project.with_task(with_photo)
    ids = {"project_id": project.id, "task_id": task.id}
    out.say("evidence.saved", position=task.position, title=task.title, count=len(media), **ids)
    if done and task.is_open:
        return _complete(out, snapshot, project, with_photo)
    if task.status == COMPLETED and was_waiting:
        return _advance(out, snapshot, project, after=task.position)
    if task.is_open:
        out.state = out.state.with_(HeadmasterState.TASK, project_id=project.id, task_id=task.id)
        out.say("evidence.is_it_done", _task_options(task), position=task.position, **ids)
    return out


# --- small helpers ----------------------------------------------------------------------------


# Waiting states that a command leaves unanswered.
_ASKING = (HeadmasterState.WHICH_PROJECT, HeadmasterState.WHICH_TASK,
           HeadmasterState.ADDING_TASK)


def _settled(state: State) -> State:
    """The state after a command: waiting states that were not answered go back to idle."""
    if state.name == HeadmasterState.WHICH_LANGUAGE:
        return State(state.context.get("back_to", HeadmasterState.IDLE),
                     {k: v for k, v in state.context.items() if k != "back_to"})
    if state.name in _ASKING:
        return State(HeadmasterState.IDLE, {k: v for k, v in state.context.items()
                              if k in ("project_id", "task_id")})
    return state


def _project_in_hand(snapshot: Snapshot, state: State, strict: bool,
                     pinned_only: bool = False) -> ProjectView | None:
    """The project this message is about, or None when the headmaster must be asked.

    With two projects running, a task prompt settles which one a status reply is about;
    adding a task is asked about unless the headmaster has just picked the project.
    """
    running = snapshot.running
    if len(running) == 1:
        return running[0]
    project = snapshot.project(state.context.get("project_id"))
    if project is None or project.status not in RUNNING:
        return None
    if pinned_only and not state.context.get("pinned"):
        return None
    if strict and not state.context.get("pinned") and state.name != HeadmasterState.TASK:
        return None
    return project


def _option(intent: Intent, options: tuple[str, ...]) -> str | None:
    """A bare number picks a numbered option."""
    if intent.name == Name.UNKNOWN and intent.number is not None:
        if 1 <= intent.number <= len(options) and intent.text.strip().isdigit():
            return options[intent.number - 1]
        if 1 <= intent.number <= len(options) and len(intent.text.split()) == 1:
            return options[intent.number - 1]
    return None


def _project_params(snapshot: Snapshot, project: ProjectView) -> dict[str, Any]:
    return invitation_params(project_id=project.id, name=snapshot.name, title=project.title,
                             objective=project.objective, tasks_total=len(project.tasks),
                             duration_days=project.duration_days)
