"""The block or district officer's conversation: the weekly digest, help alerts, one-reply actions.

State table:

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
from dataclasses import dataclass, field
from typing import Any

from flows import effects as fx
from flows.events import Message
from flows.headmaster import State, Step
from flows.intents import Name, TaughtPhrase, parse

DIGEST_OPTIONS = ("option.silent_schools", "option.nudge", "option.photos")


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


def step(snapshot: OfficerSnapshot, state: State, event: Any, now: dt.datetime) -> Step:
    if isinstance(event, DigestDue):
        out = Step(state).do(fx.DigestSent())
        return out if snapshot.opted_out else _digest(out, snapshot, event.digest)
    if isinstance(event, HelpAlert):
        return _alert(snapshot, state, event)
    if isinstance(event, Message):
        return _message(snapshot, state, event)
    return Step(state)


def _digest(out: Step, snapshot: OfficerSnapshot, digest: dict[str, Any]) -> Step:
    """The week in the officer's schools, with three one-reply actions."""
    out.state = State("digest", {
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
    out = Step(State("help_alert", {"task_id": alert.task_id,
                                    "headmaster_id": alert.headmaster_id,
                                    "school": alert.school}))
    return out.say("help.alert", school=alert.school, headmaster=alert.headmaster,
                   task=alert.task, text=alert.text or "-")


def _message(snapshot: OfficerSnapshot, state: State, msg: Message) -> Step:
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
        if snapshot.school is None:
            return out.say("school.not_found", code=code)
        return out.say("school.report", **snapshot.school)
    if intent.name == Name.STATUS:
        return _digest(out, snapshot, snapshot.digest)
    if intent.name == Name.MENU:
        return out.say("officer.menu", name=snapshot.name)
    if state.name == "help_alert" and msg.text.strip():
        return _relay(out, state, msg.text.strip())  # whatever they write is the answer
    if state.name == "digest" and intent.number is not None and intent.name == Name.UNKNOWN:
        return _digest_action(out, state, intent.number, snapshot.digest)
    if msg.text.strip():
        out.do(fx.KeepUnread(msg.text.strip(), str(intent.name), "not_understood"))
    return out.say("officer.not_understood")


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
