"""One rule per effect that both write paths share: which columns an effect sets, and to what.

The engine writes effects two ways: row by row through the ORM (an inbound message, an
officer's trigger, anything unusual: bot/engine/applier.py) and set-based for the clock's
batches of thousands (bot/engine/batch.py). Both take the values from here, so they cannot
drift apart; tests/test_one_applier.py runs the same triggers through both and compares the
rows field by field.

Each rule is a pure function of the effect, the time and the project's pace and zone. It
returns column values; the caller decides how to write them (attributes or one statement).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from flows import effects as fx
from storage.conversations import jsonable
from storage.models import PROJECT_LAPSED
from storage.schedule import Pace, QuietHours, at_local, local_date

Values = dict[str, Any]


class Recipient(Protocol):
    """Who a message goes to: a Person row, or a row of the batch's people query."""

    @property
    def id(self) -> int: ...
    @property
    def phone(self) -> str: ...
    @property
    def channel(self) -> str: ...


@dataclass(frozen=True)
class Change:
    """Column values for one row: `always` set, `if_unset` set only where the column is NULL
    (the first invitation's time survives its reminder)."""

    always: Values = field(default_factory=dict)
    if_unset: Values = field(default_factory=dict)


def send_time(now: dt.datetime, pace: Pace, zone: str, days_from_today: int) -> dt.datetime:
    """The campaign's time of day, `days_from_today` days on, in the school's zone."""
    day = local_date(now, zone) + dt.timedelta(days=days_from_today)
    return at_local(day, pace.time_of_day(), zone)


def next_attempt(now: dt.datetime, quiet: QuietHours, zone: str, direct: bool) -> dt.datetime:
    """A direct answer goes at once; anything scheduled waits for the end of the night."""
    return now if direct else quiet.next_allowed(now, zone)


def outbox_row(to: Recipient, reply: fx.Reply, now: dt.datetime, next_attempt: dt.datetime,
               in_reply_to: int | None) -> Values:
    """The outbox row for a Reply. `next_attempt` is `now` for a direct answer and the end
    of the night's quiet hours for anything scheduled (the caller knows which it is)."""
    return {
        "person_id": to.id, "phone": to.phone, "channel": to.channel, "language": None,
        "key": reply.key, "params": jsonable(reply.params), "options": list(reply.options),
        "status": "queued", "attempts": 0, "next_attempt_at": next_attempt, "created_at": now,
        "in_reply_to": in_reply_to, "project_id": reply.project_id, "task_id": reply.task_id,
    }


def prompted(now: dt.datetime, pace: Pace, zone: str) -> Values:
    """MarkPrompted: the task was asked about now; its first reminder is set, if any."""
    return {
        "prompted_at": now, "prompt_at": None, "reminders_sent": 0,
        "next_reminder_at": (send_time(now, pace, zone, pace.reminder_after_days)
                             if pace.max_reminders > 0 else None),
    }


# MarkPrompted, on the project's other tasks: a new prompt ends the nudges about earlier ones.
PROMPT_ENDS_OTHER_REMINDERS: Values = {"next_reminder_at": None}


def reminded(now: dt.datetime, pace: Pace, zone: str, sent_before: int) -> Values:
    """MarkReminded: one more reminder sent; the next after a growing gap, up to the most."""
    sent = sent_before + 1
    later = (send_time(now, pace, zone, pace.reminder_gap(sent).days)
             if sent < pace.max_reminders else None)
    return {"reminders_sent": sent, "next_reminder_at": later}


def invitation_sent(effect: fx.InvitationSent, now: dt.datetime) -> Change:
    """InvitationSent: the first invitation's time is kept; its one reminder ends the wait."""
    if effect.again:
        return Change({"invitation_reminder_at": None, "invitation_resent_at": now},
                      {"invited_at": now})
    return Change({}, {"invited_at": now})


def lapsed_project(now: dt.datetime) -> Values:
    """LapseProject, on the project: lapsed now, nothing more to wait for."""
    return {"status": PROJECT_LAPSED, "lapsed_at": now, "lapse_at": None}


# A finished or lapsed project's tasks leave the clock's view.
NOTHING_DUE: Values = {"prompt_at": None, "next_reminder_at": None}


def conversation(state_name: str, context: dict[str, Any], now: dt.datetime) -> Values:
    """The conversation's row after a step."""
    return {"state": str(state_name), "context": jsonable(context), "updated_at": now}


def set_on(row: Any, values: Values) -> None:
    """Applies column values to an ORM row."""
    for name, value in values.items():
        setattr(row, name, value)


def change_on(row: Any, change: Change) -> None:
    set_on(row, change.always)
    for name, value in change.if_unset.items():
        if getattr(row, name) is None:
            setattr(row, name, value)
