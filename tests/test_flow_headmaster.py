"""The headmaster's conversation as transcripts: what they say, what the bot answers and records."""

from __future__ import annotations

import datetime as dt

import pytest

from flows import effects as fx
from flows.events import Invitation
from tests.transcript import World, project


def accepted_world(**kwargs) -> World:
    world = World([project(**kwargs)])
    world.invite(1)
    world.say("yes")
    return world


def test_whole_project_from_invitation_to_story():
    world = World([project(n=3, photo_at=(3,))])
    assert world.invite(1) == ["invitation"]
    assert world.last().options == ("option.accept", "option.not_now", "option.details")

    assert world.say("1") == ["invitation.accepted", "task.prompt"]
    assert world.project(1).status == "started"
    assert world.last().params["position"] == 1

    assert world.say("ho gaya") == ["task.done", "task.prompt"]
    assert world.task(1, 1).status == "completed"
    assert world.project(1).status == "in_progress"

    assert world.say("2") == ["task.in_progress"]
    assert world.task(1, 2).status == "in_progress"
    assert world.say("done 👍") == ["task.done", "task.prompt"]

    # Task 3 wants a photo: the bot asks for it, and the photo closes the project.
    assert world.last().params["photo"] is True
    assert world.say("✅") == ["task.done_send_photo"]
    assert world.say(media=("image/jpeg",)) == [
        "evidence.saved", "project.celebration", "project.story_question"]
    assert world.project(1).status == "submitted"
    assert world.effects(fx.AttachEvidence)[0].task_id == 103

    assert world.say("Children now tell stories at assembly") == [
        "project.story_saved", "project.share_question"]
    assert world.stories[1] == "Children now tell stories at assembly"
    assert world.say("1") == ["project.share_thanks"]
    assert world.shared[1] is True
    assert world.state.name == "idle"


def test_a_story_stays_private_unless_the_headmaster_agrees():
    world = accepted_world(n=1)
    world.say("done")
    world.say("Parents come to school more often")
    assert world.say("no") == ["project.share_private"]
    assert world.shared[1] is False


@pytest.mark.parametrize("reply", ["yes", "Haan ji", "1", "👍", "१", "ok sir", "yego", "ndiyo"])
def test_invitation_accepted_however_typed(reply):
    world = World([project()])
    world.invite(1)
    assert world.say(reply)[0] == "invitation.accepted"


@pytest.mark.parametrize("reply", ["not now", "2", "nahi", "❌", "later"])
def test_invitation_not_now(reply):
    world = World([project()])
    world.invite(1)
    assert world.say(reply) == ["invitation.deferred"]
    assert world.project(1).status == "invited"
    assert world.effects(fx.DeferInvitation)
    # ...and a later yes still starts it.
    assert world.say("yes")[0] == "invitation.accepted"


def test_invitation_details_then_accept():
    world = World([project(n=4)])
    world.invite(1)
    assert world.say("3") == ["invitation.details"]
    assert len(world.last().params["tasks"]) == 4
    assert world.say("details please") == ["invitation.details"]
    assert world.say("1")[0] == "invitation.accepted"


def test_need_help_records_the_words():
    world = accepted_world()
    assert world.say("need help, teachers are on election duty") == ["task.help_noted"]
    help_ = world.effects(fx.RequestHelp)[0]
    assert help_.task_id == 101 and "election duty" in help_.text
    assert world.say("3") == ["task.help_noted"]


def test_skip_only_optional_tasks():
    world = accepted_world(n=3, optional_at=(2,))
    assert world.say("skip") == ["task.cannot_skip"]
    assert world.task(1, 1).status == "not_started"
    world.say("done")
    assert world.last().options[-1] == "option.skip"
    assert world.say("4") == ["task.skipped", "task.prompt"]
    assert world.task(1, 2).status == "skipped"


def test_task_named_by_number_in_any_script():
    world = accepted_world(n=4)
    assert world.say("task ३ ho gaya sir") == ["task.done"]
    assert world.task(1, 3).status == "completed"
    assert world.task(1, 1).status == "not_started"
    # the prompt in hand is still task 1
    assert world.say("done")[0] == "task.done"
    assert world.task(1, 1).status == "completed"


def test_unknown_task_number():
    world = accepted_world(n=3)
    assert world.say("task 9 done") == ["task.no_such_number"]


def test_photo_with_caption_number_goes_to_that_task():
    world = accepted_world(n=4)
    assert world.say("2", media=("image/jpeg",))[0] == "evidence.saved"
    assert world.effects(fx.AttachEvidence)[0].task_id == 102


def test_photo_goes_to_task_in_hand_and_asks_if_done():
    world = accepted_world(n=3)
    assert world.say(media=("image/png",)) == ["evidence.saved", "evidence.is_it_done"]
    assert world.say("1") == ["task.done", "task.prompt"]


def test_voice_note_and_document_are_evidence_but_not_other_files():
    world = accepted_world(n=3)
    world.say(media=("audio/ogg",))
    world.say(media=("application/pdf",))
    kinds = [e.kind for e in world.effects(fx.AttachEvidence)]
    assert kinds == ["audio", "document"]
    assert world.say(media=("text/vcard",)) == ["evidence.type_not_accepted"]


@pytest.mark.parametrize("declared", [
    "image/svg+xml", "text/html", "image/gif",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
])
def test_a_file_declared_as_something_kadam_does_not_keep_is_refused_at_once(declared):
    """An SVG drawing can carry script; Word files, GIFs and web pages are not evidence."""
    world = accepted_world(n=3)
    assert world.say(media=(declared,)) == ["evidence.type_not_accepted"]
    assert world.last().params["content_type"] == declared
    assert not world.effects(fx.AttachEvidence)


@pytest.mark.parametrize("declared, kind", [
    ("image/jpeg", "photo"), ("image/heic", "photo"), ("audio/ogg; codecs=opus", "audio"),
    ("audio/amr", "audio"), ("audio/mpeg", "audio"), ("audio/mp4", "audio"),
    ("video/mp4", "video"), ("video/3gpp", "video"), ("application/pdf", "document"),
])
def test_what_phones_send_is_taken_as_evidence_until_its_bytes_are_read(declared, kind):
    world = accepted_world(n=3)
    assert world.say(media=(declared,))[0] == "evidence.saved"
    assert [e.kind for e in world.effects(fx.AttachEvidence)] == [kind]


def test_status_and_task_list():
    world = accepted_world(n=3)
    world.say("done")
    assert world.say("status") == ["status"]
    assert world.last().params["projects"][0]["done"] == 1
    assert world.say("tasks") == ["tasks.list"]
    statuses = [t["status"] for t in world.last().params["tasks"]]
    assert statuses == ["completed", "not_started", "not_started"]


def test_add_own_task_in_one_message_and_in_two():
    world = accepted_world(n=2)
    assert world.say("add Paint a story wall in class 3") == ["task.added"]
    assert world.project(1).tasks[-1].title == {"*": "Paint a story wall in class 3"}
    assert world.say("add") == ["task.add_what"]
    assert world.say("Invite the SMC chair") == ["task.added"]
    assert len(world.project(1).tasks) == 4
    # own tasks do not hold back the celebration
    world.say("1")
    assert world.say("1")[-1] == "project.story_question"


def test_stop_and_start():
    world = accepted_world()
    assert world.say("STOP") == ["opted_out"]
    assert world.opted_out
    assert world.say("done") == ["still_opted_out"]
    assert world.task(1, 1).status == "not_started"
    assert world.invite(1) == []  # nothing is pushed to someone who opted out
    assert world.say("start") == ["opted_in"]
    assert not world.opted_out


@pytest.mark.parametrize("text", ["asdfgh", "what is this", "🤷"])
def test_never_silent(text):
    world = accepted_world()
    replies = world.say(text)
    assert replies == ["not_understood.task"]
    assert world.last().options[0] == "option.done"
    idle = World([project(status="started")])
    assert idle.say(text) == ["not_understood"]


def test_menu():
    world = accepted_world()
    assert world.say("menu") == ["menu"]
    assert world.say("help") == ["menu"]


def test_two_projects_ask_which_one_when_it_matters():
    world = World([project(1, status="started", title="Retell the Tale"),
                   project(2, status="started", title="Enrolment drive")])
    assert world.say("tasks") == ["which_project"]
    assert world.state.name == "which_project"
    assert world.say("2") == ["tasks.list"]
    assert world.last().params["title"]["en"] == "Enrolment drive"
    # a prompt pins the project: "done" then needs no question
    world.due(1, 101)
    assert world.say("done")[0] == "task.done"
    assert world.task(1, 1).status == "completed"
    # adding a task always asks when two projects run
    world.say("status")
    assert world.say("add Clean the library") == ["which_project"]
    assert world.say("1") == ["task.added"]
    assert world.project(1).tasks[-1].title == {"*": "Clean the library"}


def test_photo_with_no_task_in_hand_asks_which_task():
    world = World([project(status="started")])
    assert world.say(media=("image/jpeg",)) == ["evidence.which_task"]
    assert world.say("2")[0] == "evidence.saved"
    assert world.effects(fx.AttachEvidence)[0].task_id == 102


def test_next_task_not_yet_due_says_when():
    world = World([project(n=2, due_every=7)])
    world.invite(1)
    world.say("yes")
    assert world.say("done") == ["task.done", "task.next_on"]
    assert world.last().params["position"] == 2
    # the headmaster may start it early by its number
    assert world.say("2") == ["task.prompt"]


def test_task_due_trigger_prompts_and_late_done_reaches_it():
    world = World([project(n=3, status="started", due_every=7)])
    assert world.due(1, 102) == ["task.prompt"]
    world.say("hi")  # anything in between
    assert world.say("zala")[0] == "task.done"
    assert world.task(1, 2).status == "completed"


def test_photo_task_skip_photo_moves_on():
    world = accepted_world(n=2, photo_at=(1,))
    assert world.say("done") == ["task.done_send_photo"]
    assert world.say("skip") == ["task.prompt"]


def test_new_invitation_while_a_task_is_in_hand():
    world = World([project(1, n=3), project(2, n=2, title="Virtual PTM")])
    world.invite(1)
    world.say("yes")
    assert world.invite(2) == ["invitation"]
    assert world.say("done") == ["task.done", "task.prompt"]  # "done" is about the task
    assert world.task(1, 1).status == "completed"
    assert world.say("haan") == ["invitation.accepted", "task.prompt"]  # "yes" accepts
    assert world.project(2).status == "started"
    assert world.task(1, 2).status == "not_started"


# --- the pace: reminders, later, pause, lapse ---------------------------------------------------


def test_reminder_nudges_the_open_task_and_numbers_still_answer_it():
    world = World([project(n=3, status="started")])
    world.due(1, 101)
    assert world.remind(1, 101) == ["task.reminder"]
    assert world.effects(fx.MarkReminded)[0].task_id == 101
    assert world.last().options[0] == "option.done"
    assert world.say("1") == ["task.done", "task.prompt"]
    # nothing to nudge about a task that is done, or for someone who opted out
    assert world.remind(1, 101) == []
    world.say("stop")
    assert world.remind(1, 102) == []


@pytest.mark.parametrize("reply", ["later", "kal", "tomorrow", "बाद में", "udya"])
def test_later_moves_the_task_a_day(reply):
    world = accepted_world(n=3)
    assert world.say(reply) == ["task.postponed"]
    postponed = world.effects(fx.PostponeTask)[0]
    assert (postponed.task_id, postponed.days) == (101, 1)
    assert world.last().params["date"] == world.today + dt.timedelta(days=1)


def test_pause_stops_reminders_and_anything_resumes_them():
    world = accepted_world(n=3)
    assert world.say("pause") == ["paused"]
    assert world.paused and world.effects(fx.Pause)[0].days == 7
    assert world.say("status") == ["status"]
    assert not world.paused


def test_a_lapsed_project_is_reopened_by_any_reply():
    world = accepted_world(n=3)
    assert world.lapse(1) == ["project.lapsed"]
    assert world.project(1).status == "lapsed"
    assert world.say("sorry, I was busy") == ["project.reopened", "task.prompt"]
    assert world.project(1).status == "in_progress"
    world.lapse(1)
    assert world.say("task 2 done") == ["project.reopened", "task.done"]
    assert world.task(1, 2).status == "completed"


def test_invitation_reminder():
    world = World([project()])
    world.invite(1)
    assert world._turn(Invitation(1, again=True)) == ["invitation.reminder"]
    assert world.effects(fx.InvitationSent)[-1].again
    assert world.say("yes")[0] == "invitation.accepted"


# --- language ---------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["language", "भाषा", "bhasha", "ururimi", "lugha", "LANGUAGE?"])
def test_choosing_a_language_by_number(word):
    world = accepted_world(n=3)
    assert world.say(word) == ["language.choose"]
    names = [item["name"] for item in world.last().params["languages"]]
    assert names[:3] == ["English", "हिन्दी", "मराठी"] and "தமிழ்" in names
    assert world.say("3") == ["language.set"]
    assert world.language == "mr"
    # the task in hand is still in hand
    assert world.say("1")[0] == "task.done"


def test_choosing_a_language_by_name():
    world = accepted_world(n=3)
    assert world.say("language marathi") == ["language.set"]
    assert world.language == "mr"
    world.say("भाषा")
    assert world.say("हिंदी") == ["language.set"] and world.language == "hi"


def test_an_own_task_title_may_contain_command_words():
    world = accepted_world(n=2)
    world.say("add")
    assert world.say("Update the attendance list") == ["task.added"]
    assert world.project(1).tasks[-1].title == {"*": "Update the attendance list"}
