"""`kadam i18n check` and `kadam i18n update`, on the real tree and on broken copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner

from bot.cli import phrase_check
from bot.cli.i18n_check import check, i18n
from flows import phrasebook

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = "Task %(position)s, “%(title)s”, is skipped. Wrong? Reply 0 to undo."
SHOWN = "'Task %(position)s, “%(title)s”, is skipped. Wrong? Reply 0 …'"  # as reports show it
INVITATION = ("Namaste %(name)s! Your school is invited to the project “%(title)s”. "
              "%(objective)s It takes about %(weeks)d week. Tasks: %(tasks_total)s. "
              "Shall we start?")
SAVED = "Thank you! %(count)d file saved for task %(position)s, “%(title)s”."


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """What the checker reads: babel.cfg, the code it extracts from, and the catalogs."""
    base = tmp_path_factory.mktemp("kadam")
    shutil.copy(ROOT / "babel.cfg", base / "babel.cfg")
    ignore = shutil.ignore_patterns("__pycache__", "*.mo")
    for folder in ("bot", "flows"):
        shutil.copytree(ROOT / folder, base / folder, ignore=ignore)
    return base


@pytest.fixture
def tree(pristine, tmp_path) -> Path:
    copy = tmp_path / "kadam"
    shutil.copytree(pristine, copy)
    return copy


def po(tree: Path, lang: str) -> Path:
    return tree / "bot" / "locales" / lang / "LC_MESSAGES" / "messages.po"


def edit(path: Path, change: Callable[[Catalog], None], locale: str | None = None) -> None:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    change(catalog)
    with path.open("wb") as handle:
        write_po(handle, catalog)


def errors_about(report, text: str) -> list[str]:
    return [e for e in report.errors if text in e]


def test_the_real_tree_passes():
    report = check(ROOT)
    assert report.ok, report.format()
    assert {"en", "hi", "mr", "bn", "ta", "fr"} <= set(report.languages)


def test_the_copy_passes_too(tree):
    assert check(tree).ok, check(tree).format()


def test_a_dropped_placeholder_fails_and_names_the_entry(tree):
    def drop(catalog):
        catalog[SKIPPED].string = "काम छोड़ दिया गया।"

    edit(po(tree, "hi"), drop, "hi")
    report = check(tree)
    assert not report.ok
    [error] = errors_about(report, "Task %(position)s, “%(title)s”, is skipped.")
    assert error.startswith("hi:") and "drops placeholder(s) position" in error


def test_a_renamed_placeholder_fails_in_any_language(tree):
    def rename(catalog):
        catalog[SKIPPED].string = "பணி %(number)s தவிர்க்கப்பட்டது."

    edit(po(tree, "ta"), rename, "ta")
    report = check(tree)
    assert not report.ok
    found = errors_about(report, "Task %(position)s, “%(title)s”, is skipped.")
    assert any(e.startswith("ta:") and "drops placeholder(s) position" in e for e in found)
    assert any(e.startswith("ta:") and "unknown placeholder(s) number" in e for e in found)


def test_a_translation_that_does_not_format_fails(tree):
    def stray_percent(catalog):
        catalog["Done"].string = "Terminé à 100%"

    edit(po(tree, "fr"), stray_percent, "fr")
    report = check(tree)
    assert errors_about(report, "fr: 'Done' does not format")


def test_a_retyped_placeholder_fails(tree):
    def retype(catalog):
        message = catalog[INVITATION]
        message.string = (message.string[0], message.string[1].replace("%(weeks)d", "%(weeks)s"))

    edit(po(tree, "mr"), retype, "mr")
    report = check(tree)
    [error] = errors_about(report, "changes the type of weeks")
    assert error.startswith("mr:") and "(form 1)" in error


def test_a_singular_may_say_one_only_where_form_zero_means_one(tree):
    # Marathi's form 0 is n == 1 alone: "एक फाइल" for one file is fine.
    edit(po(tree, "mr"), lambda c: setattr(c[SAVED], "string", (
        "धन्यवाद! काम %(position)s (“%(title)s”) साठी एक फाइल जतन झाली.",
        c[SAVED].string[1])), "mr")
    # French form 0 also covers n == 0: "un fichier" would be wrong for no files.
    edit(po(tree, "fr"), lambda c: setattr(c[SAVED], "string", (
        "Merci ! Un fichier enregistré pour la tâche %(position)s, « %(title)s ».",
        c[SAVED].string[1])), "fr")
    report = check(tree)
    assert not errors_about(report, "mr:")
    [error] = errors_about(report, "fr:")
    assert "(form 0) drops placeholder(s) count" in error


def test_a_fuzzy_hindi_entry_fails(tree):
    edit(po(tree, "hi"), lambda c: c[SKIPPED].flags.add("fuzzy"), "hi")
    report = check(tree)
    assert errors_about(report, "hi: fuzzy " + SHOWN)


def test_a_missing_marathi_entry_fails(tree):
    edit(po(tree, "mr"), lambda c: c.delete(SKIPPED), "mr")
    report = check(tree)
    assert errors_about(report, "mr: missing " + SHOWN)


def test_an_empty_marathi_entry_fails_but_empty_english_is_the_msgid(tree):
    edit(po(tree, "mr"), lambda c: setattr(c[SKIPPED], "string", ""), "mr")
    edit(po(tree, "en"), lambda c: setattr(c[SKIPPED], "string", ""), "en")
    report = check(tree)
    assert errors_about(report, "mr: empty " + SHOWN)
    assert not errors_about(report, "en:")


def test_english_must_still_hold_every_msgid(tree):
    edit(po(tree, "en"), lambda c: c.delete(SKIPPED), "en")
    assert errors_about(check(tree), "en: missing " + SHOWN)


def test_a_missing_tamil_entry_is_only_a_warning(tree):
    edit(po(tree, "ta"), lambda c: c.delete(SKIPPED), "ta")
    edit(po(tree, "sw"), lambda c: c[SKIPPED].flags.add("fuzzy"), "sw")
    report = check(tree)
    assert report.ok, report.format()
    assert "ta: missing " + SHOWN in report.warnings
    assert "sw: fuzzy " + SHOWN in report.warnings
    assert "missing in ta: " + SHOWN in report.format()


def test_a_new_message_in_the_code_makes_the_template_stale(tree):
    with (tree / "bot" / "messages.py").open("a", encoding="utf-8") as handle:
        handle.write('\nBRAND_NEW = _("A message nobody has extracted yet")\n')
    report = check(tree)
    assert not report.ok
    [error] = errors_about(report, "A message nobody has extracted yet")
    assert "out of date" in error and "not in it yet" in error


def test_a_message_gone_from_the_code_makes_the_template_stale(tree):
    def add(catalog):
        catalog.add("A message the code no longer sends")

    edit(tree / "bot" / "locales" / "messages.pot", add)
    report = check(tree)
    assert errors_about(report, "out of date: no longer in the code "
                                "'A message the code no longer sends'")
    # ...and the catalogs, not updated yet, lack it too.
    assert errors_about(report, "hi: missing 'A message the code no longer sends'")


def test_the_command_exits_1_on_errors_and_0_otherwise(tree):
    runner = CliRunner()
    result = runner.invoke(i18n, ["check", "--root", str(tree)])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("i18n check: ok")

    edit(po(tree, "mr"), lambda c: c.delete(SKIPPED), "mr")
    result = runner.invoke(i18n, ["check", "--root", str(tree)])
    assert result.exit_code == 1
    assert "mr: missing " + SHOWN in result.output
    assert "i18n check: FAILED" in result.output


def _content(path: Path, locale: str | None) -> dict:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    return {m.id: (m.string, sorted(m.flags)) for m in catalog if m.id}


def test_update_on_a_current_tree_changes_no_message(tree):
    before = {p: _content(p, p.parent.parent.name) for p in tree.glob("bot/locales/*/*/*.po")}
    assert len(before) >= 14  # every language's catalog, not none
    pot_before = _content(tree / "bot" / "locales" / "messages.pot", None)
    result = CliRunner().invoke(i18n, ["update", "--root", str(tree)])
    assert result.exit_code == 0, result.output
    assert "(0 new, 0 gone)" in result.output
    assert _content(tree / "bot" / "locales" / "messages.pot", None) == pot_before
    for path, content in before.items():
        assert _content(path, path.parent.parent.name) == content, path


def test_update_brings_a_new_message_to_every_catalog(tree):
    with (tree / "bot" / "messages.py").open("a", encoding="utf-8") as handle:
        handle.write('\nBRAND_NEW = _("Your block has a new circular, %(name)s.")\n')
    result = CliRunner().invoke(i18n, ["update", "--root", str(tree)])
    assert result.exit_code == 0, result.output
    assert "+ 'Your block has a new circular, %(name)s.'" in result.output
    report = check(tree)
    assert not errors_about(report, "out of date")
    # English may leave it empty; Hindi and Marathi must translate it; the others list it.
    assert not errors_about(report, "en:")
    assert errors_about(report, "hi: empty 'Your block has a new circular")
    assert errors_about(report, "mr: empty 'Your block has a new circular")
    assert "ta: empty 'Your block has a new circular, %(name)s.'" in report.warnings


@pytest.mark.parametrize(("lang", "header", "catalog_says", "language_says"), [
    ("hi", "nplurals=2; plural=(n != 1);", "1", "0, 1"),  # "0 फ़ाइल": Hindi's 0 is singular
    ("mr", "nplurals=2; plural=(n > 1);", "0, 1", "1"),
])
def test_a_plural_rule_that_gives_the_singular_to_the_wrong_counts_fails(
        tree, lang, header, catalog_says, language_says):
    path = po(tree, lang)
    text = path.read_text(encoding="utf-8")
    declared = text.split('"Plural-Forms: ', 1)[1].split("\\n", 1)[0]
    path.write_text(text.replace(declared, header), encoding="utf-8")
    [error] = errors_about(check(tree), "Plural-Forms")
    assert error == (f"{lang}: Plural-Forms gives the singular to {catalog_says}, but the "
                     f"language uses it for {language_says} (CLDR): fix the catalog's header")


# --- the phrase files -------------------------------------------------------------------------


def phrases(tree: Path, lang: str) -> Path:
    return tree / "flows" / "phrases" / f"{lang}.yaml"


def test_a_language_without_phrases_for_an_intent_fails(tree):
    path = phrases(tree, "sw")
    text = path.read_text(encoding="utf-8")
    start = text.index("    undo:\n")
    end = text.index("\n    ", start + len("    undo:\n") + 1)
    while text[end + 5] == " ":  # the list's own lines
        end = text.index("\n    ", end + 1)
    path.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    assert errors_about(check(tree), "phrases: sw: no phrase for 'undo'")


def test_a_phrase_under_two_intents_fails(tree):
    path = phrases(tree, "hi")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    in_progress:\n", "    in_progress:\n      - HO GAYA\n", 1), encoding="utf-8")
    [error] = errors_about(check(tree), "'HO GAYA' is listed under both")
    assert "'done'" in error and "'in_progress'" in error


def test_a_phrase_a_negation_shadows_is_named():
    tables = {"mr": {"intents": {"done": ["zala", "zale nahi"]}, "words": {}}}
    [error] = phrase_check.shadowed(tables)
    assert "'zale nahi' is listed under 'done' but is read as 'in_progress'" in error


def test_a_file_that_is_not_in_the_phrase_format_is_named(tree):
    phrases(tree, "fr").write_text("fr:\n  intents: [oui, non]\n", encoding="utf-8")
    assert errors_about(check(tree), "phrases: fr.yaml: fr: 'intents' and 'words' hold")


def test_yes_and_no_are_phrases_not_booleans():
    [table] = phrasebook.read("en:\n  intents:\n    no:\n      - no\n      - off\n").values()
    assert table["intents"] == {"no": ["no", "off"]}


def test_a_word_the_catalog_teaches_must_parse_back(tree):
    def teach_wrong(catalog):
        for message in catalog:
            if isinstance(message.string, str) and "DONE (हो गया)" in message.string:
                message.string = message.string.replace("DONE (हो गया)", "DONE (नहीं हुआ)")

    edit(po(tree, "hi"), teach_wrong, "hi")
    [error, *_] = errors_about(check(tree), "teaches 'नहीं हुआ' for DONE")
    assert "read as 'in_progress', not 'done'" in error
