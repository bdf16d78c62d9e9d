"""A message as an SMS phone gets it: the whole text when it fits the recipient's segment
budget, else shortened, one step at a time, in the order issue 11 set.

A headmaster's message fits in 3 SMS segments, an officer's in 6. The steps, each kept for
the ones after it:
  1. typographic quotes and spaces made plain (GSM-7, when that is all that stood in its way);
  2. the task's how-to (its description) left out;
  3. the project's objective left out;
  4. a task's photo request said in a few words (it is never left out);
  5. a task list given as the task numbers under each status;
  6. the lists a message holds (tasks, schools, photos, names, menu lines) shown in part,
     each ending "and N more": fewer items at each step, down to one;
  7. the shortest form of the messages that have one: an invitation in one line, a digest
     without its blocks, its most common task and who completed this week, a task list under
     "Your progress", the list of languages without dots, stories of change cut short.
Where a message says back a change it recorded ("Task 3, “Find stories”, is marked done...
Reply 0 to undo"), the title is cut short before anything else gives way (after step 1): the
task's number, what was recorded and how to undo it always stay whole.
WhatsApp text is never shortened: this is only for the SMS form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bot.language.i18n import DEFAULT_REGION
from bot.language.messages import SIMPLE, render
from bot.worker.sms import plain_for_sms, sms_cost

HEADMASTER_SEGMENTS = 3
OFFICER_SEGMENTS = 6  # an officer's digest; what is cut is one reply away ("1" lists them all)
# What officers get; everything else goes to headmasters (or to both, at their budget).
OFFICER_KEYS = frozenset({
    "digest", "digest.silent", "digest.photos", "digest.nudged", "help.alert", "help.relayed",
    "school.report", "school.not_found", "officer.menu", "officer.not_understood",
})


# Keys with a shortest form of their own (`brief` in bot/language/messages.py), the last step.
BRIEF = frozenset({"invitation", "digest", "tasks.list", "language.choose",
                   "celebration.stories"})


# Messages that say back what was recorded, by task number and title: the title is cut
# (the number stays) rather than the undo hint.
SAID_BACK = frozenset({"task.done", "task.done_send_photo", "task.in_progress",
                       "task.help_noted", "task.skipped", "task.confirm", "undo.done",
                       "task.no_such_number"})
TITLE_CUTS = (48, 32, 20, 12)


def segment_limit(key: str) -> int:
    return OFFICER_SEGMENTS if key in OFFICER_KEYS else HEADMASTER_SEGMENTS


def sms_text(key: str, params: Mapping[str, Any], options: list[str] | tuple[str, ...],
             language: str, second_language: str | None = None,
             region: str = DEFAULT_REGION) -> str:
    """The SMS body: the first candidate within the key's segment limit, else the shortest."""
    limit = segment_limit(key)
    text = ""
    for candidate in _candidates(key, params):
        text = plain_for_sms(render(key, candidate, options, language,
                                    second_language, region).numbered())
        if sms_cost(text).segments <= limit:
            break
    return text


def _candidates(key: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The parameters as they are, then with one more thing given up at each step."""
    current = dict(params)
    yield current
    if key in SAID_BACK and current.get("title"):
        for most in TITLE_CUTS:
            yield {**current, "title": _cut(current["title"], most)}
        current = {**current, "title": _cut(current["title"], TITLE_CUTS[-1])}
    for name, value in (("description", None), ("objective", None)):
        if current.get(name):
            current = {**current, name: value}
            yield current
    if current.get("photo"):
        current = {**current, "photo_short": True}
        yield current
    if key in ("tasks.list", "task.no_such_number"):
        current = {**current, "by_status": True}
        yield current
    for shown in range(_longest_list(key, current) - 1, 0, -1):
        yield {**current, "shown": shown}
    if key in BRIEF:
        yield {**current, "shown": 1, "brief": True}


def _longest_list(key: str, params: Mapping[str, Any]) -> int:
    """The most items any list of the message has (a menu's lines count as a list)."""
    lengths = [len(value) for value in params.values() if isinstance(value, list)]
    for value in params.values():  # a digest's campaigns hold lists of their own
        if isinstance(value, list):
            lengths += [len(v) for item in value if isinstance(item, Mapping)
                        for v in item.values() if isinstance(v, list)]
    if key in SIMPLE:
        lengths.append(SIMPLE[key].count("\n"))
    return max(lengths, default=0)


def _cut(title: Any, most: int) -> Any:
    """A title ({language: text} or text) cut to `most` characters, "..." marking the cut."""
    if isinstance(title, Mapping):
        return {lang: _cut(text, most) for lang, text in title.items()}
    text = str(title)
    return text if len(text) <= most else text[: most - 3].rstrip() + "..."
