"""Project templates: the schema check, versioned loading, the CLI and the shipped templates."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from storage import templates
from storage.db import Database
from storage.models import Template, TemplateTask
from storage.templates import Problem

TEMPLATES = SHIPPED_TEMPLATES
SHIPPED = sorted(TEMPLATES.glob("*.yaml"))
DROP = object()  # in an edit: remove the field


def good() -> dict[str, Any]:
    """A small valid template in English and Hindi; each bad case below breaks one thing."""
    return {
        "slug": "retell-the-tale",
        "category": "defined",
        "duration_days": 28,
        "title": {"en": "Retell the Tale", "hi": "कहानी अपनी ज़ुबानी"},
        "objective": {"en": "Every child retells a story.", "hi": "हर बच्चा कहानी सुनाए।"},
        "settings": {"reminder_after_days": 3, "send_time": "08:30"},
        "tasks": [
            {
                "key": "plan",
                "day": 0,
                "title": {"en": "Brief your teachers", "hi": "शिक्षकों को बताएँ"},
                "description": {"en": "Half an hour is enough.", "hi": "आधा घंटा काफ़ी है।"},
                "resources": [{"title": "DIKSHA", "url": "https://diksha.gov.in"}],
            },
            {
                "key": "showcase",
                "day": 24,
                "title": {"en": "Hold the showcase", "hi": "कार्यक्रम करें"},
                "mandatory": False,
                "evidence": "photo",
            },
        ],
    }


def edited(*changes: tuple[str, Any]) -> dict[str, Any]:
    """good() with ("tasks.1.evidence", "video")-style changes applied; DROP deletes."""
    document = good()
    for dotted, value in changes:
        *parents, last = dotted.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        if value is DROP:
            del target[key]
        else:
            target[key] = value
    return document


def error_paths(document: Any) -> list[str]:
    return [problem.path for problem in templates.validate(document) if problem.is_error]


# -- validation --------------------------------------------------------------------------------


def test_good_document_has_no_problems() -> None:
    assert templates.validate(good()) == []


EN_HI = ("languages", ["en", "hi"])
BAD = [
    ("slug with spaces", [("slug", "Retell Tale")], "slug"),
    ("slug missing", [("slug", DROP)], "slug"),
    ("unknown category", [("category", "advanced")], "category"),
    ("zero duration", [("duration_days", 0)], "duration_days"),
    ("duration given as yes", [("duration_days", True)], "duration_days"),
    ("title missing", [("title", DROP)], "title"),
    ("title as plain text", [("title", "Retell the Tale")], "title"),
    ("title without en", [("title.en", DROP)], "title.en"),
    ("unknown language", [("title.xx", "kahani")], "title.xx"),
    ("language not in Babel's spelling", [("title.EN", "Retell")], "title.EN"),
    ("false language", [("objective", {"en": "x", "hi": "y", False: "z"})], "objective.False"),
    ("blank objective", [("objective.hi", "  ")], "objective.hi"),
    ("no tasks", [("tasks", [])], "tasks"),
    ("task not a mapping", [("tasks.1", "call the parents")], "tasks[1]"),
    ("duplicate key", [("tasks.1.key", "plan")], "tasks[1].key"),
    ("key with a space", [("tasks.0.key", "Plan A")], "tasks[0].key"),
    ("key missing", [("tasks.0.key", DROP)], "tasks[0].key"),
    ("day after the end", [("tasks.1.day", 29)], "tasks[1].day"),
    ("negative day", [("tasks.0.day", -1)], "tasks[0].day"),
    ("day as text", [("tasks.0.day", "3")], "tasks[0].day"),
    ("video evidence", [("tasks.1.evidence", "video")], "tasks[1].evidence"),
    ("mandatory as text", [("tasks.0.mandatory", "yes")], "tasks[0].mandatory"),
    ("task title without en", [("tasks.1.title.en", DROP)], "tasks[1].title.en"),
    ("description without en", [("tasks.0.description.en", DROP)], "tasks[0].description.en"),
    ("misspelt task field", [("tasks.0.evidense", "photo")], "tasks[0].evidense"),
    ("misspelt template field", [("titel", {"en": "x"})], "titel"),
    ("ftp resource", [("tasks.0.resources.0.url", "ftp://x.org")], "tasks[0].resources[0].url"),
    ("resource untitled", [("tasks.0.resources.0.title", DROP)], "tasks[0].resources[0].title"),
    ("resources not a list", [("tasks.0.resources", "https://x.org")], "tasks[0].resources"),
    ("languages without en", [("languages", ["hi"])], "languages"),
    ("declared hi missing", [EN_HI, ("tasks.1.title.hi", DROP)], "tasks[1].title"),
    ("undeclared mr", [EN_HI, ("title.mr", "गोष्ट")], "title.mr"),
    ("unquoted send time", [("settings.send_time", 600)], "settings.send_time"),
    ("reminder too late", [("settings.reminder_after_days", 40)], "settings.reminder_after_days"),
    ("unknown setting", [("settings.quiet_hours", "21-07")], "settings.quiet_hours"),
]


@pytest.mark.parametrize(("changes", "path"), [case[1:] for case in BAD], ids=[c[0] for c in BAD])
def test_bad_document_reports_exactly_the_bad_field(changes: list[Any], path: str) -> None:
    assert error_paths(edited(*changes)) == [path]


@pytest.mark.parametrize("document", [None, [], "slug: x"], ids=["empty", "list", "text"])
def test_document_that_is_not_a_mapping(document: Any) -> None:
    assert error_paths(document) == ["document"]


def test_messages_say_what_is_wrong() -> None:
    problems = templates.validate(
        edited(("title.en", DROP), ("tasks.1.evidence", "video"), ("tasks.1.day", 29))
    )
    assert [str(problem) for problem in problems] == [
        "title.en: missing",
        "tasks[1].day: must be between 0 and 28 (got 29)",
        "tasks[1].evidence: must be one of none, photo (got 'video')",
    ]
    duplicate = templates.validate(edited(("tasks.1.key", "plan")))
    assert str(duplicate[0]) == "tasks[1].key: duplicate 'plan' (first at tasks[0])"


def test_every_error_is_collected_not_just_the_first() -> None:
    document = edited(
        ("slug", "Retell Tale"),
        ("objective.en", DROP),
        ("tasks.0.key", "Plan A"),
        ("tasks.0.resources.0.url", "diksha.gov.in"),
        ("tasks.1.evidence", "video"),
        ("settings.send_time", "8.30"),
    )
    assert error_paths(document) == [
        "slug",
        "objective.en",
        "tasks[0].key",
        "tasks[0].resources[0].url",
        "tasks[1].evidence",
        "settings.send_time",
    ]


def test_missing_translation_is_a_note_not_an_error() -> None:
    problems = templates.validate(edited(("tasks.1.title.hi", DROP)))
    assert problems == [Problem("tasks[1].title", "no hi", is_error=False)]


def test_long_sms_title_and_out_of_order_day_are_notes() -> None:
    problems = templates.validate(
        edited(("tasks.1.day", 0), ("tasks.0.day", 5), ("tasks.1.title.en", "x" * 91))
    )
    assert [(p.path, p.is_error) for p in problems] == [
        ("tasks[1].day", False),
        ("tasks[1].title.en", False),
    ]


def test_broken_yaml_names_the_line() -> None:
    with pytest.raises(templates.TemplateSyntaxError, match="line 3"):
        templates.parse("slug: x\ntitle:\n  en: Retell: the tale\n")


def test_a_field_given_twice_is_refused_rather_than_overwritten() -> None:
    with pytest.raises(templates.TemplateSyntaxError, match="line 3.*'hi' appears twice"):
        templates.parse("title:\n  hi: एक\n  hi: दो\n")


def test_unquoted_send_time_is_caught() -> None:
    # YAML 1.1 reads 10:00 as the number 600; the check must not let that through as a time.
    document = good()
    document["settings"] = templates.parse("send_time: 10:00\n")
    assert error_paths(document) == ["settings.send_time"]


# -- the shipped templates ---------------------------------------------------------------------


def test_the_four_templates_are_shipped() -> None:
    names = [path.name for path in SHIPPED]
    assert names == [
        "enrolment-drive.yaml",
        "retell-the-tale.yaml",
        "school-vision.yaml",
        "virtual-ptm.yaml",
    ]


@pytest.mark.parametrize("path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_shipped_template_is_clean_in_english_and_hindi(path: Path) -> None:
    document = templates.parse(path.read_text(encoding="utf-8"))
    assert templates.validate(document) == []  # no errors, and no notes either
    assert document["slug"] == path.stem
    assert 4 <= len(document["tasks"]) <= 8
    texts = [document["title"], document["objective"]]
    texts += [task["title"] for task in document["tasks"]]
    texts += [task["description"] for task in document["tasks"]]
    for text in texts:
        assert text["en"].strip() and text["hi"].strip()
        assert any("\u0900" <= char <= "\u097f" for char in text["hi"])  # Devanagari
    assert any(task.get("evidence") == "photo" for task in document["tasks"])


def test_retell_the_tale_follows_the_guide() -> None:
    document = templates.parse((TEMPLATES / "retell-the-tale.yaml").read_text(encoding="utf-8"))
    assert document["duration_days"] == 28
    assert [task["key"] for task in document["tasks"]] == [
        "brief-teachers",
        "parents-role",
        "find-stories",
        "ways-to-retell",
        "collect-work",
        "stay-in-touch",
        "showcase",
    ]
    assert document["tasks"][-1]["evidence"] == "photo"


# -- storing versions --------------------------------------------------------------------------


def count_templates(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Template)) or 0


def test_load_stores_version_one_with_tasks_in_file_order(db: Database) -> None:
    document = good()
    template_id, version, created = templates.load(db, document)
    assert (version, created) == (1, True)
    with db.transaction() as session:
        row = session.get_one(Template, template_id)
        assert (row.slug, row.category, row.duration_days) == ("retell-the-tale", "defined", 28)
        assert row.title == document["title"]
        assert row.document == document
        assert row.digest == templates.digest(document)
        tasks = [(t.position, t.key, t.day, t.mandatory, t.evidence) for t in row.tasks]
        assert tasks == [(1, "plan", 0, True, "none"), (2, "showcase", 24, False, "photo")]
        assert row.tasks[0].resources == [{"title": "DIKSHA", "url": "https://diksha.gov.in"}]
        assert row.tasks[1].description == {}
        assert row.tasks[1].title["hi"] == "कार्यक्रम करें"


def test_loading_the_same_template_again_changes_nothing(db: Database) -> None:
    template_id, _, _ = templates.load(db, good())
    # The same content with its fields in another order is still the same template.
    reordered = dict(reversed(list(copy.deepcopy(good()).items())))
    assert templates.load(db, reordered) == (template_id, 1, False)
    assert count_templates(db) == 1


def test_a_changed_template_becomes_version_two_and_version_one_is_kept(db: Database) -> None:
    first_id, _, _ = templates.load(db, good())
    changed = edited(("tasks.0.title.en", "Brief all your teachers"), ("tasks.1.day", 20))
    second_id, version, created = templates.load(db, changed)
    assert (version, created) == (2, True) and second_id != first_id
    with db.transaction() as session:
        newest = templates.latest(session, "retell-the-tale")
        assert newest is not None and newest.id == second_id
        assert newest.tasks[0].title["en"] == "Brief all your teachers"
        old_tasks = session.scalars(
            select(TemplateTask).where(TemplateTask.template_id == first_id)
        ).all()
        assert [(t.title["en"], t.day) for t in old_tasks] == [
            ("Brief your teachers", 0),
            ("Hold the showcase", 24),
        ]
        assert templates.latest(session, "no-such-template") is None


def test_an_invalid_template_is_not_stored(db: Database) -> None:
    with pytest.raises(templates.InvalidTemplate) as raised:
        templates.load(db, edited(("tasks.1.evidence", "video")))
    assert [problem.path for problem in raised.value.problems] == ["tasks[1].evidence"]
    assert count_templates(db) == 0


# -- the command line --------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_says_ok_with_task_count_and_languages() -> None:
    path = str(TEMPLATES / "retell-the-tale.yaml")
    result = CliRunner().invoke(main, ["template", "validate", path])
    assert result.exit_code == 0, result.output
    assert (f"{path}: ok (7 tasks, languages: en, hi, mr, bn, gu, kn, ta, te, pa, or, as, rw, "
            "sw, fr)") in result.output


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_templates_speak_every_language_kadam_offers(path: Path) -> None:
    """A headmaster reads the project in their own language, whichever of the 14 it is: no
    title, objective or task falls back to English."""
    from flows.languages import LANGUAGES

    offered = [code for code, _name in LANGUAGES]
    document = templates.parse(path.read_text(encoding="utf-8"))
    assert templates.languages(document) == offered
    texts = [("title", document["title"]), ("objective", document["objective"])]
    for task in document["tasks"]:
        texts += [(f"{task['key']}.title", task["title"]),
                  (f"{task['key']}.description", task["description"])]
    for where, text in texts:
        assert sorted(text) == sorted(offered), where
        assert all(value.strip() for value in text.values()), where
        # English words left in a translation would mean it was never translated.
        assert len(set(text.values())) == len(text), (where, text)
    assert not [p for p in templates.validate(document)], path.name


def test_validate_lists_every_bad_field_and_exits_1(tmp_path: Path) -> None:
    text = (TEMPLATES / "retell-the-tale.yaml").read_text(encoding="utf-8")
    text = text.replace("evidence: photo", "evidence: video").replace("day: 24", "day: 30")
    path = write(tmp_path, "bad.yaml", text)
    result = CliRunner().invoke(main, ["template", "validate", path])
    assert result.exit_code == 1
    assert "tasks[4].evidence: must be one of none, photo (got 'video')" in result.output
    assert "tasks[6].evidence: must be one of none, photo (got 'video')" in result.output
    assert "tasks[6].day: must be between 0 and 28 (got 30)" in result.output


def test_validate_reports_broken_yaml_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "slug: x\ntasks:\n  - key: [plan\n")
    result = CliRunner().invoke(main, ["template", "validate", path])
    assert result.exit_code == 1
    assert "invalid YAML at line 4" in result.output


def test_load_stores_then_skips_unchanged_then_versions(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db.url)
    runner = CliRunner()
    files = [str(path) for path in SHIPPED]

    result = runner.invoke(main, ["template", "load", *files])
    assert result.exit_code == 0, result.output
    assert "loaded retell-the-tale version 1 (7 tasks)" in result.output
    assert count_templates(db) == 4

    result = runner.invoke(main, ["template", "load", *files])
    assert result.exit_code == 0, result.output
    assert "retell-the-tale unchanged, version 1" in result.output
    assert count_templates(db) == 4

    text = (TEMPLATES / "virtual-ptm.yaml").read_text(encoding="utf-8")
    changed = write(tmp_path, "virtual-ptm.yaml", text.replace("day: 14", "day: 15"))
    result = runner.invoke(main, ["template", "load", changed])
    assert result.exit_code == 0, result.output
    assert "loaded virtual-ptm version 2 (8 tasks)" in result.output


def test_load_stores_nothing_when_any_file_is_invalid(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db.url)
    bad = write(tmp_path, "bad.yaml", "slug: bad\ncategory: advanced\n")
    result = CliRunner().invoke(main, ["template", "load", str(SHIPPED[0]), bad])
    assert result.exit_code == 1
    assert "category: must be one of" in result.output
    assert "nothing loaded" in result.output
    assert count_templates(db) == 0
