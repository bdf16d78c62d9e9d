"""The block officer's conversation as transcripts: the digest and its one-reply actions, a
help alert and the answer relayed, and the commands that work in every state.

Pure: snapshots are built by hand (what storage/digests.py would read), and the state goes
through JSON between every turn, as it does through the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

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
from flows.officer import DIGEST_OPTIONS, OfficerSnapshot, OfficerState, step
from flows.state import State

NOW = dt.datetime(2026, 7, 6, 4, 30, tzinfo=dt.UTC)

CAMPAIGN = {"title": {"en": "Retell the Tale"}, "schools": 3, "started": 2, "completed": 0,
            "completed_this_week": [], "help": [], "silent": ["School W2", "School W3"],
            "task": None}
SILENT = [{"name": "School W2", "code": "W2", "project": 12, "days": 9},
          {"name": "School W3", "code": "W3", "project": 13, "days": 15}]
PHOTOS = [{"school": "School W1", "task": {"en": "Clean the classroom"},
           "url": "https://kadam.example/e/1"}]


def digest(silent_projects: tuple[int, ...] = (12, 13), **changes: Any) -> dict[str, Any]:
    """An area's digest as storage computes it: Wai block, one campaign, two silent schools."""
    silent = [s for s in SILENT if s["project"] in silent_projects]
    return {"area": "Wai", "level": "block", "campaigns": [CAMPAIGN], "silent_schools": silent,
            "silent_projects": list(silent_projects), "photos": PHOTOS, **changes}


REPORT = {"school": "School W1", "code": "W1", "headmaster": "Asha",
          "projects": [{"title": {"en": "Retell the Tale"}, "status": "in_progress",
                        "done": 2, "total": 5, "days": 1}]}


@dataclass
class Desk:
    """One officer and what the bot sent them; `area` is their digest as of now, `school`
    what a "school CODE" would find."""

    name: str = "Prakash"
    opted_out: bool = False
    area: dict[str, Any] = field(default_factory=digest)
    school: dict[str, Any] | None = None
    state_json: str = field(default_factory=lambda: State().to_json())
    sent: list[fx.Reply] = field(default_factory=list)
    recorded: list[fx.Effect] = field(default_factory=list)

    def say(self, text: str) -> list[str]:
        return self.turn(Message(text, inbound_id=len(self.recorded) + 1))

    def turn(self, event: Event) -> list[str]:
        snapshot = OfficerSnapshot(7, self.name, "en", self.opted_out, self.area, self.school)
        result = step(snapshot, State.from_json(self.state_json), event, NOW)
        self.state_json = result.state.to_json()
        keys = []
        for effect in result.effects:
            self.recorded.append(effect)
            if isinstance(effect, fx.Reply):
                self.sent.append(effect)
                keys.append(effect.key)
            if isinstance(effect, fx.OptOut):
                self.opted_out = True
            if isinstance(effect, fx.OptIn):
                self.opted_out = False
        return keys

    @property
    def state(self) -> State:
        return State.from_json(self.state_json)

    def last(self) -> fx.Reply:
        return self.sent[-1]

    def effects(self, kind: type) -> list[Any]:
        return [e for e in self.recorded if isinstance(e, kind)]


def after_digest(**kwargs: Any) -> Desk:
    desk = Desk(**kwargs)
    desk.turn(DigestDue(digest()))
    return desk


ALERT = HelpAlert(task_id=1201, headmaster_id=42, school="School W2", headmaster="Ravi",
                  task={"en": "Clean the classroom"}, text="our brooms are broken")


# --- the digest -------------------------------------------------------------------------------


def test_the_weekly_digest_offers_three_one_reply_actions():
    desk = Desk()
    assert desk.turn(DigestDue(digest())) == ["digest"]
    reply = desk.last()
    assert reply.options == DIGEST_OPTIONS == (
        "option.silent_schools", "option.nudge", "option.photos")
    assert reply.params == {"name": "Prakash", "area": "Wai", "level": "block",
                            "campaigns": [CAMPAIGN]}
    assert desk.effects(fx.DigestSent)  # the next one is due a week on
    assert desk.state.name == OfficerState.DIGEST == "digest"
    assert desk.state.context == {"silent": SILENT, "silent_projects": [12, 13],
                                  "photos": PHOTOS}


def test_1_lists_the_schools_still_silent():
    desk = after_digest(area=digest(silent_projects=(13,)))  # W2 has written since
    assert desk.say("1") == ["digest.silent"]
    assert desk.last().params == {"schools": [SILENT[1]]}
    assert desk.state.name == "digest"  # the other actions still answer


def test_2_nudges_only_the_schools_still_silent():
    desk = after_digest()
    desk.area = digest(silent_projects=(12,))  # W3's headmaster wrote in the meantime
    assert desk.say("2") == ["digest.nudged"]
    assert desk.effects(fx.Nudge) == [fx.Nudge((12,))]
    assert desk.last().params == {"count": 1}


def test_2_when_every_school_has_written_since_nudges_nobody():
    desk = after_digest()
    desk.area = digest(silent_projects=())
    assert desk.say("2") == ["digest.nudged"]
    assert desk.effects(fx.Nudge) == [fx.Nudge(())]
    assert desk.last().params == {"count": 0}


def test_3_shows_the_weeks_photos():
    desk = after_digest()
    assert desk.say("3") == ["digest.photos"]
    assert desk.last().params == {"photos": PHOTOS}


def test_a_number_the_digest_does_not_offer_is_not_understood():
    desk = after_digest()
    assert desk.say("4") == ["officer.not_understood"]
    assert desk.effects(fx.Nudge) == []


def test_a_quiet_area_gets_its_digest_without_actions():
    desk = Desk()
    assert desk.turn(DigestDue({"area": "Wai", "level": "block", "campaigns": []})) == ["digest"]
    assert desk.last().options == ()


def test_an_opted_out_officer_gets_no_digest_but_the_week_moves_on():
    desk = Desk(opted_out=True)
    assert desk.turn(DigestDue(digest())) == []
    assert desk.effects(fx.DigestSent)
    assert desk.state == State()


def test_status_is_the_digest_as_of_now():
    desk = Desk(area=digest(silent_projects=(13,)))
    assert desk.say("status") == ["digest"]
    assert desk.state.name == "digest"
    assert desk.state.context["silent_projects"] == [13]
    assert desk.effects(fx.DigestSent) == []  # the weekly one stays due
    assert desk.say("1") == ["digest.silent"]


# --- help ------------------------------------------------------------------------------------


def test_a_help_alert_then_the_officers_answer_goes_back_to_the_headmaster():
    desk = Desk()
    assert desk.turn(ALERT) == ["help.alert"]
    assert desk.last().params == {"school": "School W2", "headmaster": "Ravi",
                                  "task": {"en": "Clean the classroom"},
                                  "text": "our brooms are broken"}
    assert desk.state.name == OfficerState.HELP_ALERT
    assert desk.state.context == {"task_id": 1201, "headmaster_id": 42, "school": "School W2"}

    assert desk.say("  New brooms come on Thursday ") == ["help.relayed"]
    assert desk.effects(fx.Relay) == [fx.Relay(1201, 42, "New brooms come on Thursday")]
    assert desk.last().params == {"school": "School W2"}
    assert desk.state == State()  # back to idle: the next message is not relayed
    assert desk.say("thanks") == ["officer.not_understood"]
    assert len(desk.effects(fx.Relay)) == 1


def test_a_help_alert_without_words_says_so():
    desk = Desk()
    desk.turn(HelpAlert(1201, 42, "School W2", "Ravi", {"en": "Clean"}, ""))
    assert desk.last().params["text"] == "-"


def test_a_command_after_a_help_alert_is_a_command_not_the_answer():
    desk = Desk()
    desk.turn(ALERT)
    assert desk.say("menu") == ["officer.menu"]
    assert desk.effects(fx.Relay) == []
    assert desk.state.name == "help_alert"  # the answer is still awaited
    assert desk.say("I will come tomorrow") == ["help.relayed"]


def test_an_opted_out_officer_is_not_alerted():
    desk = Desk(opted_out=True)
    assert desk.turn(ALERT) == []
    assert desk.state == State()


# --- commands ---------------------------------------------------------------------------------


def test_school_code_found():
    desk = Desk(school=REPORT)
    assert desk.say("school W1") == ["school.report"]
    assert desk.last().params == REPORT


def test_school_code_not_found_in_the_area():
    desk = Desk(school=None)
    assert desk.say("school 27310100101") == ["school.not_found"]
    assert desk.last().params == {"code": "27310100101"}


def test_a_school_code_after_a_digest_is_looked_up_and_the_digest_still_answers():
    desk = after_digest(school=REPORT)
    assert desk.say("school W1") == ["school.report"]
    assert desk.say("3") == ["digest.photos"]


def test_menu():
    desk = Desk()
    assert desk.say("menu") == ["officer.menu"]
    assert desk.last().params == {"name": "Prakash"}


def test_stop_then_only_start_is_heard():
    desk = after_digest()
    assert desk.say("stop") == ["opted_out"]
    assert desk.effects(fx.OptOut) and desk.state == State()
    for text in ("status", "2", "school W1", "menu"):
        assert desk.say(text) == ["still_opted_out"]
    assert desk.effects(fx.Nudge) == []
    assert desk.say("start") == ["opted_in"]
    assert desk.effects(fx.OptIn)
    assert desk.say("status") == ["digest"]


def test_something_not_understood_is_kept_for_teaching():
    desk = Desk()
    assert desk.say("Please send the circular again") == ["officer.not_understood"]
    assert desk.effects(fx.KeepUnread) == [
        fx.KeepUnread("Please send the circular again", "unknown", "not_understood")]


def test_an_empty_message_is_answered_but_nothing_kept():
    desk = Desk()
    assert desk.say("  ") == ["officer.not_understood"]
    assert desk.effects(fx.KeepUnread) == []


@pytest.mark.parametrize("event", [
    Invitation(1), TaskDue(1, 101), Reminder(1, 101), Lapse(1), Nudged(1, "Prakash"),
    HelpAnswered(101, 1, 1, "Prakash", "ok"), BlockCelebrated(50, "Wai", {"en": "Retell"}),
    EvidenceRefused(1, 101, 1, "fetch_failed"),
])
def test_a_headmasters_events_mean_nothing_to_an_officer(event):
    desk = after_digest()
    before = desk.state
    assert desk.turn(event) == []
    assert desk.state == before
