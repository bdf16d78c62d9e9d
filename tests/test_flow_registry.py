"""The flow registry: a person's role names their flow, and each flow says what it reads."""

from __future__ import annotations

import json

import pytest

from flows import headmaster, officer
from flows.events import (
    BlockCelebrated,
    DigestDue,
    EvidenceRefused,
    HelpAlert,
    HelpAnswered,
    Invitation,
    Message,
    Nudged,
    TaskDue,
)
from flows.headmaster import HeadmasterState
from flows.officer import OfficerSnapshot, OfficerState
from flows.registry import FLOWS, flow_for
from flows.state import State
from flows.views import Snapshot

NOTICES = [Nudged(1, "Prakash"), HelpAnswered(101, 1, 1, "Prakash", "ok"),
           BlockCelebrated(50, "Wai", {"en": "Retell"}), EvidenceRefused(1, 101, 1, "not_accepted")]


@pytest.mark.parametrize(("role", "step", "snapshot"), [
    ("headmaster", headmaster.step, Snapshot),
    ("beo", officer.step, OfficerSnapshot),
    ("deo", officer.step, OfficerSnapshot),
])
def test_each_role_has_its_flow(role, step, snapshot):
    flow = flow_for(role)
    assert flow is FLOWS[role]
    assert flow.step is step and flow.snapshot is snapshot


def test_a_role_without_a_flow_of_its_own_talks_with_the_headmasters():
    # As the engine has always done: every role but an officer's is a headmaster's.
    assert flow_for("state") is FLOWS["headmaster"]
    assert flow_for("") is FLOWS["headmaster"]


@pytest.mark.parametrize("role", sorted(FLOWS))
def test_a_minimal_snapshot_is_the_person_alone(role):
    flow = flow_for(role)
    snapshot = flow.minimal(5, "Sunita", "hi", opted_out=True)
    assert isinstance(snapshot, flow.snapshot)
    assert (snapshot.person_id, snapshot.name, snapshot.language, snapshot.opted_out) == (
        5, "Sunita", "hi", True)


def test_notices_need_only_the_headmaster_and_the_rest_their_projects():
    flow = flow_for("headmaster")
    assert all(flow.needs_only_the_person(n) for n in NOTICES)
    assert not any(flow.needs_only_the_person(e) for e in (Invitation(1), TaskDue(1, 101),
                                                           Message("done")))


def test_an_officers_triggers_need_only_the_officer_and_a_message_the_area():
    flow = flow_for("beo")
    digest = DigestDue({"area": "Wai", "campaigns": []})
    alert = HelpAlert(101, 1, "School W1", "Asha", {"en": "Clean"}, "")
    assert flow.needs_only_the_person(digest) and flow.needs_only_the_person(alert)
    assert not flow.needs_only_the_person(Message("status"))


@pytest.mark.parametrize("enum", [HeadmasterState, OfficerState])
def test_state_names_store_as_the_strings_they_always_were(enum):
    for member in enum:
        assert member == member.value and isinstance(member, str)
        stored = State.from_json(State(member, {}).to_json())
        assert stored.name == member and type(stored.name) is str
        assert json.loads(State(member).to_json())["name"] == member.value
    assert enum.IDLE == State().name == "idle"


def test_the_headmasters_state_names_are_those_of_the_conversation_table():
    assert [s.value for s in HeadmasterState] == [
        "idle", "invited", "task", "story", "adding_task", "which_project", "which_task",
        "which_language", "share_story"]
    assert set(headmaster.WAITING) == set(HeadmasterState) - {HeadmasterState.IDLE}
    assert set(officer.WAITING) == set(OfficerState) - {OfficerState.IDLE}


def test_every_role_the_roster_accepts_has_its_flow():
    # The state team has no conversation of its own (it works on the dashboard); every other
    # role a roster may name is an entry of the registry, so adding a role is one entry.
    from bot.sheets.roster import ROLES

    assert set(ROLES) - {"state"} == set(FLOWS)
    assert all(flow_for(role) in FLOWS.values() for role in ROLES)
