"""The catalogs: complete, placeholder-safe, SMS-sized, and rendering in full.

Hindi and Marathi, and every other language a state programme (Bengali, Gujarati, Kannada,
Tamil, Telugu, Punjabi, Odia, Assamese), Rwanda (Kinyarwanda, French) or Kenya (Swahili) works
in, are held to the same standard.

Every check is driven by the template (bot/locales/messages.pot) and by the renderers, so a new
message key or msgid is covered without touching this file (except SAMPLES for a new renderer).
"""

from __future__ import annotations

import datetime as dt
import re
from gettext import c2py
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from bot.language import messages
from bot.language.i18n import Translator
from flows.intents import Name, parse

LOCALES = Path(__file__).resolve().parent.parent / "bot" / "locales"
LANGUAGES = ("hi", "mr")
NEW_LANGUAGES = ("bn", "gu", "kn", "ta", "te", "pa", "or", "as", "rw", "sw", "fr")
ALL_LANGUAGES = LANGUAGES + NEW_LANGUAGES
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?([a-zA-Z])")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
BENGALI_ASSAMESE = re.compile(r"[\u0980-\u09FF]")
SCRIPTS = {"hi": DEVANAGARI, "mr": DEVANAGARI, "bn": BENGALI_ASSAMESE, "as": BENGALI_ASSAMESE,
           "pa": re.compile(r"[\u0A00-\u0A7F]"), "gu": re.compile(r"[\u0A80-\u0AFF]"),
           "or": re.compile(r"[\u0B00-\u0B7F]"), "ta": re.compile(r"[\u0B80-\u0BFF]"),
           "te": re.compile(r"[\u0C00-\u0C7F]"), "kn": re.compile(r"[\u0C80-\u0CFF]")}
COMMAND = re.compile(r"\b(STATUS|TASKS|MENU|ADD|STOP|START|YES|DONE|SKIP) \(([^)]+)\)")
SMS_MAX = 201  # three UCS-2 segments of 67 characters
BUTTON_MAX = 20  # WhatsApp quick-reply button title


def _read(path: Path, language: str | None = None):
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


TEMPLATE = [m for m in _read(LOCALES / "messages.pot") if m.id]
CATALOGS = {lang: _read(LOCALES / lang / "LC_MESSAGES" / "messages.po", lang)
            for lang in ALL_LANGUAGES}
MENUS = {messages.SIMPLE["menu"], messages.SIMPLE["officer.menu"]}  # help texts, WhatsApp-sized


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _placeholders(text: str) -> dict[str, str]:
    return {name: kind for name, kind in PLACEHOLDER.findall(text)}


def _translations(lang: str):
    """(msgid, msgid_plural or msgid, form index, translation) for every form of every entry."""
    for entry in TEMPLATE:
        message = CATALOGS[lang].get(entry.id)
        for index, text in enumerate(_strings(message) if message else ("",)):
            yield entry.id, _ids(entry)[-1], index, text


def test_the_checks_here_have_messages_to_check():
    """The checks below loop over the template's entries: an empty or misread template would
    pass every one of them."""
    ids = {m.id for m in TEMPLATE}
    assert len(ids) >= 100
    assert set(messages.SIMPLE.values()) | set(messages.OPTIONS.values()) <= ids
    assert all(sum(1 for _ in _translations(lang)) >= len(ids) for lang in ALL_LANGUAGES)


@pytest.mark.parametrize("lang", ("en", *ALL_LANGUAGES))
def test_the_singular_is_used_for_the_counts_the_language_calls_one(lang):
    """CLDR's rule, not the text of a Plural-Forms expression (Babel's generated expressions
    change between releases while the rules stay): in Hindi or Bengali "0 files" takes the
    singular, in Marathi or English only 1 does. Counts of a million and more, French's
    "many", are beyond anything Kadam counts."""
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    catalog = _read(path, lang)
    assert "#, fuzzy" not in path.read_text(encoding="utf-8")
    assert catalog.fuzzy is False
    assert catalog.num_plurals == 2
    cldr = Locale.parse(lang).plural_form
    if "one" not in cldr.tags:
        return  # Kinyarwanda: CLDR has no rule, the catalog's two forms stand
    form = c2py(catalog.plural_expr)
    singular = [n for n in range(1001) if form(n) == 0]
    assert singular == [n for n in range(1001) if cldr(n) == "one"]


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
def test_every_msgid_has_a_translation_that_is_not_fuzzy(lang):
    for entry in TEMPLATE:
        message = CATALOGS[lang].get(entry.id)
        assert message is not None, f"{lang}: missing {entry.id!r}"
        assert not message.fuzzy, f"{lang}: fuzzy {entry.id!r}"
        assert len(_strings(message)) == len(_ids(entry)), f"{lang}: plural forms {entry.id!r}"
        assert all(s.strip() for s in _strings(message)), f"{lang}: empty {entry.id!r}"


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
def test_translations_keep_the_placeholders_and_format(lang):
    for msgid, source, index, text in _translations(lang):
        expected, found = _placeholders(source), _placeholders(text)
        # A singular form may say "one file" instead of "%(count)d file".
        droppable = {n for n, kind in expected.items() if kind == "d"} if msgid != source else set()
        assert found.items() <= expected.items(), f"{lang}: unknown placeholder in {text!r}"
        assert set(expected) - set(found) <= (droppable if index == 0 else set()), (
            f"{lang}: lost placeholder in {text!r}")
        stray = PLACEHOLDER.sub("", text).replace("%%", "")
        assert "%" not in stray, f"{lang}: stray % in {text!r}"
        text % {name: 1 for name in found}  # raises on a broken format


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
def test_messages_fit_sms_and_buttons(lang):
    for msgid, _source, _index, text in _translations(lang):
        if msgid not in MENUS:
            assert len(text) <= SMS_MAX, f"{lang}: {len(text)} chars: {text!r}"
    for label in messages.OPTIONS.values():
        assert len(CATALOGS[lang].get(label).string) <= BUTTON_MAX


OPTION_INTENTS = {"option.accept": Name.YES, "option.not_now": Name.NO, "option.done": Name.DONE,
                  "option.in_progress": Name.IN_PROGRESS, "option.need_help": Name.HELP,
                  "option.skip": Name.SKIP}


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
def test_words_we_teach_are_words_the_bot_understands(lang):
    """ "STATUS (स्थिति)": the native word means the same as the command; labels typed back work."""
    for _msgid, _source, _index, text in _translations(lang):
        for command, native in COMMAND.findall(text):
            assert parse(native, lang).name == parse(command, lang).name, (command, native)
    for key, msgid in messages.OPTIONS.items():
        label = CATALOGS[lang].get(msgid).string
        if key in OPTION_INTENTS:  # the officer's digest options are answered by number
            assert parse(label, lang).name == OPTION_INTENTS[key], (key, label)
    details = CATALOGS[lang].get(messages.OPTIONS["option.details"]).string
    assert parse(details, lang).name == Name.DETAILS, details


# --- rendering every key ------------------------------------------------------------------------

TITLE = {"en": "Retell the Tale"}  # Latin on purpose: Devanagari must come from the catalog
TASK = {"en": "Meet your teachers"}
OBJECTIVE = {"en": "Every child retells a story."}
SIMPLE_VALUES = {"name": "Sunita", "title": TITLE, "position": 3, "number": 9,
                 "content_type": "application/zip", "limit_mb": 16, "done": 2, "total": 7,
                 "date": dt.date(2026, 12, 3), "count": 4, "school": "ZP School Wai",
                 "officer": "Prakash More", "text": "no projector", "code": "27310100101",
                 "percent": 50, "block": "Wai"}
TASKS = [{"position": n, "title": TASK, "status": status, "mandatory": n < 3}
         for n, status in enumerate(messages.TASK_STATUS, start=1)]
SAMPLES: list[tuple[str, dict]] = [
    *[("invitation", {"name": "Sunita", "title": TITLE, "objective": OBJECTIVE,
                      "tasks_total": n, "weeks": 4}) for n in (1, 7)],
    ("invitation.details", {"title": TITLE, "objective": OBJECTIVE,
                            "tasks": [{"position": 1, "title": TASK}]}),
    ("invitation.accepted", {"title": TITLE, "tasks_total": 7}),
    *[("task.prompt", {"position": 2, "total": 7, "title": TASK, "photo": photo,
                       "description": description, "project_title": TITLE})
      for photo in (False, True) for description in ({}, {"en": "Keep it short."})],
    ("task.done", {"position": 2, "title": TASK, "done": 2, "total": 7}),
    *[("undo.done", {"position": 2, "title": TASK, "status": status})
      for status in messages.TASK_STATUS],
    ("task.no_such_number", {"number": 9, "title": TITLE, "tasks": TASKS}),
    ("task.next_on", {"position": 3, "title": TASK, "date": dt.date(2026, 12, 3)}),
    ("task.next_on", {"position": 3, "title": TASK, "date": "2026-12-03"}),
    ("project.celebration", {"title": TITLE, "name": "Sunita", "done": 7, "total": 7}),
    ("status", {"projects": [{"title": TITLE, "done": 2, "total": 7, "status": status}
                             for status in messages.PROJECT_STATUS]}),
    ("tasks.list", {"title": TITLE, "tasks": TASKS}),
    ("which_project", {"projects": [{"n": 1, "title": TITLE}, {"n": 2, "title": TASK}]}),
    ("evidence.which_task", {"tasks": TASKS}),
    *[("evidence.saved", {"position": 2, "title": TASK, "count": n}) for n in (1, 3)],
    ("language.choose", {"languages": [{"n": 1, "name": "English"}, {"n": 2, "name": "हिन्दी"}]}),
    *[("digest", {"name": "Prakash", "area": "Wai", "level": level, "campaigns": campaigns})
      for level, campaigns in (("block", []), ("district", [{
          "title": TITLE, "schools": 40, "started": 31, "completed": 12,
          "completed_this_week": ["ZP Wai", "ZP Bavdhan"], "help": ["ZP Pasarni"],
          "silent": ["A", "B", "C", "D", "E"], "blocks": [{"block": "Wai", "schools": 40,
                                                          "completed": 12}],
          "task": {"position": 3, "title": TASK, "schools": 20}}]))],
    *[("digest.silent", {"schools": schools})
      for schools in ([], [{"name": "ZP Wai", "code": "273101", "days": 9}])],
    *[("digest.photos", {"photos": photos})
      for photos in ([], [{"school": "ZP Wai", "task": 5, "url": "https://k.example/e/1/x"}])],
    ("help.alert", {"school": "ZP Wai", "headmaster": "Sunita", "task": TASK,
                    "text": "no projector"}),
    ("broadcast", {"text": {"en": "Science fair on Friday.", "hi": "शुक्रवार को विज्ञान मेला।",
                            "mr": "शुक्रवारी विज्ञान मेळा."}}),
    ("celebration.stories", {"stories": [{"school": "ZP Wai", "story": "We read daily"}]}),
    ("school.report", {"school": "ZP Wai", "code": "273101", "headmaster": "Sunita",
                       "projects": [{"title": TITLE, "status": "in_progress", "done": 2,
                                     "total": 7, "days": 3}]}),
    *[(key, {name: SIMPLE_VALUES[name] for name in _placeholders(text)})
      for key, text in messages.SIMPLE.items()],
]


def test_samples_cover_every_message_key():
    assert {key for key, _params in SAMPLES} == messages.keys()


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
@pytest.mark.parametrize(("key", "params"), SAMPLES, ids=[key for key, _p in SAMPLES])
def test_every_key_renders_fully_translated(lang, key, params, monkeypatch):
    fallbacks: list[str] = []

    def note(self, message, used):
        if used != self.language:
            fallbacks.append(message)

    monkeypatch.setattr(Translator, "_note_fallback", note)
    rendered = messages.render(key, params, list(messages.OPTIONS), lang)
    assert fallbacks == [], f"{lang}: untranslated {fallbacks}"
    assert "%(" not in rendered.text and "{" not in rendered.text, rendered.text
    if lang in LANGUAGES or key != "broadcast":  # the state team's own words, not ours
        _assert_in_language(lang, rendered.text, messages.render(key, params, [], "en").text)
    english = messages.render(key, params, list(messages.OPTIONS), "en").options
    for label, english_label in zip(rendered.options, english, strict=True):
        _assert_in_language(lang, label, english_label)


def _assert_in_language(lang: str, text: str, english: str) -> None:
    """In the language's own script; for the Latin-script languages, at least not the English."""
    if lang in SCRIPTS:
        assert SCRIPTS[lang].search(text), f"{lang}: {text!r}"
    else:
        assert text != english, f"{lang}: still English: {text!r}"
