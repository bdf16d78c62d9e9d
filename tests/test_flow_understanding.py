"""Never act on a misreading: transcripts of replies that used to change the wrong record.

Each test is a conversation a headmaster could have had; it asserts what they would notice: the
task's status, which task changed, what the bot answered and what it kept for the state team.
"""

from __future__ import annotations

import datetime as dt

import pytest

from flows import effects as fx
from flows.intents import Name, TaughtPhrase
from tests.transcript import TODAY, World, project


def at_task_one(n: int = 3, **kwargs) -> World:
    """A headmaster who accepted a project and was just asked about task 1."""
    world = World([project(n=n, **kwargs)])
    world.invite(1)
    world.say("1")
    assert world.state.name == "task" and world.last().params["position"] == 1
    return world


# --- a negated or half status is never done ------------------------------------------------------

@pytest.mark.parametrize("reply", [
    "zale nahi", "abhi nhi hua sir", "नही हुआ", "not yet done", "pas fait", "aadha hua",
    "half done", "didn't finish", "kaam adhe zale",
])
def test_a_negated_or_half_done_leaves_the_task_in_progress(reply):
    world = at_task_one()
    assert world.say(reply) == ["task.in_progress"]
    assert world.task(1, 1).status == "in_progress"
    assert world.task(1, 2).status == "not_started"  # the next task was not sent


def test_not_done_and_a_problem_reaches_the_officer_with_the_words():
    world = at_task_one()
    assert world.say("nahi hua, teachers chutti par hain, kya karun?") == ["task.help_noted"]
    [help_request] = world.effects(fx.RequestHelp)
    assert help_request.task_id == 101
    assert help_request.text == "nahi hua, teachers chutti par hain, kya karun?"


@pytest.mark.parametrize("reply", ["photo nahi ja rahi", "teachers are absent, what should I do?",
                                   "kuch samajh nahi aa raha", "no books in the library"])
def test_a_problem_or_a_question_about_the_work_is_a_request_for_help(reply):
    world = at_task_one()
    assert world.say(reply) == ["task.help_noted"]
    assert world.effects(fx.RequestHelp)[0].text == reply


# --- quantities are not task numbers -------------------------------------------------------------

def test_done_with_twenty_children_marks_the_task_in_hand_not_task_twenty():
    world = at_task_one()
    assert world.say("20 bachon ke saath kar liya") == ["task.done", "task.prompt"]
    assert world.task(1, 1).status == "completed"
    assert "task.no_such_number" not in [r.key for r in world.sent]


def test_two_teachers_helped_does_not_touch_task_two():
    world = at_task_one()
    world.say("2 teachers helped, done")
    assert world.task(1, 1).status == "completed"
    assert world.task(1, 2).status == "not_started"


def test_by_three_o_clock_asks_rather_than_touching_task_three():
    world = at_task_one()
    assert world.say("3 baje tak ho jayega") == ["task.confirm"]
    assert [t.status for t in world.project(1).tasks] == ["not_started"] * 3


def test_an_ordinal_names_the_task():
    world = at_task_one()
    assert world.say("teesra ho gaya")[0] == "task.done"
    assert world.task(1, 3).status == "completed"
    assert world.task(1, 1).status == "not_started"


def test_a_task_number_the_project_lacks_lists_its_tasks_and_changes_nothing():
    world = at_task_one()
    assert world.say("task 9 done") == ["task.no_such_number"]
    reply = world.last()
    assert reply.params["number"] == 9
    assert [t["position"] for t in reply.params["tasks"]] == [1, 2, 3]
    assert all(t.status == "not_started" for t in world.project(1).tasks)


# --- "ok" is not "done" ------------------------------------------------------------------------

@pytest.mark.parametrize("reply", ["ok", "theek hai", "ho jayega", "yes sir", "👍"])
def test_ok_to_a_task_prompt_asks_whether_the_task_is_done(reply):
    world = at_task_one()
    assert world.say(reply) == ["task.confirm"]
    assert world.last().options == ("option.done", "option.in_progress")
    assert world.last().params["position"] == 1
    assert world.task(1, 1).status == "not_started"
    assert world.say("1") == ["task.done", "task.prompt"]  # the answer to the question
    assert world.task(1, 1).status == "completed"


# --- undo -------------------------------------------------------------------------------------

@pytest.mark.parametrize("undo", ["0", "undo", "galat", "chuk", "wrong", "galti se done likh diya"])
def test_undo_takes_back_a_done_and_asks_about_the_task_again(undo):
    world = at_task_one()
    assert world.say("ho gaya") == ["task.done", "task.prompt"]
    assert world.task(1, 1).status == "completed"

    assert world.say(undo) == ["undo.done"]
    assert world.task(1, 1).status == "not_started"
    assert world.last().params["status"] == "not_started"
    assert world.last().params["position"] == 1
    assert world.state.context["task_id"] == 101  # "1" or "2" now answers task 1 again
    [kept] = world.effects(fx.KeepUnread)
    assert (kept.text, kept.read, kept.reason) == ("ho gaya", "completed", "undone")

    assert world.say("2") == ["task.in_progress"]
    assert world.task(1, 1).status == "in_progress"


def test_undo_works_once_and_only_within_a_day():
    world = at_task_one()
    world.say("2")
    assert world.say("0") == ["undo.done"]
    assert world.say("0") == ["undo.nothing"]  # nothing left to take back

    world.say("1")
    world.now += dt.timedelta(hours=25)
    assert world.say("undo") == ["undo.nothing"]
    assert world.task(1, 1).status == "completed"


def test_undoing_the_last_done_reopens_the_project():
    world = at_task_one(n=1)
    assert world.say("done") == ["task.done", "project.celebration", "project.story_question"]
    assert world.project(1).status == "submitted"
    assert world.say("galat") == ["undo.done"]
    assert world.project(1).status == "in_progress"
    assert world.task(1, 1).status == "not_started"
    assert world.effects(fx.UndoStatus)[0].reopen_project is True


def test_undoing_a_help_request_withdraws_it():
    world = at_task_one()
    world.say("madad chahiye")
    assert world.say("0") == ["undo.done"]
    [undo] = world.effects(fx.UndoStatus)
    assert (undo.task_id, undo.status, undo.withdraw_help) == (101, "not_started", True)


def test_every_recorded_change_says_what_it_understood():
    world = at_task_one(optional_at=(2,))
    world.say("in progress")
    reply = world.last()
    assert reply.key == "task.in_progress"
    assert reply.params["position"] == 1
    assert reply.params["title"]["en"] == "Task 1 of Retell the Tale"
    assert world.say("done") == ["task.done", "task.prompt"]
    assert world.sent[-2].params["title"]["en"] == "Task 1 of Retell the Tale"
    assert world.say("skip") == ["task.skipped", "task.prompt"]
    assert world.sent[-2].params["position"] == 2


# --- stop, pause, later ------------------------------------------------------------------------

@pytest.mark.parametrize("reply", ["mujhe aur message mat bhejna", "no more messages please",
                                   "delete my number", "बंद करा", "STOP"])
def test_a_long_or_polite_stop_unsubscribes(reply):
    world = at_task_one()
    assert world.say(reply) == ["opted_out"]
    assert world.opted_out


@pytest.mark.parametrize("reply", ["थांबा सर", "don't stop", "stop the work on task 2 for now"])
def test_wait_or_dont_stop_never_unsubscribes(reply):
    world = at_task_one()
    world.say(reply)
    assert not world.opted_out


@pytest.mark.parametrize(("reply", "days"), [("reminders band karo ek hafte", 7),
                                             ("pause for 2 weeks", 14),
                                             ("10 din reminder mat bhejna", 10),
                                             ("pause", 7)])
def test_pause_takes_the_duration_given(reply, days):
    world = at_task_one()
    assert world.say(reply) == ["paused"]
    assert world.effects(fx.Pause)[0].days == days
    assert world.last().params["date"] == TODAY + dt.timedelta(days=days)
    assert not world.opted_out


@pytest.mark.parametrize(("reply", "days"), [("kal", 1), ("parso karenge", 2),
                                             ("next week", 7), ("after the exams", 1)])
def test_later_postpones_the_task_by_what_was_said(reply, days):
    world = at_task_one()
    assert world.say(reply) == ["task.postponed"]
    assert world.effects(fx.PostponeTask)[0].days == days


# --- what was not understood is kept -------------------------------------------------------------

def test_a_reply_not_understood_is_kept_with_what_was_read():
    world = at_task_one()
    assert world.say("aaj school me inspection hai") == ["not_understood.task"]
    [kept] = world.effects(fx.KeepUnread)
    assert (kept.text, kept.reason, kept.project_id) == (
        "aaj school me inspection hai", "not_understood", 1)


def test_a_taught_phrase_is_understood_at_once():
    world = at_task_one()
    world.say("kam zala nahi re baba")
    assert world.task(1, 1).status == "in_progress"  # a negation: never done
    world.taught = (TaughtPhrase("mr", "jhakaas", Name.DONE),)
    assert world.say("jhakaas")[0] == "task.done"
    assert world.task(1, 2).status == "not_started"


# --- consent before praise ----------------------------------------------------------------------

def test_a_story_is_praised_as_inspiring_only_once_the_headmaster_agrees_to_share_it():
    from bot.language.messages import render

    def read(reply: fx.Reply) -> str:
        return render(reply.key, reply.params, list(reply.options), "en").text

    world = at_task_one(n=1)
    world.say("done")
    assert world.say("Parents now come to the reading corner") == [
        "project.story_saved", "project.share_question"]
    assert "inspire" not in read(world.sent[-2]) + read(world.sent[-1])
    assert world.say("2") == ["project.share_private"]
    assert "inspire" not in read(world.last())

    world = at_task_one(n=1)
    world.say("done")
    world.say("Parents now come to the reading corner")
    assert world.say("1") == ["project.share_thanks"]
    assert "inspire" in read(world.last())
