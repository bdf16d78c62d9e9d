"""The block or district officer's conversation: the weekly digest, help alerts, one-reply actions.

State table (what each waiting state accepts, see WAITING; the commands in COMMANDS work in
every state):

| state      | context                       | accepts                                  |
| ---------- | ----------------------------- | ---------------------------------------- |
| idle       |                               | status, school CODE, menu, stop/start    |
| digest     | silent schools, photos        | 1 silent schools, 2 nudge them, 3 photos |
| help_alert | task_id, headmaster_id        | a reply, relayed to the headmaster       |

What the officer may see is decided where the data is read (storage/digests.py): the snapshot
only ever holds their own block (a BEO) or district (a DEO).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
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
    Message,
    Nudged,
    Reminder,
    TaskDue,
)
from flows.intents import Intent, Name, TaughtPhrase, parse
from flows.state import State, Step

__all__ = ["OfficerSnapshot", "OfficerState", "school_code_asked", "step"]

DIGEST_OPTIONS = ("option.silent_schools", "option.nudge", "option.photos")


class OfficerState(StrEnum):
    """The officer's states (the table above), stored by their string."""

    IDLE = "idle"
    DIGEST = "digest"
    HELP_ALERT = "help_alert"


@dataclass(frozen=True)
class OfficerSnapshot:
    person_id: int
    name: str
    language: str = "en"
    opted_out: bool = False
    digest: dict[str, Any] = field(default_factory=dict)  # their area, as of now
    school: dict[str, Any] | None = None  # the school a "school CODE" message asked about
    taught: tuple[TaughtPhrase, ...] = ()  # phrases the state team taught, for the parser


def school_code_asked(text: str) -> str | None:
    """The code in "school 27310100101", so the engine can look it up (within scope)."""
    intent = parse(text or "")
    return intent.code if intent.name == Name.SCHOOL else None


def step(snapshot: OfficerSnapshot, state: State, event: Event, now: dt.datetime) -> Step:
    """Handle one digest, help alert or message."""
    match event:
        case DigestDue():
            out = Step(state).do(fx.DigestSent())
            return out if snapshot.opted_out else _digest(out, snapshot, event.digest)
        case HelpAlert():
            return _alert(snapshot, state, event)
        case Message():
            return _message(snapshot, state, event)
        case (Invitation() | TaskDue() | Reminder() | Lapse()
              | Nudged() | HelpAnswered() | BlockCelebrated() | EvidenceRefused()):
            return Step(state)  # a headmaster's: nothing for an officer
        case _:
            assert_never(event)


def _digest(out: Step, snapshot: OfficerSnapshot, digest: dict[str, Any]) -> Step:
    """The week in the officer's schools, with three one-reply actions."""
    out.state = State(OfficerState.DIGEST, {
        "silent": digest.get("silent_schools", []),
        "silent_projects": digest.get("silent_projects", []),
        "photos": digest.get("photos", []),
    })
    options = DIGEST_OPTIONS if digest.get("campaigns") else ()
    return out.say("digest", options, name=snapshot.name, **{
        k: v for k, v in digest.items() if k in ("area", "campaigns", "level")})


def _alert(snapshot: OfficerSnapshot, state: State, alert: HelpAlert) -> Step:
    """Tells the officer at once; their next message goes back to the headmaster."""
    if snapshot.opted_out:
        return Step(state)
    out = Step(State(OfficerState.HELP_ALERT, {"task_id": alert.task_id,
                                               "headmaster_id": alert.headmaster_id,
                                               "school": alert.school}))
    return out.say("help.alert", school=alert.school, headmaster=alert.headmaster,
                   task=alert.task, text=alert.text or "-")


# --- messages -------------------------------------------------------------------------------


def _message(snapshot: OfficerSnapshot, state: State, msg: Message) -> Step:
    """A message: the order is the meaning. While opted out only "start" is heard; "stop"
    comes before all else; a school code (read from the text alone) before the commands;
    the commands (COMMANDS) before the answer a waiting state expects (WAITING)."""
    intent = parse(msg.button or msg.text, snapshot.language, snapshot.taught)
    out = Step(state)
    if snapshot.opted_out:
        if intent.name == Name.START:
            return out.do(fx.OptIn()).say("opted_in", name=snapshot.name)
        return out.say("still_opted_out")
    if intent.name == Name.STOP:
        out.state = State()
        return out.do(fx.OptOut()).say("opted_out")
    code = school_code_asked(msg.text)
    if code is not None:
        return _school(out, snapshot, code)
    if (command := COMMANDS.get(intent.name)) is not None:
        return command(out, snapshot)
    if (waiting := WAITING.get(state.name)) is not None:
        answer = waiting(out, snapshot, state, msg, intent)
        if answer is not None:
            return answer
    return _not_understood(out, msg, intent)


def _school(out: Step, snapshot: OfficerSnapshot, code: str) -> Step:
    """ "school 27310100101": that school's report, if it is in the officer's area."""
    if snapshot.school is None:
        return out.say("school.not_found", code=code)
    return out.say("school.report", **snapshot.school)


def _status(out: Step, snapshot: OfficerSnapshot) -> Step:
    """ "status": the digest as of now, with its one-reply actions."""
    return _digest(out, snapshot, snapshot.digest)


def _menu(out: Step, snapshot: OfficerSnapshot) -> Step:
    """What the officer can say."""
    return out.say("officer.menu", name=snapshot.name)


def _on_alert(out: Step, snapshot: OfficerSnapshot, state: State, msg: Message,
              intent: Intent) -> Step | None:
    """Whatever the officer writes after a help alert is the answer."""
    if not msg.text.strip():
        return None
    return _relay(out, state, msg.text.strip())


def _on_digest(out: Step, snapshot: OfficerSnapshot, state: State, msg: Message,
               intent: Intent) -> Step | None:
    """A bare number after a digest picks one of its actions."""
    if intent.number is None or intent.name != Name.UNKNOWN:
        return None
    return _digest_action(out, state, intent.number, snapshot.digest)


def _not_understood(out: Step, msg: Message, intent: Intent) -> Step:
    """Says what the officer can send; the words are kept so the state team can teach them."""
    if msg.text.strip():
        out.do(fx.KeepUnread(msg.text.strip(), str(intent.name), "not_understood"))
    return out.say("officer.not_understood")


COMMANDS: dict[Name, Callable[[Step, OfficerSnapshot], Step]] = {
    Name.STATUS: _status,
    Name.MENU: _menu,
}

WAITING: dict[str, Callable[[Step, OfficerSnapshot, State, Message, Intent], Step | None]] = {
    OfficerState.HELP_ALERT: _on_alert,
    OfficerState.DIGEST: _on_digest,
}


def _digest_action(out: Step, state: State, number: int, now: dict[str, Any]) -> Step:
    """1: the silent schools by name; 2: nudge them; 3: this week's photos. Of the schools
    the digest named, only those still silent now (`now`: the area's digest as of this
    message): a headmaster who has written since, even only "status", is heard from."""
    current = set(now.get("silent_projects", []))
    # (The entries of a digest sent before they named their project are left as they were.)
    silent = [s for s in state.context.get("silent", [])
              if "project" not in s or s["project"] in current]
    if number == 1:
        return out.say("digest.silent", schools=silent)
    if number == 2:
        projects = [p for p in state.context.get("silent_projects", []) if p in current]
        out.do(fx.Nudge(tuple(projects)))
        return out.say("digest.nudged", count=len(projects))
    if number == 3:
        return out.say("digest.photos", photos=state.context.get("photos", []))
    return out.say("officer.not_understood")


def _relay(out: Step, state: State, text: str) -> Step:
    """The officer's answer goes back to the headmaster and is kept on the task."""
    out.do(fx.Relay(state.context["task_id"], state.context["headmaster_id"], text))
    out.state = State()
    return out.say("help.relayed", school=state.context.get("school", ""))
