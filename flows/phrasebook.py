"""The phrase files: what people type in each language, by what they mean.

The words live in `flows/phrases/<language>.yaml` (and `any.yaml` for emoji and signs), one
file a language, so a translator adds a phrase without reading code. Each file has the form

    hi:
      intents:          # what a reply means: done, in_progress, help, ... (see intents.Name)
        done:
          - ho gaya
      words:            # the words that frame a reply: negations, numbers, task words, ...
        negation:
          - nahi

and a file of taught phrases (`kadam phrases export`) has the same form, so it merges as is.
Reading them is the one thing flows/ reads, once, at import, the way Python reads the code
beside it; everything that changes at run time (taught phrases) is passed in as data.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml

# Each language's table: {"intents": {intent: [phrase, ...]}, "words": {kind: [...] | {...}}}
Table = dict[str, dict[str, Any]]


class _Loader(yaml.SafeLoader):
    """YAML without its yes/no/on/off booleans: "no" and "yes" are phrases, not False/True."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# The kinds of frame words a file may have under `words:`; lists, but for the three mappings.
WORD_KINDS = (
    "negation", "negation_before", "negation_after", "negation_prefix", "negation_suffix",
    "partial", "task", "plural_task", "link", "number", "numbers", "ordinals",
    "ordinal_suffix", "day", "week", "month", "durations", "question", "school", "filler",
    "stop_companion", "reminder",
)
MAPPINGS = ("numbers", "ordinals", "durations")


class PhraseFileError(ValueError):
    """A phrase file that cannot be read: the message names the file and what is wrong."""


def read(text: str, source: str = "<phrases>") -> Table:
    """The tables in one file's text, checked for shape (not for meaning: see i18n check)."""
    try:
        loaded = yaml.load(text, Loader=_Loader) or {}
    except yaml.YAMLError as error:
        raise PhraseFileError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(loaded, dict):
        raise PhraseFileError(f"{source}: expected a language code at the top")
    tables: Table = {}
    for language, table in loaded.items():
        where = f"{source}: {language}"
        if not isinstance(table, dict) or not set(table) <= {"intents", "words"}:
            raise PhraseFileError(f"{where}: expected 'intents:' and/or 'words:' under it")
        intents = table.get("intents") or {}
        words = table.get("words") or {}
        if not isinstance(intents, dict) or not isinstance(words, dict):
            raise PhraseFileError(f"{where}: 'intents' and 'words' hold named lists")
        checked: dict[str, Any] = {"intents": {}, "words": {}}
        for name, phrases in intents.items():
            checked["intents"][str(name)] = _strings(phrases, f"{where}: {name}")
        for kind, entries in words.items():
            if kind not in WORD_KINDS:
                raise PhraseFileError(f"{where}: unknown kind of words '{kind}'")
            if kind in MAPPINGS:
                if not isinstance(entries, dict) or not all(
                        isinstance(v, int) and v > 0 for v in entries.values()):
                    raise PhraseFileError(f"{where}: {kind} maps each word to a whole number")
                checked["words"][kind] = {str(k): int(v) for k, v in entries.items()}
            else:
                checked["words"][kind] = _strings(entries, f"{where}: {kind}")
        tables[str(language)] = checked
    return tables


def _strings(entries: Any, where: str) -> list[str]:
    if not isinstance(entries, list):
        raise PhraseFileError(f"{where}: expected a list, one phrase a line")
    out = []
    for entry in entries:
        if isinstance(entry, bool | int | float):
            entry = str(entry)
        if not isinstance(entry, str) or not entry.strip():
            raise PhraseFileError(f"{where}: '{entry}' is not a phrase")
        out.append(entry.strip())
    return out


def merge(tables: Iterable[Table]) -> Table:
    """Several files' tables as one (a language may be spread over several files)."""
    merged: Table = {}
    for table in tables:
        for language, parts in table.items():
            into = merged.setdefault(language, {"intents": {}, "words": {}})
            for name, phrases in parts["intents"].items():
                into["intents"].setdefault(name, []).extend(phrases)
            for kind, entries in parts["words"].items():
                if kind in MAPPINGS:
                    into["words"].setdefault(kind, {}).update(entries)
                else:
                    into["words"].setdefault(kind, []).extend(entries)
    return merged


def shipped_files() -> dict[str, str]:
    """The text of every shipped phrase file, by file name."""
    folder = resources.files("flows") / "phrases"
    return {item.name: item.read_text(encoding="utf-8")
            for item in sorted(folder.iterdir(), key=lambda i: i.name)
            if item.name.endswith(".yaml")}


@cache
def shipped() -> Table:
    """The shipped tables, read once."""
    return merge(read(text, name) for name, text in shipped_files().items())

