"""Notices in the headmaster's conversation: what others did (an officer's nudge or answer, the
block's celebration, a file that could not be kept), told as it comes, never moving the
conversation, and never to a headmaster who opted out."""

from __future__ import annotations

import pytest

from flows import effects as fx
from flows.events import (
    BlockCelebrated,
    DigestDue,
    EvidenceRefused,
    HelpAlert,
    HelpAnswered,
    Notice,
    Nudged,
)
from flows.headmaster import State, step
from flows.views import Snapshot
from tests.transcript import NOW, World, project

TITLE = {"en": "Retell the Tale", "hi": "कहानी सुनाओ"}

# Each notice, and the one message it becomes (what bot/ queued for it before the flow did).
NOTICES: list[tuple[Notice, fx.Reply]] = [
    (Nudged(project_id=1, officer="Prakash"),
     fx.Reply("nudge", {"name": "Sunita", "officer": "Prakash", "project_id": 1}, (), 1)),
    (HelpAnswered(task_id=102, project_id=1, position=2, officer="Prakash",
                  text="New brooms on Thursday"),
     fx.Reply("help.reply", {"officer": "Prakash", "text": "New brooms on Thursday",
                             "position": 2}, (), 1, 102)),
    (BlockCelebrated(percent=50, block="Wai", title=TITLE),
     fx.Reply("celebration.block", {"percent": 50, "block": "Wai", "title": TITLE})),
    (EvidenceRefused(project_id=1, task_id=102, position=2, reason="not_accepted"),
     fx.Reply("evidence.not_accepted", {"position": 2}, (), 1, 102)),
    (EvidenceRefused(project_id=1, task_id=102, position=2, reason="fetch_failed"),
     fx.Reply("evidence.fetch_failed", {"position": 2}, (), 1, 102)),
    (EvidenceRefused(project_id=1, task_id=102, position=2, reason="too_large", limit_mb=16),
     fx.Reply("evidence.too_large", {"limit_mb": 16}, (), 1, 102)),
]
IDS = ["nudged", "help_answered", "block_celebrated", "not_accepted", "fetch_failed",
       "too_large"]


def minimal(opted_out: bool = False) -> Snapshot:
    """The person alone, as the engine loads them for a notice: no projects."""
    return Snapshot(person_id=1, name="Sunita", language="hi", opted_out=opted_out)


@pytest.mark.parametrize(("notice", "reply"), NOTICES, ids=IDS)
def test_a_notice_needs_only_the_person(notice, reply):
    state = State("task", {"project_id": 1, "task_id": 101})
    result = step(minimal(), state, notice, NOW)
    assert result.effects == [reply]
    assert result.state == state


@pytest.mark.parametrize(("notice", "reply"), NOTICES, ids=IDS)
def test_a_notice_mid_task_leaves_the_task_in_hand(notice, reply):
    world = World([project(n=3)])
    world.invite(1)
    world.say("yes")
    before = world.state
    assert before.name == "task" and before.context["task_id"] == 101

    assert world.notice(notice) == [reply.key]
    assert world.last() == reply
    assert world.recorded[-1] == reply  # a message, and nothing else
    assert world.state == before
    assert world.say("done") == ["task.done", "task.prompt"]
    assert world.task(1, 1).status == "completed"


@pytest.mark.parametrize(("notice", "reply"), NOTICES, ids=IDS)
def test_a_notice_during_an_invitation_leaves_it_waiting(notice, reply):
    world = World([project()])
    world.invite(1)
    assert world.notice(notice) == [reply.key]
    assert world.state.name == "invited"
    assert world.say("1")[0] == "invitation.accepted"


@pytest.mark.parametrize(("notice", "reply"), NOTICES, ids=IDS)
def test_no_notice_reaches_a_headmaster_who_opted_out(notice, reply):
    state = State("idle", {"project_id": 1})
    result = step(minimal(opted_out=True), state, notice, NOW)
    assert result.effects == []
    assert result.state == state

    world = World([project(status="in_progress")])
    world.say("stop")
    assert world.notice(notice) == []


def test_a_notice_does_not_end_a_pause():
    world = World([project(status="in_progress")], paused=True)
    assert world.notice(Nudged(1, "Prakash")) == ["nudge"]
    assert world.paused and world.effects(fx.Resume) == []


@pytest.mark.parametrize("event", [
    DigestDue({"area": "Wai", "campaigns": []}),
    HelpAlert(101, 1, "School W1", "Sunita", {"en": "Clean"}, "help"),
])
def test_an_officers_triggers_mean_nothing_to_a_headmaster(event):
    state = State("task", {"project_id": 1, "task_id": 101})
    result = step(minimal(), state, event, NOW)
    assert result.effects == [] and result.state == state
