"""The phrase files (flows/phrases/*.yaml) checked for `kadam i18n check`.

A translator edits these files without reading code, so the check says, in their terms, what
would make Kadam misread a reply:
  - a file that is not in the phrase format, or a frame word of more than one word;
  - an intent a headmaster uses with no phrase in some language;
  - a phrase listed under two intents in one language;
  - a phrase the parser reads as something else (a negation, a quantity or a longer phrase
    shadows it: "zale nahi" listed under done is never read as done);
  - a word a catalog tells people to type ("DONE (हो गया)") that does not parse back to the
    command's intent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from babel.messages.catalog import Catalog

from flows import phrasebook
from flows.intents import Intent, Name, normalise, parse

# What a headmaster may say; each language's file must have phrases for all of them.
HEADMASTER_INTENTS = (
    Name.DONE, Name.IN_PROGRESS, Name.HELP, Name.SKIP, Name.YES, Name.NO, Name.LATER,
    Name.PAUSE, Name.STATUS, Name.TASKS, Name.MENU, Name.STOP, Name.START, Name.LANGUAGE,
    Name.DETAILS, Name.UNDO, Name.ADD_TASK,
)
# Intents whose phrases are not read back on their own: an add phrase wants a title after it,
# and an "unknown" phrase exists only to hide the words inside it.
NOT_READ_BACK = (Name.ADD_TASK, Name.UNKNOWN)
# "STATUS (स्थिति)": a command and the native word the catalogs teach for it.
TAUGHT_WORD = re.compile(r"\b(STATUS|TASKS|MENU|ADD|STOP|START|YES|DONE|SKIP|UNDO) \(([^)]+)\)")

Parse = Callable[[str, str], Intent]


def read_files(folder: Path) -> tuple[phrasebook.Table, list[str]]:
    """Every phrase file in `folder`, merged, with what could not be read."""
    tables, problems = [], []
    for path in sorted(folder.glob("*.yaml")):
        try:
            tables.append(phrasebook.read(path.read_text(encoding="utf-8"), path.name))
        except phrasebook.PhraseFileError as error:
            problems.append(f"phrases: {error}")
    return phrasebook.merge(tables), problems


def shape_problems(tables: phrasebook.Table) -> Iterable[str]:
    """Unknown intents, frame words of several words, intents missing in a language."""
    known = {str(name) for name in Name}
    for language, table in sorted(tables.items()):
        for name in table["intents"]:
            if name not in known:
                yield f"phrases: {language}: '{name}' is not an intent ({', '.join(sorted(known))})"
        for kind, words in table["words"].items():
            for word in words:
                if kind != "durations" and len(normalise(word).split()) != 1:
                    yield (f"phrases: {language}: words/{kind}: '{word}' is several words; "
                           "list it as a phrase under intents")
        if language == "*":
            continue
        for name in HEADMASTER_INTENTS:
            if not table["intents"].get(str(name)):
                yield f"phrases: {language}: no phrase for '{name}'"


def double_meanings(tables: phrasebook.Table) -> Iterable[str]:
    """A phrase listed under two intents in one language."""
    for language, table in sorted(tables.items()):
        seen: dict[str, str] = {}
        for name, phrases in table["intents"].items():
            if name == str(Name.ADD_TASK):
                continue
            for phrase in phrases:
                folded = normalise(phrase)
                if folded in seen and seen[folded] != name:
                    yield (f"phrases: {language}: '{phrase}' is listed under both "
                           f"'{seen[folded]}' and '{name}'")
                seen.setdefault(folded, name)


def shadowed(tables: phrasebook.Table, read: Parse = parse) -> Iterable[str]:
    """A phrase that, typed alone in its language, is read as another intent."""
    for language, table in sorted(tables.items()):
        for name, phrases in table["intents"].items():
            if Name(name) in NOT_READ_BACK:
                continue
            for phrase in phrases:
                got = read(phrase, "en" if language == "*" else language).name
                if got != name:
                    yield (f"phrases: {language}: '{phrase}' is listed under '{name}' but is "
                           f"read as '{got}' (a negation, a number or another phrase wins)")


def taught_words(catalogs: Mapping[str, Catalog], read: Parse = parse) -> Iterable[str]:
    """ "DONE (हो गया)": the word a catalog teaches means what the command means."""
    for language, catalog in sorted(catalogs.items()):
        for message in catalog:
            strings = message.string if isinstance(message.string, tuple | list) else (
                message.string,)
            for text in strings:
                for command, native in TAUGHT_WORD.findall(str(text or "")):
                    want, got = read(command, language).name, read(native, language).name
                    if want != got:
                        yield (f"{language}: the catalog teaches '{native}' for {command}, "
                               f"but it is read as '{got}', not '{want}'")


def problems(root: Path, catalogs: Mapping[str, Catalog]) -> list[str]:
    """Everything above, for the phrase files under `root` and the catalogs given."""
    tables, found = read_files(root / "flows" / "phrases")
    found.extend(shape_problems(tables))
    found.extend(double_meanings(tables))
    found.extend(shadowed(tables))
    found.extend(taught_words(catalogs))
    return found
