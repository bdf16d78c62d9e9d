"""Project templates: read a template's YAML, check it against the schema, store it versioned.

`validate` is pure (a document in, problems out), so the CLI, the tests and any future upload
page give the same answers. `load` adds a new version only when the document changed, and never
touches an older version: running projects keep the tasks they started with.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml
from babel import Locale, UnknownLocaleError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Template, TemplateTask

CATEGORIES = ("elementary", "defined", "analyzed", "visionary")
EVIDENCE = ("none", "photo")
TEMPLATE_FIELDS = (
    "slug",
    "category",
    "duration_days",
    "title",
    "objective",
    "tasks",
    "languages",
    "settings",
)
TASK_FIELDS = ("key", "day", "title", "description", "mandatory", "evidence", "resources")
RESOURCE_FIELDS = ("title", "url")
SETTINGS_FIELDS = ("reminder_after_days", "send_time")

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TASK_KEY = re.compile(r"[a-z0-9_-]+")
SEND_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
MAX_SLUG, MAX_KEY = 128, 64  # the widths of template.slug and template_task.key
MAX_DURATION_DAYS = 365
# Task titles go out by SMS; past this a title splits into several (paid) SMS parts.
SMS_TITLE_CHARS = 90


@dataclass(frozen=True)
class Problem:
    """One thing wrong (is_error) or worth a look (a note) at a path like `tasks[2].evidence`."""

    path: str
    message: str
    is_error: bool = True

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class TemplateSyntaxError(ValueError):
    """The file is not YAML we can read; the message names the line."""


class InvalidTemplate(ValueError):
    """Raised by `store` and `load` for a document with errors; `problems` lists them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


# -- reading YAML ------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a repeated field, which plain YAML silently overwrites."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"field {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def parse(text: str) -> Any:
    """The document in `text`; TemplateSyntaxError names the line when the YAML is broken."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # safe: plain data, no Python objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"at line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        message = f"invalid YAML {where}{exc.problem or exc}"
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            # The parser notices late (an unclosed bracket); say where the construct began.
            message += f" ({exc.context} that began at line {exc.context_mark.line + 1})"
        raise TemplateSyntaxError(message) from exc
    except yaml.YAMLError as exc:
        raise TemplateSyntaxError(f"invalid YAML: {exc}") from exc


# -- validation --------------------------------------------------------------------------------


def validate(document: Any) -> list[Problem]:
    """Every problem in `document`: each field's checks, then the language coverage checks."""
    check = _Checker()
    if not isinstance(document, dict):
        check.error("document", f"must be a mapping of template fields (got {_kind(document)})")
        return check.problems
    check.unknown_fields("", document, TEMPLATE_FIELDS)
    declared = check.declared_languages(document.get("languages"))
    check.slug(document.get("slug"))
    check.one_of("category", document.get("category"), CATEGORIES, required=True)
    duration = check.duration(document.get("duration_days"))
    check.text_map("title", document.get("title"), required=True)
    check.text_map("objective", document.get("objective"), required=True)
    check.tasks(document.get("tasks"), duration)
    check.settings(document.get("settings"), duration)
    check.language_coverage(document, declared)
    return check.problems


def languages(document: dict[str, Any]) -> list[str]:
    """The languages a valid template speaks: as declared, else every one it uses, en first."""
    if isinstance(document.get("languages"), list):
        return list(document["languages"])
    used = {code for _, texts in _text_maps(document) for code in texts}
    return sorted(used, key=lambda code: (code != "en", code))


def _text_maps(document: dict[str, Any]) -> Iterator[tuple[str, dict[Any, Any]]]:
    """Each `{language: text}` field of a document, with its path; malformed ones are skipped."""
    fields = [("title", document.get("title")), ("objective", document.get("objective"))]
    tasks = document.get("tasks")
    for index, task in enumerate(tasks if isinstance(tasks, list) else []):
        if isinstance(task, dict):
            for name in ("title", "description"):
                fields.append((f"tasks[{index}].{name}", task.get(name)))
    for path, texts in fields:
        if isinstance(texts, dict) and texts:
            yield path, texts


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"true/false {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML's `yes` is a bool


def _join(path: str, name: Any) -> str:
    return f"{path}.{name}" if path else str(name)


class _Checker:
    """Collects every problem rather than stopping at the first, so one run shows them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.used_languages: set[str] = set()  # valid codes seen in any {language: text} field

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def note(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message, is_error=False))

    def unknown_fields(self, path: str, mapping: dict[Any, Any], known: tuple[str, ...]) -> None:
        # A misspelt optional field (`evidense: photo`) would otherwise be quietly ignored.
        for name in mapping:
            if name not in known:
                close = difflib.get_close_matches(str(name), known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.error(_join(path, name), f"unknown field{hint}")

    def language_code(self, path: str, code: Any) -> bool:
        if not isinstance(code, str):
            # YAML reads a bare `no` (Norwegian) as false: the fix is to quote it.
            self.error(path, f"language code must be text (got {_kind(code)}; quote it)")
            return False
        try:
            canonical = str(Locale.parse(code))
        except (ValueError, UnknownLocaleError):
            self.error(path, f"unknown language code {code!r}")
            return False
        if canonical != code:
            # People's languages are stored in Babel's spelling; a template must match it.
            self.error(path, f"write the language code as {canonical!r}")
            return False
        return True

    def declared_languages(self, value: Any) -> list[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            self.error("languages", "must be a list of language codes, like [en, hi]")
            return None
        good = [code for i, code in enumerate(value) if self.language_code(f"languages[{i}]", code)]
        for code in {code for code in good if good.count(code) > 1}:
            self.error("languages", f"{code!r} is listed twice")
        if "en" not in value:
            self.error("languages", "must include en")
        return good

    def slug(self, value: Any) -> None:
        if value is None:
            self.error("slug", "missing")
        elif not isinstance(value, str) or not SLUG.fullmatch(value) or len(value) > MAX_SLUG:
            self.error(
                "slug", f"must be lowercase letters, digits and hyphens (got {_kind(value)})"
            )

    def one_of(self, path: str, value: Any, allowed: tuple[str, ...], required: bool) -> None:
        if value is None:
            if required:
                self.error(path, "missing")
        elif value not in allowed:
            self.error(path, f"must be one of {', '.join(allowed)} (got {_kind(value)})")

    def whole_number(self, path: str, value: Any, low: int, high: int | None) -> int | None:
        if value is None:
            self.error(path, "missing")
        elif not _is_int(value):
            self.error(path, f"must be a whole number (got {_kind(value)})")
        elif high is not None and not low <= value <= high:
            self.error(path, f"must be between {low} and {high} (got {value})")
        elif value < low:
            self.error(path, f"must be {low} or more (got {value})")
        else:
            return int(value)
        return None

    def duration(self, value: Any) -> int | None:
        return self.whole_number("duration_days", value, 1, MAX_DURATION_DAYS)

    def text(self, path: str, value: Any) -> bool:
        if isinstance(value, str) and value.strip():
            return True
        self.error(path, f"must be non-empty text (got {_kind(value)})")
        return False

    def text_map(self, path: str, value: Any, required: bool) -> None:
        if value is None:
            if required:
                self.error(path, "missing")
            return
        if not isinstance(value, dict) or not value:
            self.error(
                path, f"must map language codes to text, like {{en: ...}} (got {_kind(value)})"
            )
            return
        for code, text in value.items():
            if self.language_code(_join(path, code), code):
                self.used_languages.add(code)
                self.text(_join(path, code), text)
        # English is the fallback when a headmaster's language is missing.
        if "en" not in value:
            self.error(f"{path}.en", "missing")

    def tasks(self, value: Any, duration: int | None) -> None:
        if value is None:
            self.error("tasks", "missing")
            return
        if not isinstance(value, list) or not value:
            self.error("tasks", f"must be a non-empty list of tasks (got {_kind(value)})")
            return
        first_at: dict[str, int] = {}
        previous_day: int | None = None
        for index, task in enumerate(value):
            path = f"tasks[{index}]"
            if not isinstance(task, dict):
                self.error(path, f"must be a mapping of task fields (got {_kind(task)})")
                continue
            self.unknown_fields(path, task, TASK_FIELDS)
            self.task_key(path, task.get("key"), first_at, index)
            day = self.whole_number(f"{path}.day", task.get("day"), 0, duration)
            if day is not None and previous_day is not None and day < previous_day:
                # Tasks go out in file order; an earlier day here is usually a slip.
                self.note(f"{path}.day", f"is before the previous task's day {previous_day}")
            previous_day = day if day is not None else previous_day
            self.text_map(f"{path}.title", task.get("title"), required=True)
            self.sms_length(f"{path}.title", task.get("title"))
            self.text_map(f"{path}.description", task.get("description"), required=False)
            mandatory = task.get("mandatory")
            if mandatory is not None and not isinstance(mandatory, bool):
                self.error(f"{path}.mandatory", f"must be true or false (got {_kind(mandatory)})")
            self.one_of(f"{path}.evidence", task.get("evidence"), EVIDENCE, required=False)
            self.resources(f"{path}.resources", task.get("resources"))

    def task_key(self, path: str, key: Any, first_at: dict[str, int], index: int) -> None:
        if key is None:
            self.error(f"{path}.key", "missing")
        elif not isinstance(key, str) or not TASK_KEY.fullmatch(key) or len(key) > MAX_KEY:
            message = "must be lowercase letters, digits, '-' or '_'"
            self.error(f"{path}.key", f"{message} (got {_kind(key)})")
        elif key in first_at:
            self.error(f"{path}.key", f"duplicate {key!r} (first at tasks[{first_at[key]}])")
        else:
            first_at[key] = index

    def sms_length(self, path: str, value: Any) -> None:
        if isinstance(value, dict):
            for code, text in value.items():
                if isinstance(text, str) and len(text) > SMS_TITLE_CHARS:
                    self.note(_join(path, code), f"{len(text)} characters; SMS reads best under 90")

    def resources(self, path: str, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            self.error(path, f"must be a list of {{title, url}} (got {_kind(value)})")
            return
        for index, resource in enumerate(value):
            item = f"{path}[{index}]"
            if not isinstance(resource, dict):
                self.error(item, f"must be a mapping with title and url (got {_kind(resource)})")
                continue
            self.unknown_fields(item, resource, RESOURCE_FIELDS)
            if "title" not in resource:
                self.error(f"{item}.title", "missing")
            else:
                self.text(f"{item}.title", resource["title"])
            url = resource.get("url")
            if url is None:
                self.error(f"{item}.url", "missing")
            elif not _is_web_url(url):
                self.error(f"{item}.url", f"must be an http(s) address (got {_kind(url)})")

    def settings(self, value: Any, duration: int | None) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.error("settings", f"must be a mapping (got {_kind(value)})")
            return
        self.unknown_fields("settings", value, SETTINGS_FIELDS)
        if "reminder_after_days" in value:
            days = value["reminder_after_days"]
            self.whole_number("settings.reminder_after_days", days, 1, duration)
        send_time = value.get("send_time")
        if send_time is not None and not (
            isinstance(send_time, str) and SEND_TIME.fullmatch(send_time)
        ):
            # Unquoted, YAML 1.1 reads 10:00 as the number 600.
            message = "must be a quoted 24-hour time like '09:30'"
            self.error("settings.send_time", f"{message} (got {_kind(send_time)})")

    def language_coverage(self, document: dict[str, Any], declared: list[str] | None) -> None:
        """Declared languages are a promise (missing one is an error); otherwise just a note."""
        expected = set(declared if declared is not None else self.used_languages)
        expected.discard("en")  # a missing en is already an error of its own (`title.en`)
        for path, texts in _text_maps(document):
            for code in sorted(expected - set(texts)):
                if declared is not None:
                    self.error(path, f"no {code} (languages lists it)")
                else:
                    self.note(path, f"no {code}")
            if declared is not None:
                for code in texts:
                    # en is always allowed: a list without it is reported once, at `languages`.
                    if code not in declared and code != "en" and isinstance(code, str):
                        self.error(_join(path, code), f"not in languages ({', '.join(declared)})")


def _is_web_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


# -- storing versions --------------------------------------------------------------------------


def digest(document: dict[str, Any]) -> str:
    """sha256 of a canonical JSON dump: key order and YAML layout do not make a new version."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def languages_spoken(template: Template) -> set[str]:
    """The languages a stored template has whole: its title, objective and every task title
    (a how-to is optional, so it does not count). Anyone else reads it in another language."""
    texts = [template.title, template.objective, *(task.title for task in template.tasks)]
    spoken = set(texts[0] or {})
    for text in texts[1:]:
        spoken &= set(text or {})
    return spoken


def latest(session: Session, slug: str) -> Template | None:
    """The newest version of the template called `slug`, if any was loaded."""
    query = select(Template).where(Template.slug == slug).order_by(Template.version.desc())
    return session.scalars(query.limit(1)).first()


def latest_versions(session: Session) -> list[tuple[Template, int]]:
    """Every template's latest version, by slug, with how many versions of it were loaded."""
    newest = (select(Template.slug, func.max(Template.version).label("version"),
                     func.count().label("versions"))
              .group_by(Template.slug).subquery())
    rows = session.execute(
        select(Template, newest.c.versions)
        .join(newest, (newest.c.slug == Template.slug)
              & (newest.c.version == Template.version))
        .order_by(Template.slug)
    ).all()
    return [(template, int(versions)) for template, versions in rows]


def store(session: Session, document: dict[str, Any]) -> tuple[Template, bool]:
    """Adds `document` as its slug's next version, unless the latest version is identical.

    Returns the template row and whether it was created. Raises InvalidTemplate on errors.
    Two loads of the same slug racing each other meet the (slug, version) unique constraint,
    so one fails instead of both claiming a version.
    """
    errors = [problem for problem in validate(document) if problem.is_error]
    if errors:
        raise InvalidTemplate(errors)
    fingerprint = digest(document)
    current = latest(session, document["slug"])
    if current is not None and current.digest == fingerprint:
        return current, False
    template = Template(
        slug=document["slug"],
        version=current.version + 1 if current is not None else 1,
        category=document["category"],
        duration_days=document["duration_days"],
        title=document["title"],
        objective=document["objective"],
        document=document,
        digest=fingerprint,
    )
    template.tasks = [
        TemplateTask(
            position=position,
            key=task["key"],
            day=task["day"],
            title=task["title"],
            description=task.get("description", {}),
            mandatory=task.get("mandatory", True),
            evidence=task.get("evidence", "none"),
            resources=task.get("resources", []),
        )
        for position, task in enumerate(document["tasks"], start=1)
    ]
    session.add(template)
    session.flush()  # assigns the id
    return template, True


def load(database: Database, document: dict[str, Any]) -> tuple[int, int, bool]:
    """Stores `document` in one transaction; returns (template_id, version, created)."""
    with database.transaction() as session:
        template, created = store(session, document)
        return template.id, template.version, created
