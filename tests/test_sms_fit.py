"""Every message fits its SMS budget in every language, for every shipped template.

Each message key the bot can send (messages.keys(): new keys are checked as soon as they
exist) is rendered in its SMS form, numbered options included and shortened as the worker
sends it (sms_fit), with the realistic worst case: each template's longest task titles in
each language, long names, two-digit task numbers, long school names, a district's digest
with many schools. A headmaster's message must fit in 3 segments, an officer's in 6.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from bot.language.i18n import available_languages
from bot.language.messages import RENDERERS, SIMPLE, keys, render
from bot.language.sms_fit import HEADMASTER_SEGMENTS, OFFICER_SEGMENTS, segment_limit, sms_text
from bot.worker.sms import sms_cost
from flows.languages import LANGUAGES

TEMPLATES = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
             for path in sorted((SHIPPED_TEMPLATES)
                                .glob("*.yaml"))}
LANGUAGE_CODES = available_languages()

# The numbered options each key goes out with (flows/headmaster.py, flows/officer.py); a key
# not named here goes without. A task that can be skipped has the fourth.
TASK = ("option.done", "option.in_progress", "option.need_help", "option.skip")
INVITE = ("option.accept", "option.not_now", "option.details")
OPTIONS: dict[str, tuple[str, ...]] = {
    "invitation": INVITE, "invitation.reminder": INVITE, "not_understood.invitation": INVITE,
    "invitation.details": ("option.accept", "option.not_now"),
    "task.prompt": TASK, "task.reminder": TASK, "not_understood.task": TASK,
    "evidence.is_it_done": TASK, "task.cannot_skip": TASK[:3], "undo.done": TASK,
    "task.confirm": ("option.done", "option.in_progress"),
    "project.share_question": ("option.share_yes", "option.share_no"),
    "digest": ("option.silent_schools", "option.nudge", "option.photos"),
}
# Who gets each key: officers have 6 segments, headmasters 3 (a key both get counts as a
# headmaster's).
OFFICER_KEYS = {"digest", "digest.silent", "digest.photos", "digest.nudged", "help.alert",
                "help.relayed", "school.report", "school.not_found", "officer.menu",
                "officer.not_understood"}

NAME = "Sunita Pawar"
OFFICER = "Prakash More"
SCHOOL = "Zilla Parishad Primary School, Mahabaleshwar"
STORY = ("Children now retell a story every morning at assembly, and parents come to listen "
         "on Saturdays.")
OWN_TASK = {"*": "Paint a story wall near the gate with the children"}
# Worst-case values for the placeholders of one-sentence messages (messages.SIMPLE). A new
# placeholder needs a value here: the test says which.
WORST: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda t: NAME,
    "officer": lambda t: OFFICER,
    "school": lambda t: SCHOOL,
    "block": lambda t: "Mahabaleshwar",
    "code": lambda t: "27310100101",
    "position": lambda t: 12,
    "number": lambda t: 12,
    "total": lambda t: 12,
    "done": lambda t: 11,
    "count": lambda t: 120,
    "percent": lambda t: 100,
    "limit_mb": lambda t: 16,
    "date": lambda t: "2027-09-30",
    "content_type": lambda t: "application/vnd.ms-powerpoint",
    "text": lambda t: ("Please meet the cluster coordinator on Monday; she will bring forty "
                       "storybooks for your school."),
}
# Whose title a message's %(title)s is, by the words of its key; a key that names neither gets
# the longest title of all, the project's or a task's.
PROJECT_TITLE = ("invitation", "project", "celebration")
TASK_TITLE = ("task", "evidence")


def _longest(template: dict[str, Any], texts: list[dict[str, str]]) -> dict[str, str]:
    """Per language, the longest of these {language: text} maps."""
    return {lang: max((text.get(lang, text["en"]) for text in texts), key=len)
            for lang in LANGUAGE_CODES}


def _simple(key: str, template: dict[str, Any]) -> dict[str, Any]:
    names = set(re.findall(r"%\((\w+)\)", SIMPLE[key]))
    missing = names - set(WORST) - {"title"}
    assert not missing, f"{key}: add a worst-case value for {sorted(missing)} to WORST"
    params = {name: WORST[name](template) for name in names - {"title"}}
    if "title" in names:
        tasks = [task["title"] for task in template["tasks"]]
        words = set(re.split(r"[._]", key))
        if words & set(PROJECT_TITLE):
            params["title"] = template["title"]
        elif words & set(TASK_TITLE):
            params["title"] = _longest(template, tasks)
        else:
            params["title"] = _longest(template, [template["title"], *tasks])
    return params


def _tasks(template: dict[str, Any], statuses: bool = True) -> list[dict[str, Any]]:
    cycle = ("completed", "completed", "skipped", "in_progress", "not_started")
    tasks = [{"position": n, "title": task["title"], "mandatory": task.get("mandatory", True)}
             for n, task in enumerate(template["tasks"], start=1)]
    tasks += [{"position": len(tasks) + 1, "title": OWN_TASK, "mandatory": False}]
    if statuses:
        for n, task in enumerate(tasks):
            task["status"] = cycle[n % len(cycle)]
    return tasks


def _digest(template: dict[str, Any]) -> dict[str, Any]:
    """A district officer's Monday: two campaigns over 1,480 schools in eleven blocks."""
    schools = [f"ZP School {place}" for place in (
        "Mahabaleshwar", "Panchgani", "Bavdhan", "Kavathe", "Bhuinj", "Surur", "Pachwad",
        "Medha", "Kudal", "Karhar", "Wathar", "Pimpode")]
    blocks = ["Mahabaleshwar", "Khandala", "Koregaon", "Phaltan", "Jaoli", "Karad", "Patan",
              "Wai", "Satara", "Khatav", "Man"]
    first = template["tasks"][0]["title"]
    section = {"title": template["title"], "schools": 1480, "started": 1234, "completed": 312,
               "completed_this_week": schools[:8], "help": schools[3:9],
               "silent": schools, "task": {"position": 3, "title": first},
               "blocks": [{"block": b, "schools": 135, "completed": 20 + n}
                          for n, b in enumerate(blocks)]}
    other = next(t for slug, t in TEMPLATES.items() if t is not template)
    return {"name": OFFICER, "area": "Satara", "level": "district",
            "campaigns": [section, {**section, "title": other["title"]}]}


def _renderer_params(key: str, t: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Worst-case parameters for the keys with their own renderer (messages.RENDERERS)."""
    weeks = max(1, round(t["duration_days"] / 7))
    if key in ("invitation",):
        yield {"name": NAME, "title": t["title"], "objective": t["objective"],
               "tasks_total": len(t["tasks"]), "weeks": weeks}
    elif key == "invitation.details":
        yield {"title": t["title"], "objective": t["objective"],
               "tasks": _tasks(t, statuses=False)[:-1]}
    elif key == "invitation.accepted":
        yield {"title": t["title"]}
    elif key == "task.prompt":  # every task as it is asked about, at a two-digit number
        for task in t["tasks"]:
            yield {"position": 10, "total": 12, "title": task["title"],
                   "description": task.get("description"),
                   "photo": task.get("evidence") == "photo", "project_title": t["title"]}
    elif key == "task.done":
        yield {"position": 12, "done": 11, "total": 12,
               "title": _longest(t, [task["title"] for task in t["tasks"]])}
    elif key == "undo.done":
        for status in ("not_started", "in_progress", "completed"):
            yield {"position": 12, "status": status,
                   "title": _longest(t, [task["title"] for task in t["tasks"]])}
    elif key == "task.no_such_number":
        yield {"number": 99, "title": t["title"], "tasks": _tasks(t)}
    elif key == "task.next_on":
        longest = _longest(t, [task["title"] for task in t["tasks"]])
        yield {"title": longest, "date": "2027-09-30", "position": 12}
    elif key == "project.celebration":
        yield {"name": NAME, "title": t["title"]}
    elif key == "status":
        yield {"projects": [{"title": other["title"], "done": 11, "total": 12,
                             "status": "in_progress"} for other in TEMPLATES.values()][:3]}
    elif key in ("tasks.list", "evidence.which_task"):
        yield {"title": t["title"], "tasks": _tasks(t)}
    elif key == "which_project":
        yield {"projects": [{"n": n, "title": other["title"]}
                            for n, other in enumerate(TEMPLATES.values(), start=1)][:3]}
    elif key == "evidence.saved":
        yield {"count": 3, "position": 12,
               "title": _longest(t, [task["title"] for task in t["tasks"]])}
    elif key == "language.choose":
        yield {"languages": [{"n": n, "name": name}
                             for n, (_code, name) in enumerate(LANGUAGES, start=1)]}
    elif key == "digest":
        yield _digest(t)
        yield {"name": OFFICER, "area": "Mahabaleshwar", "level": "block", "campaigns": []}
    elif key == "digest.silent":
        yield {"schools": [{"name": f"{SCHOOL} {n}", "code": f"273101001{n:02d}", "days": 35}
                           for n in range(1, 31)]}
        yield {"schools": []}
    elif key == "digest.photos":
        yield {"photos": [{"school": SCHOOL, "task": 5,
                           "url": f"https://kadam.example.org/evidence/{10000 + n}/"
                                  "1767225600-3f9a1c0b7e2d4a6f8b1c"} for n in range(10)]}
    elif key == "help.alert":
        yield {"school": SCHOOL, "headmaster": NAME,
               "task": _longest(t, [task["title"] for task in t["tasks"]]),
               "text": "Teachers are on election duty all this week, what should I do?"}
    elif key == "school.report":
        yield {"school": SCHOOL, "code": "27310100101", "headmaster": NAME,
               "projects": [{"title": other["title"], "status": "in_progress", "done": 11,
                             "total": 12, "days": 14} for other in TEMPLATES.values()]}
    elif key == "broadcast":
        yield {"text": {"en": "The science fair is on Friday. Please send one photo of your "
                              "stall.",
                        "hi": "शुक्रवार को विज्ञान मेला है। कृपया अपने स्टॉल की एक फ़ोटो भेजें।"}}
    elif key == "celebration.stories":
        yield {"stories": [{"school": f"{SCHOOL} {n}", "story": STORY} for n in range(1, 6)]}
    else:
        raise AssertionError(f"{key}: tell tests/test_sms_fit.py its worst-case parameters")


def _cases() -> Iterator[Any]:
    for slug in TEMPLATES:
        for key in sorted(keys()):
            yield pytest.param(key, slug, id=f"{key}-{slug}")


def _params(key: str, template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if key in RENDERERS:
        yield from _renderer_params(key, template)
    else:
        yield _simple(key, template)


def test_the_fit_is_checked_for_every_shipped_template_and_language():
    """The checks here loop over these: found empty, they would pass having checked nothing."""
    assert sorted(TEMPLATES) == ["enrolment-drive", "retell-the-tale", "school-vision",
                                 "virtual-ptm"]
    assert sorted(LANGUAGE_CODES) == sorted(code for code, _name in LANGUAGES)


def test_every_renderer_has_worst_case_parameters():
    for key in RENDERERS:
        assert list(_renderer_params(key, next(iter(TEMPLATES.values()))))


@pytest.mark.parametrize(("key", "slug"), list(_cases()))
def test_every_message_fits_its_sms_segments_in_every_language(key, slug):
    limit = OFFICER_SEGMENTS if key in OFFICER_KEYS else HEADMASTER_SEGMENTS
    assert segment_limit(key) == limit, f"{key}: the worker's limit is not the recipient's"
    too_long = []
    for params in _params(key, TEMPLATES[slug]):
        for language in LANGUAGE_CODES:
            text = sms_text(key, params, OPTIONS.get(key, ()), language)
            cost = sms_cost(text)
            if cost.segments > limit:
                too_long.append(f"{key} in {language} for {slug}: {cost.segments} segments "
                                f"({cost.encoding}), more than {limit}:\n{text}")
    assert not too_long, "\n\n".join(too_long)


# -- the order things give way in ----------------------------------------------------------------


def _task(slug: str, key: str) -> dict[str, Any]:
    return next(task for task in TEMPLATES[slug]["tasks"] if task["key"] == key)


def test_a_photo_task_by_sms_loses_its_how_to_but_keeps_a_short_photo_request():
    task = _task("retell-the-tale", "collect-work")
    params = {"position": 5, "total": 7, "title": task["title"],
              "description": task["description"], "photo": True,
              "project_title": TEMPLATES["retell-the-tale"]["title"]}
    sms = sms_text("task.prompt", params, TASK, "ta")
    assert task["title"]["ta"] in sms and "1. முடிந்தது" in sms
    assert "புகைப்படம் அனுப்புங்கள்" in sms  # "send a photo"
    assert task["description"]["ta"] not in sms
    # WhatsApp has the room: the how-to and the whole photo request stay.
    whatsapp = render("task.prompt", params, TASK, "ta").numbered()
    assert task["description"]["ta"] in whatsapp and "முடிந்ததும்" in whatsapp


def test_an_invitation_by_sms_gives_up_the_objective_before_anything_else():
    template = TEMPLATES["retell-the-tale"]
    params = {"name": NAME, "title": template["title"], "objective": template["objective"],
              "tasks_total": 7, "weeks": 4}
    sms = sms_text("invitation", params, INVITE, "hi")
    assert NAME in sms and template["title"]["hi"] in sms and "4 सप्ताह" in sms
    assert template["objective"]["hi"] not in sms
    assert sms_cost(sms).segments <= 3
    assert template["objective"]["hi"] in render("invitation", params, INVITE, "hi").text


def test_typographic_quotes_go_first_and_alone_when_that_is_enough():
    """Kinyarwanda in plain quotes is GSM-7: 153 characters a segment, so nothing else goes."""
    template = TEMPLATES["retell-the-tale"]
    params = {"name": NAME, "title": template["title"], "objective": template["objective"],
              "tasks_total": 7, "weeks": 4}
    sms = sms_text("invitation", params, INVITE, "rw")
    assert template["objective"]["rw"] in sms and '"Inkuru mu magambo yacu"' in sms
    assert sms_cost(sms).encoding == "GSM-7"


def test_a_long_task_list_by_sms_gives_each_status_its_task_numbers():
    template = TEMPLATES["virtual-ptm"]
    sms = sms_text("tasks.list", {"title": template["title"], "tasks": _tasks(template)}, (),
                   "te")
    assert "పూర్తయింది: 1, 2, 6, 7" in sms  # done: 1, 2, 6, 7
    assert "task 2 done" in sms and sms_cost(sms).segments <= 3
