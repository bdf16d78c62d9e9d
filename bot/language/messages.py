"""Every message Kadam sends, by key, rendered in the recipient's language at send time.

Flows and the engine emit keys and parameters; this module turns them into text through Babel.
Each sentence is one catalog entry with named placeholders, so translators see whole sentences
and can reorder them. Lists (tasks, projects) are built from whole-line entries. The officers'
messages are rendered in officer_messages.py, and the parts messages share are in parts.py.

Four parameters make a message shorter, for SMS (sms_fit.py chooses them): `photo_short`
(a task prompt's photo request in a few words), `shown` (at most that many items of each list,
then "and N more"; of a menu, that many lines), `by_status` (a task list as the task numbers
under each status) and `brief`, the shortest form of a message that has one: an invitation
in one line, a digest without its blocks, its most common task and who completed, a task
list headed "Your progress", the list of languages without dots, stories of change cut short.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_date

from bot.language import officer_messages
from bot.language.i18n import DEFAULT_REGION, Translator, _, format_params
from bot.language.parts import PROJECT_STATUS, TASK_STATUS, listed


@dataclass(frozen=True)
class Rendered:
    """A message's text and its numbered options (buttons where the channel has them)."""

    text: str
    options: list[str] = field(default_factory=list)

    def numbered(self) -> str:
        """The form every channel can show: options as "1. Done" lines under the text."""
        if not self.options:
            return self.text
        lines = [f"{n}. {label}" for n, label in enumerate(self.options, start=1)]
        return self.text + "\n\n" + "\n".join(lines)


OPTIONS = {
    "option.accept": _("Yes, let's start"),
    "option.not_now": _("Not now"),
    "option.details": _("Tell me more"),
    "option.done": _("Done"),
    "option.in_progress": _("In progress"),
    "option.need_help": _("Need help"),
    "option.skip": _("Skip"),
    "option.silent_schools": _("Silent schools"),
    "option.nudge": _("Nudge them"),
    "option.photos": _("This week's photos"),
    "option.share_yes": _("Yes, share it"),
    "option.share_no": _("No, keep it private"),
}

# Messages whose whole text is one sentence-set with placeholders.
SIMPLE = {
    "invitation.deferred": _(
        "No problem. Whenever you are ready, reply YES to start “%(title)s”."
    ),
    "task.in_progress": _(
        "Task %(position)s, “%(title)s”, is marked in progress. Reply DONE when it is "
        "finished, or 0 to undo."
    ),
    "task.help_noted": _(
        "Task %(position)s, “%(title)s”: we have noted that you need help, and your block "
        "officer will get in touch. Wrong? Reply 0 to undo."
    ),
    "task.confirm": _("Is task %(position)s, “%(title)s”, done? Reply with a number:"),
    "undo.nothing": _(
        "There is nothing to undo: I have recorded no change from you in the last 24 hours."
    ),
    "task.cannot_skip": _(
        "Task %(position)s, “%(title)s”, is a core task of this project and cannot be skipped. "
        "How is it going?"
    ),
    "task.skipped": _("Task %(position)s, “%(title)s”, is skipped. Wrong? Reply 0 to undo."),
    "task.done_send_photo": _(
        "Well done! Task %(position)s, “%(title)s”, is marked done. Please send a photo of it "
        "now (or reply SKIP if you have none). Wrong? Reply 0 to undo."
    ),
    "task.add_what": _("What task would you like to add? Write it in one line."),
    "task.added": _(
        "Added your own task %(position)s: “%(title)s”. Reply “task %(position)s done” when it "
        "is finished."
    ),
    "project.story_question": _(
        "One last question: in one line, what changed in your school because of this project?"
    ),
    # Consent before praise: whether the story may inspire others is asked next.
    "project.story_saved": _("Thank you! Your story is saved."),
    "project.story_skipped": _("That's fine. Congratulations once again!"),
    "opted_out": _(
        "You will not get any more messages from Kadam. Reply START at any time to come back."
    ),
    "opted_in": _("Welcome back, %(name)s! Reply STATUS to see where your project stands."),
    "still_opted_out": _(
        "You have stopped messages from Kadam. Reply START to receive them again."
    ),
    "no_project": _(
        "Namaste %(name)s! You have no active project right now. "
        "We will message you when your next project begins."
    ),
    "not_understood": _(
        "Sorry, I did not understand. Reply STATUS for your progress, TASKS for the task list, "
        "or MENU for everything you can do."
    ),
    "not_understood.task": _(
        "Sorry, I did not understand. How is task %(position)s, “%(title)s”, going? "
        "Reply with a number:"
    ),
    "not_understood.invitation": _(
        "Sorry, I did not understand. Would you like to start “%(title)s”? Reply with a number:"
    ),
    "evidence.type_not_accepted": _(
        "Sorry, I cannot keep this kind of file (%(content_type)s). "
        "Please send a photo, a voice note, a video or a PDF."
    ),
    "evidence.too_large": _(
        "Sorry, this file is too large to keep (the limit is %(limit_mb)s MB). "
        "Please send a smaller photo."
    ),
    "evidence.fetch_failed": _(
        "Sorry, I could not receive your file for task %(position)s. Please send it again."
    ),
    "evidence.not_accepted": _(
        "Sorry, I cannot keep the file you sent for task %(position)s: it is not a photo, "
        "a voice note, a video or a PDF. Please send one of those."
    ),
    "evidence.is_it_done": _("Is task %(position)s done? Reply with a number:"),
    "task.reminder": _(
        "A gentle reminder about task %(position)s, “%(title)s”. How is it going? "
        "Reply with a number:"
    ),
    "task.postponed": _(
        "All right. I will ask about task %(position)s again on %(date)s."
    ),
    "paused": _(
        "Reminders are paused until %(date)s. Send any message to turn them back on."
    ),
    "project.lapsed": _(
        "“%(title)s” has been quiet for a while (%(done)s of %(total)s tasks done), so we have "
        "paused it. Reply to this message at any time to pick it up again."
    ),
    "project.reopened": _("Welcome back! “%(title)s” is running again."),
    "invitation.reminder": _(
        "Namaste %(name)s! A reminder: your school is invited to “%(title)s”. Shall we start?"
    ),
    "language.set": _("Done! From now on I will write to you in English."),
    "digest.nudged": _("Done: a reminder is on its way to %(count)s headmasters."),
    "help.relayed": _("Thank you. Your reply has been sent to %(school)s."),
    "help.reply": _("Message from %(officer)s about task %(position)s: %(text)s"),
    "nudge": _(
        "Namaste %(name)s! %(officer)s asked us to check in: how is your project going? "
        "Reply STATUS to see where you are, or TASKS for the list."
    ),
    "school.not_found": _(
        "No school with code %(code)s in your area. Check the code and try again."
    ),
    "officer.menu": _(
        "Namaste %(name)s! You can reply:\n"
        "STATUS - this week's digest of your schools\n"
        "school CODE - one school's progress\n"
        "1, 2, 3 after a digest - silent schools, nudge them, photos\n"
        "STOP - stop messages, START - receive them again"
    ),
    "officer.not_understood": _(
        "Sorry, I did not understand. Reply STATUS for your digest, or school CODE for one "
        "school."
    ),
    "project.share_question": _(
        "May we share your story, with your school's name, with other schools?"
    ),
    "project.share_thanks": _("Thank you! Your story may inspire many other schools."),
    "project.share_private": _("Understood. Your story stays with us."),
    "celebration.block": _(
        "🎉 %(percent)s%% of the schools in %(block)s have completed “%(title)s”. "
        "Congratulations to every headmaster who made it happen!"
    ),
    "unregistered": _(
        "Namaste! This number is not registered with Kadam. Please ask your block education "
        "officer to add your school and phone number to the Kadam roster."
    ),
    "menu": _(
        "Namaste %(name)s! You can reply:\n"
        "STATUS - your progress\n"
        "TASKS - all tasks and their status\n"
        "task 3 done - mark a task done (also: in progress, need help, skip)\n"
        "ADD and a task - add a task of your own\n"
        "a photo with the task number - evidence for that task\n"
        "STOP - stop messages, START - receive them again"
    ),
}


def _invitation(t: Translator, p: Mapping[str, Any]) -> str:
    if p.get("brief"):  # for SMS: the facts in one line, with neither name nor objective
        return t.ngettext(
            "Namaste! Your school is invited to “%(title)s”: %(tasks_total)s tasks, about "
            "%(weeks)d week. Shall we start?",
            "Namaste! Your school is invited to “%(title)s”: %(tasks_total)s tasks, about "
            "%(weeks)d weeks. Shall we start?",
            p["weeks"],
        ) % p
    text = t.ngettext(
        "Namaste %(name)s! Your school is invited to the project “%(title)s”. "
        "%(objective)s It takes about %(weeks)d week. Tasks: %(tasks_total)s. Shall we start?",
        "Namaste %(name)s! Your school is invited to the project “%(title)s”. "
        "%(objective)s It takes about %(weeks)d weeks. Tasks: %(tasks_total)s. Shall we start?",
        p["weeks"],
    ) % {**p, "objective": p.get("objective") or ""}
    return text if p.get("objective") else re.sub(r" {2,}", " ", text)  # where it stood


def _details(t: Translator, p: Mapping[str, Any]) -> str:
    if p.get("objective"):
        head = t.gettext("“%(title)s”: %(objective)s") % p
    else:
        head = t.gettext("Tasks of “%(title)s”:") % p
    lines = listed(t, p, p["tasks"], lambda item: _task_line(t, item))
    return head + "\n" + "\n".join(lines) + "\n\n" + t.gettext("Shall we start?")


def _accepted(t: Translator, p: Mapping[str, Any]) -> str:
    return t.gettext(
        "Wonderful! “%(title)s” has started. I will send you one task at a time. "
        "Reply MENU at any time to see what you can do."
    ) % p


def _prompt(t: Translator, p: Mapping[str, Any]) -> str:
    # Whole variants rather than sentences glued together, so translators see each one.
    if p.get("photo") and p.get("photo_short"):  # for SMS, when the longer one would not fit
        text = t.gettext(
            "Task %(position)s of %(total)s: %(title)s\nPlease send a photo. Reply with a number:"
        )
    elif p.get("description") and p.get("photo"):
        text = t.gettext(
            "Task %(position)s of %(total)s: %(title)s\n%(description)s\n"
            "Please send a photo when it is done. How is it going? Reply with a number:"
        )
    elif p.get("description"):
        text = t.gettext(
            "Task %(position)s of %(total)s: %(title)s\n%(description)s\n"
            "How is it going? Reply with a number:"
        )
    elif p.get("photo"):
        text = t.gettext(
            "Task %(position)s of %(total)s: %(title)s\nPlease send a photo when it is done. "
            "How is it going? Reply with a number:"
        )
    else:
        text = t.gettext(
            "Task %(position)s of %(total)s: %(title)s\nHow is it going? Reply with a number:"
        )
    return text % p


def _done(t: Translator, p: Mapping[str, Any]) -> str:
    return t.gettext(
        "Well done! Task %(position)s, “%(title)s”, is marked done (%(done)s of %(total)s). "
        "Wrong? Reply 0 to undo."
    ) % p


def _undone(t: Translator, p: Mapping[str, Any]) -> str:
    status = t.gettext(TASK_STATUS.get(p["status"], p["status"]))
    return t.gettext(
        "Undone: task %(position)s, “%(title)s”, is back to “%(status)s”. How is it going? "
        "Reply with a number:"
    ) % {**p, "status": status}


def _no_such_task(t: Translator, p: Mapping[str, Any]) -> str:
    if p.get("by_status"):
        lines = _by_status(t, p["tasks"])
    else:
        lines = listed(t, p, p["tasks"], lambda item: _task_line(t, item))
    head = t.gettext("There is no task %(number)s in “%(title)s”. Its tasks:") % p
    return head + "\n" + "\n".join(lines)


def _next_on(t: Translator, p: Mapping[str, Any]) -> str:
    return t.gettext(
        "Your next task, “%(title)s”, comes on %(date)s. To start it early, reply %(position)s."
    ) % p


def _celebration(t: Translator, p: Mapping[str, Any]) -> str:
    return t.gettext(
        "🎉 Congratulations, %(name)s! Your school has completed “%(title)s”. "
        "Thank you for leading this change."
    ) % p


def _status(t: Translator, p: Mapping[str, Any]) -> str:
    def line(project: Mapping[str, Any]) -> str:
        values = {**project, "title": t.pick(project["title"]),
                  "status": t.gettext(PROJECT_STATUS.get(project["status"], project["status"]))}
        return t.gettext("“%(title)s”: %(done)s of %(total)s tasks done (%(status)s)") % values

    lines = listed(t, p, p["projects"], line)
    return t.gettext("Your progress:") + "\n" + "\n".join(lines)


def _task_line(t: Translator, item: Mapping[str, Any]) -> str:
    values = {"position": item["position"], "title": t.pick(item["title"])}
    if "status" not in item:
        return t.gettext("%(position)s. %(title)s") % values
    values["status"] = t.gettext(TASK_STATUS.get(item["status"], item["status"]))
    return t.gettext("%(position)s. %(title)s (%(status)s)") % values


def _task_list(t: Translator, p: Mapping[str, Any]) -> str:
    if p.get("by_status"):
        lines = _by_status(t, p["tasks"])
    else:
        lines = [_task_line(t, item) for item in p["tasks"]]
    footer = t.gettext("Reply with a task number to open it, or “task 2 done” to update it.")
    head = t.gettext("Your progress:") if p.get("brief") else t.gettext("Tasks of “%(title)s”:") % p
    return head + "\n" + "\n".join(lines) + "\n\n" + footer


def _which_project(t: Translator, p: Mapping[str, Any]) -> str:
    lines = [t.gettext("%(n)s. %(title)s") % {"n": item["n"], "title": t.pick(item["title"])}
             for item in p["projects"]]
    return t.gettext("Which project is this about? Reply with a number:") + "\n" + "\n".join(lines)


def _by_status(t: Translator, tasks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The task numbers under each status ("Done: 1, 2, 3"), in the order tasks go."""
    groups: dict[str, list[str]] = {}
    for item in tasks:
        groups.setdefault(item.get("status", "not_started"), []).append(str(item["position"]))
    lines = []
    for status in TASK_STATUS:
        if status in groups:
            label = t.gettext(TASK_STATUS[status])
            lines.append(t.gettext("%(status)s: %(positions)s") % {
                "status": label[:1].upper() + label[1:], "positions": ", ".join(groups[status])})
    return lines


def _which_task(t: Translator, p: Mapping[str, Any]) -> str:
    lines = listed(t, p, p["tasks"], lambda item: _task_line(t, item))
    return t.gettext("Which task is this for? Reply with its number:") + "\n" + "\n".join(lines)


def _evidence_saved(t: Translator, p: Mapping[str, Any]) -> str:
    return t.ngettext(
        "Thank you! %(count)d file saved for task %(position)s, “%(title)s”.",
        "Thank you! %(count)d files saved for task %(position)s, “%(title)s”.",
        p["count"],
    ) % p


STORY_BRIEF = 60  # characters of a story of change kept in its SMS form


def _language_choice(t: Translator, p: Mapping[str, Any]) -> str:
    # Each language is listed in its own script, so anyone can find theirs whatever they read.
    # Every one is always listed; for SMS ("brief") without the dots.
    form = "{n} {name}" if p.get("brief") else "{n}. {name}"
    lines = [form.format(**item) for item in p["languages"]]
    return t.gettext("Choose your language. Reply with a number:") + "\n" + "\n".join(lines)


def _broadcast(t: Translator, p: Mapping[str, Any]) -> str:
    # The state team's own words, in the person's language (or the nearest one they wrote).
    return t.pick(p["text"])


def _stories(t: Translator, p: Mapping[str, Any]) -> str:
    def line(story: Mapping[str, Any]) -> str:
        words = story["story"]
        if p.get("brief") and len(words) > STORY_BRIEF:  # the headmaster's words, cut for SMS
            words = words[:STORY_BRIEF].rsplit(" ", 1)[0] + "…"
        return t.gettext("%(school)s: “%(story)s”") % {**story, "story": words}

    lines = listed(t, p, p["stories"], line)
    return t.gettext("🎉 Stories of change from our schools this week:") + "\n" + "\n".join(
        lines)


RENDERERS: dict[str, Callable[[Translator, Mapping[str, Any]], str]] = {
    "invitation": _invitation,
    "invitation.details": _details,
    "invitation.accepted": _accepted,
    "task.prompt": _prompt,
    "task.done": _done,
    "undo.done": _undone,
    "task.no_such_number": _no_such_task,
    "task.next_on": _next_on,
    "project.celebration": _celebration,
    "status": _status,
    "tasks.list": _task_list,
    "which_project": _which_project,
    "evidence.which_task": _which_task,
    "evidence.saved": _evidence_saved,
    "language.choose": _language_choice,
    "digest": officer_messages.digest,
    "digest.silent": officer_messages.digest_silent,
    "digest.photos": officer_messages.digest_photos,
    "help.alert": officer_messages.help_alert,
    "school.report": officer_messages.school_report,
    "broadcast": _broadcast,
    "celebration.stories": _stories,
}


def keys() -> set[str]:
    return set(SIMPLE) | set(RENDERERS)


def render(key: str, params: Mapping[str, Any], options: list[str] | tuple[str, ...],
           language: str, second_language: str | None = None,
           region: str = DEFAULT_REGION) -> Rendered:
    """The text of message `key` in `language`, with its numbered option labels; numbers and
    dates as written in `region` (Settings.default_region)."""
    t = Translator(language, second_language, region)
    values = format_params(t, params)
    if isinstance(values.get("date"), str | dt.date):
        values["date"] = _date(t, values["date"])
    if key in RENDERERS:
        text = RENDERERS[key](t, values)
    elif key in SIMPLE:
        text = t.gettext(SIMPLE[key]) % values
        if values.get("shown") is not None and "\n" in text:
            # A menu by SMS keeps its greeting, its first `shown` lines and its last (how to
            # stop messages, which every message that teaches commands must say).
            head, *middle, last = text.split("\n")
            text = "\n".join([head, *middle[: values["shown"]], last])
    else:
        raise KeyError(f"unknown message key {key!r}")
    labels = [t.gettext(OPTIONS[o]) for o in options]
    return Rendered(text, labels)


def _date(t: Translator, value: str | dt.date) -> str:
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format="d MMMM", locale=t.locale)
