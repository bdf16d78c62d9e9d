"""TWILIO_TEMPLATES: which approved WhatsApp template carries a message key in a language.

Outside WhatsApp's 24-hour window only an approved template may be sent. The file (YAML or
JSON) maps a message key and a language to the template's ContentSid and the order of its
variables:

    task.prompt:
      en: {content_sid: HXaaaa..., variables: [position, total, title]}
      hi: {content_sid: HXbbbb..., variables: [position, total, title]}

A variable is one of the message's parameters, or `text`: the whole rendered message, for a
template whose body is one variable. The file is read and checked once, when the worker starts.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from babel.dates import format_date

from bot.language.i18n import DEFAULT_REGION, Translator
from bot.language.messages import keys

TEXT = "text"  # the special variable: the whole rendered message
FALLBACK_LANGUAGE = "en"
ENTRY_FIELDS = frozenset({"content_sid", "variables"})
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")

# The messages Kadam sends without the person writing first, so the ones that need a template,
# with the variables each offers (beyond `text`). Checked at load, so a typo in a variable
# name stops the worker at startup instead of failing messages at night.
SCHEDULED_VARIABLES: dict[str, frozenset[str]] = {
    "invitation": frozenset({"name", "title", "objective", "tasks_total", "weeks"}),
    "invitation.reminder": frozenset({"name", "title", "objective", "tasks_total", "weeks"}),
    "task.prompt": frozenset({"position", "total", "title", "description", "project_title"}),
    "task.reminder": frozenset({"position", "title", "project_title"}),
    "project.lapsed": frozenset({"title", "done", "total"}),
    "nudge": frozenset({"name", "officer"}),
    "help.alert": frozenset({"school", "headmaster", "task", "text"}),
    "help.reply": frozenset({"officer", "text", "position"}),
    "celebration.block": frozenset({"percent", "block", "title"}),
    "broadcast": frozenset({"text"}),
    "celebration.stories": frozenset(),
    "digest": frozenset({"name", "area"}),
}


class TemplateMapError(ValueError):
    """TWILIO_TEMPLATES cannot be used; the message names the file and the bad entry."""


@dataclass(frozen=True)
class ContentTemplate:
    """One approved template: the message key and language it carries, and its variables."""

    key: str
    language: str
    content_sid: str
    variables: tuple[str, ...]

    def content_variables(self, params: Mapping[str, Any], text: str,
                          second_language: str | None = None,
                          region: str = DEFAULT_REGION) -> str:
        """Twilio's ContentVariables: {"1": ..., "2": ...} in the listed order, each value in
        the template's language. Raises KeyError for a variable the message does not have."""
        t = Translator(self.language, second_language, region)
        values = {}
        for n, name in enumerate(self.variables, start=1):
            if name == TEXT:
                value: Any = text
            elif name in params:
                value = _format(t, name, params[name])
            else:
                raise KeyError(f"template variable {name!r} is not a parameter of {self.key!r}")
            values[str(n)] = _one_line(value)
        return json.dumps(values, ensure_ascii=False)


class TemplateMap:
    """The approved templates by (message key, language)."""

    def __init__(self, templates: Mapping[tuple[str, str], ContentTemplate] | None = None):
        self._templates = dict(templates or {})

    def __len__(self) -> int:
        return len(self._templates)

    def __iter__(self) -> Iterator[ContentTemplate]:
        return iter(self._templates.values())

    def find(self, key: str, language: str | None) -> ContentTemplate | None:
        """The template for `key` in exactly `language`, else in English, else None.

        Not the person's second language: a template is approved per language, and English is
        the one every deployment is expected to have approved.
        """
        return (self._templates.get((key, language or FALLBACK_LANGUAGE))
                or self._templates.get((key, FALLBACK_LANGUAGE)))

    @classmethod
    def from_document(cls, document: Any, source: str = "TWILIO_TEMPLATES") -> TemplateMap:
        """Checks a parsed file; every problem is listed with the entry it is in."""
        if document is None:
            return cls()
        if not isinstance(document, Mapping):
            raise TemplateMapError(f"{source}: expected a mapping of message keys to languages")
        known_keys = keys()
        problems: list[str] = []
        found: dict[tuple[str, str], ContentTemplate] = {}
        for key, languages in document.items():
            if key not in known_keys:
                problems.append(f"{key}: not a message key Kadam sends")
                continue
            if not isinstance(languages, Mapping) or not languages:
                problems.append(f"{key}: expected languages, e.g. en: {{content_sid: HX..., "
                                f"variables: [...]}}")
                continue
            for language, entry in languages.items():
                where = f"{key}.{language}"
                template = _entry(str(key), str(language), entry, where, problems)
                if template is not None:
                    found[(template.key, template.language)] = template
        if problems:
            raise TemplateMapError(f"{source}:\n  " + "\n  ".join(problems))
        return cls(found)


def _entry(key: str, language: str, entry: Any, where: str,
           problems: list[str]) -> ContentTemplate | None:
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: expected {{content_sid: HX..., variables: [...]}}, "
                        f"got {entry!r}")
        return None
    unknown = sorted(set(map(str, entry)) - ENTRY_FIELDS)
    before = len(problems)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)} "
                        f"(expected content_sid, variables)")
    sid = entry.get("content_sid")
    if not sid:
        problems.append(f"{where}: missing content_sid")
    elif not isinstance(sid, str) or not CONTENT_SID.match(sid):
        problems.append(f"{where}.content_sid: expected HX and 32 hex digits, got {sid!r}")
    variables = entry.get("variables", [])
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        problems.append(f"{where}.variables: expected a list of names, got {variables!r}")
        variables = []
    offered = SCHEDULED_VARIABLES.get(key)
    if offered is not None:
        for name in variables:
            if name != TEXT and name not in offered:
                problems.append(f"{where}.variables: {name!r} is not a parameter of {key} "
                                f"(it has {', '.join(sorted(offered | {TEXT}))})")
    if len(problems) > before:
        return None
    return ContentTemplate(key, language, str(sid), tuple(variables))


def load(path: str | Path | None) -> TemplateMap:
    """Reads TWILIO_TEMPLATES (.yaml, .yml or .json); no path means no templates."""
    if not path:
        return TemplateMap()
    file = Path(path)
    if not file.is_file():
        raise TemplateMapError(f"TWILIO_TEMPLATES names {file}, which is not a file")
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix.lower() == ".json":
            document = json.loads(text)
        elif file.suffix.lower() in (".yaml", ".yml"):
            document = yaml.safe_load(text)
        else:
            raise TemplateMapError(f"{file}: TWILIO_TEMPLATES must end in .yaml, .yml or .json")
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise TemplateMapError(f"{file}: cannot be read: {exc}") from exc
    return TemplateMap.from_document(document, str(file))


def _format(t: Translator, name: str, value: Any) -> str:
    """A parameter as the rendered message would show it."""
    if isinstance(value, Mapping):
        return t.pick(value)  # a {language: text} title
    if name == "date" and isinstance(value, str | dt.date):
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(day, format="d MMMM", locale=t.locale)
    if value is None:
        return ""
    return str(value)


def _one_line(value: str) -> str:
    # WhatsApp refuses template parameters that hold a newline, a tab or more than four spaces
    # in a row, or that are empty; a multi-line message is sent as one line instead.
    text = " ".join(str(value).split())
    return text or "-"
