"""Which flow talks with whom: a person's role names their flow, and a new role is one entry.

The engine looks the flow up (`flow_for(person.role)`), builds the snapshot it takes and calls
its step with any event (`flows.events.Event`); a flow leaves alone the events that are not
its own. For the events in `person_only` the person alone will do (`Flow.minimal`): no
projects, no area to read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_args

from flows import headmaster, officer
from flows.events import DigestDue, Event, HelpAlert, Notice
from flows.state import State, Step
from flows.views import Snapshot

S = TypeVar("S", Snapshot, officer.OfficerSnapshot)


@dataclass(frozen=True)
class Flow(Generic[S]):
    """One conversation: its step, the snapshot type that step reads, and the events for
    which a snapshot of the person alone is enough."""

    name: str
    step: Callable[[S, State, Event, dt.datetime], Step]
    snapshot: type[S]
    person_only: tuple[type, ...] = ()

    def needs_only_the_person(self, event: Event) -> bool:
        """Whether `minimal` is all this event needs (else the engine loads the whole
        snapshot: a headmaster's projects, an officer's area as of now)."""
        return isinstance(event, self.person_only)

    def minimal(self, person_id: int, name: str, language: str = "en",
                opted_out: bool = False) -> S:
        """A snapshot of the person alone."""
        return self.snapshot(person_id, name, language, opted_out)


HEADMASTER: Flow[Snapshot] = Flow("headmaster", headmaster.step, Snapshot,
                                  person_only=get_args(Notice))
# A digest or a help alert carries what it needs; only a message may ask for the officer's
# area as of now ("status", "school CODE").
OFFICER: Flow[officer.OfficerSnapshot] = Flow("officer", officer.step, officer.OfficerSnapshot,
                                              person_only=(DigestDue, HelpAlert))

FLOWS: Mapping[str, Flow[Any]] = {
    "headmaster": HEADMASTER,
    "beo": OFFICER,  # a block education officer
    "deo": OFFICER,  # a district education officer
}

DEFAULT_ROLE = "headmaster"


def flow_for(role: str) -> Flow[Any]:
    """The flow of a person with this role. A role with no entry (the roster's "state") talks
    with the headmaster's flow, as every role but an officer's always has."""
    return FLOWS.get(role, FLOWS[DEFAULT_ROLE])
