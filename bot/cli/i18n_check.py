"""`kadam i18n check` and `kadam i18n update`: the catalogs kept honest against the code.

`check` fails (exit status 1) when
  - bot/locales/messages.pot is out of date with the code (a fresh extraction finds other msgids);
  - English, Hindi or Marathi lack a message, leave it empty or fuzzy (English may leave a
    msgstr empty: it means "same as the msgid");
  - any translation, in any language, drops, renames or retypes a %(placeholder)s, or does not
    format with sample values;
  - a catalog's Plural-Forms gives the singular to other counts than the language does
    (CLDR: in Hindi "0 files" takes the singular, in Marathi it does not);
  - the phrase files (flows/phrases/*.yaml) lack an intent in a language, list a phrase under
    two intents, hold a phrase the parser reads otherwise, or a catalog teaches a word that
    does not parse back to its command (bot/cli/phrase_check.py).
For every other language it lists the missing and fuzzy entries as warnings: gaps to fill, not
failures, since the fallback chain (person's language -> second language -> English) covers them.

`update` is the maintainer's convenience: extract + update for every catalog, exactly what
babel.cfg's comment says to run by hand.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.cli import phrase_check

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "messages"
LOCALES = Path("bot") / "locales"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
# Must fail: the languages every person can fall back to, and the two the first states run in.
REQUIRED = ("en", "hi", "mr")
# babel.cfg's comment: pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 ... (pybabel
# adds -k keywords to its defaults, so the same set is used here).
KEYWORDS: dict = {**DEFAULT_KEYWORDS, "_": None, "gettext": None, "ngettext": (1, 2)}
EXTRACT_OPTIONS = ["-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "--no-location",
                   "--sort-output"]

PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?([a-zA-Z])")
SAMPLE_BY_KIND = {"d": 7, "i": 7, "u": 7, "x": 7, "X": 7, "o": 7, "c": 65,
                  "e": 1.5, "E": 1.5, "f": 1.5, "F": 1.5, "g": 1.5, "G": 1.5}
SHOWN = 60  # characters of a msgid shown in the report


@dataclass(frozen=True)
class Gap:
    """An entry a catalog lacks: `problem` is "missing", "fuzzy", "empty" or a longer phrase."""

    language: str
    problem: str
    entry: str  # the msgid as shown in the report

    def __str__(self) -> str:
        return f"{self.language}: {self.problem} {self.entry}"


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)  # in the languages that may have gaps
    notes: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    messages: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def warnings(self) -> list[str]:
        return self.notes + [str(gap) for gap in self.gaps]

    def format(self) -> str:
        lines = [f"{self.messages} messages; catalogs: {', '.join(self.languages) or 'none'}"]
        if self.errors:
            lines.append(f"\n{len(self.errors)} error(s):")
            lines += [f"  - {e}" for e in self.errors]
        if self.gaps or self.notes:
            lines.append(f"\nGaps in the other languages (warnings, not failures): "
                         f"{len(self.gaps)} entries")
            lines += [f"  - {note}" for note in self.notes]
            grouped: dict[tuple[str, str], list[str]] = {}
            for gap in self.gaps:
                grouped.setdefault((gap.problem, gap.entry), []).append(gap.language)
            for (problem, entry), languages in grouped.items():
                lines.append(f"  - {problem} in {', '.join(languages)}: {entry}")
        lines.append("\ni18n check: " + ("FAILED" if self.errors else "ok"))
        return "\n".join(lines)


# --- reading -----------------------------------------------------------------------------------

def extract(root: Path) -> Catalog:
    """The messages in the code now, as `pybabel extract -F babel.cfg ...` would find them."""
    with (root / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    catalog = Catalog(charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            root, method_map, options_map, keywords=KEYWORDS):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments,
                    context=context)
    return catalog


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def catalog_paths(root: Path) -> dict[str, Path]:
    locales = root / LOCALES
    return {p.parent.parent.name: p
            for p in sorted(locales.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))}


def _entries(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)


# Babel types a msgid or msgstr as a string, or a tuple or list of plural forms.
MessageText = str | tuple[str, ...] | list[str]


def _key(message: Message) -> tuple[str | None, str | tuple[str, ...]]:
    msgid = message.id
    return (message.context, msgid if isinstance(msgid, str) else tuple(msgid))


def _ids(message: Message) -> tuple[str, ...]:
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def _show(msgid: MessageText) -> str:
    text = msgid if isinstance(msgid, str) else msgid[0]
    text = text.replace("\n", "\\n")
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 1] + "…")


def _strings(message: Message) -> tuple[str, ...]:
    strings = message.string
    if strings is None or isinstance(strings, str):
        return (strings or "",)
    return tuple(strings)


# --- checks ------------------------------------------------------------------------------------

def placeholders(text: str) -> dict[str, str]:
    return {name: kind for name, kind in PLACEHOLDER.findall(text)}


def _only_one_takes_form_zero(catalog: Catalog) -> bool:
    """True where plural form 0 is used for n == 1 alone ("one file"), so it may say "one"."""
    try:
        form = gettext.c2py(catalog.plural_expr)
    except ValueError:  # an unreadable rule: be strict
        return False
    return [n for n in range(1000) if form(n) == 0] == [1]


def _plural_rule_errors(lang: str, catalog: Catalog) -> list[str]:
    """The header's Plural-Forms must give the singular to the counts CLDR calls "one" (in
    Hindi and Bengali 0 and 1, in Marathi 1 alone). Compared by meaning, not by the text of
    an expression: Babel writes the same rule differently from one release to the next."""
    try:
        rule = Locale.parse(lang).plural_form
        form = gettext.c2py(catalog.plural_expr)
    except (ValueError, UnknownLocaleError) as exc:
        return [f"{lang}: unreadable Plural-Forms or language: {exc}"]
    if "one" not in rule.tags:
        return []  # CLDR has no rule for it (Kinyarwanda): the catalog's own stands
    counts = range(1000)  # beyond anything Kadam counts (French's "many" starts at a million)
    catalog_says = [n for n in counts if form(n) == 0]
    cldr_says = [n for n in counts if rule(n) == "one"]
    if catalog_says == cldr_says:
        return []
    return [f"{lang}: Plural-Forms gives the singular to {_counts(catalog_says)}, but the "
            f"language uses it for {_counts(cldr_says)} (CLDR): fix the catalog's header"]


def _counts(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:4])) + (" ..." if len(numbers) > 4 else "") or "none"


def _placeholder_errors(lang: str, entry: Message, message: Message,
                        singular_may_drop: bool) -> Iterable[str]:
    ids = _ids(entry)
    source = placeholders(ids[-1])
    for index, text in enumerate(_strings(message)):
        if not text:
            continue
        found = placeholders(text)
        form = f" (form {index})" if len(ids) > 1 else ""
        droppable: set[str] = set()
        if len(ids) > 1 and index == 0 and singular_may_drop:
            droppable = {n for n, kind in source.items() if kind in "di"}
        lost = set(source) - set(found) - droppable
        unknown = set(found) - set(source)
        retyped = {n for n in set(source) & set(found) if source[n] != found[n]}
        if lost:
            yield (f"{lang}: {_show(entry.id)}{form} drops placeholder(s) "
                   f"{', '.join(sorted(lost))}: {text!r}")
        if unknown:
            yield (f"{lang}: {_show(entry.id)}{form} has unknown placeholder(s) "
                   f"{', '.join(sorted(unknown))}: {text!r}")
        if retyped:
            yield (f"{lang}: {_show(entry.id)}{form} changes the type of "
                   f"{', '.join(sorted(retyped))}: {text!r}")
        sample = {name: SAMPLE_BY_KIND.get(kind, "x") for name, kind in found.items()}
        try:
            text % sample
        except (KeyError, ValueError, TypeError) as exc:
            yield f"{lang}: {_show(entry.id)}{form} does not format ({exc}): {text!r}"


def _completeness(lang: str, template: Catalog, catalog: Catalog) -> Iterator[Gap]:
    nplurals = catalog.num_plurals
    for entry in _entries(template):
        message = catalog.get(entry.id, context=entry.context)
        if message is None:
            yield Gap(lang, "missing", _show(entry.id))
            continue
        if message.fuzzy:
            yield Gap(lang, "fuzzy", _show(entry.id))
        strings = _strings(message)
        if len(_ids(entry)) > 1 and len(strings) != nplurals:
            yield Gap(lang, f"{len(strings)} plural forms, not {nplurals}, in",
                      _show(entry.id))
        filled = [bool(s.strip()) for s in strings]
        if lang == "en":  # an empty English msgstr means "the msgid as it stands"
            if any(filled) and not all(filled):
                yield Gap(lang, "some plural forms empty in", _show(entry.id))
        elif not all(filled):
            yield Gap(lang, "empty", _show(entry.id))


def check(root: Path | str = ROOT, required: Iterable[str] = REQUIRED) -> Report:
    root = Path(root)
    required = tuple(required)
    report = Report()
    template_path = root / TEMPLATE
    if not template_path.exists():
        report.errors.append(f"no template at {TEMPLATE}: run `kadam i18n update`")
        return report
    template = read(template_path)
    report.messages = sum(1 for _ in _entries(template))

    # (a) the template against the code.
    code = {_key(m) for m in _entries(extract(root))}
    pot = {_key(m) for m in _entries(template)}
    for _context, msgid in sorted(code - pot, key=str):
        report.errors.append(f"{TEMPLATE} is out of date: not in it yet {_show(msgid)} "
                             "(run `kadam i18n update`)")
    for _context, msgid in sorted(pot - code, key=str):
        report.errors.append(f"{TEMPLATE} is out of date: no longer in the code {_show(msgid)} "
                             "(run `kadam i18n update`)")

    paths = catalog_paths(root)
    report.languages = list(paths)
    for lang in required:
        if lang not in paths:
            report.errors.append(f"{lang}: no catalog at {LOCALES}/{lang}/LC_MESSAGES/"
                                 f"{DOMAIN}.po")
    try:
        from flows.languages import LANGUAGES as OFFERED
    except ImportError:  # pragma: no cover - flows is part of this repository
        OFFERED = ()
    for lang, _name in OFFERED:
        if lang not in paths and lang not in required:
            report.notes.append(f"{lang}: offered to headmasters but has no catalog yet")

    catalogs = {}
    for lang, path in paths.items():
        catalog = catalogs[lang] = read(path, lang)
        # (b) and (d): completeness; failures for the required languages, gaps for the rest.
        gaps = list(_completeness(lang, template, catalog))
        if catalog.fuzzy:
            gaps.insert(0, Gap(lang, "fuzzy", "catalog header"))
        if lang in required:
            report.errors.extend(str(gap) for gap in gaps)
        else:
            report.gaps.extend(gaps)
        # (c) placeholders, every language, in every entry the bot would use (not fuzzy ones:
        # those are never sent, and are reported above).
        report.errors.extend(_plural_rule_errors(lang, catalog))
        may_drop = _only_one_takes_form_zero(catalog)
        for entry in _entries(template):
            message = catalog.get(entry.id, context=entry.context)
            if message is not None and not message.fuzzy:
                report.errors.extend(_placeholder_errors(lang, entry, message, may_drop))
    report.errors.extend(phrase_check.problems(root, catalogs))
    return report


# --- command line ------------------------------------------------------------------------------

@click.group("i18n")
def i18n() -> None:
    """Message catalogs: check them against the code, or update them from it."""


@i18n.command("check")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=ROOT,
              show_default=False, help="The project directory (default: this checkout).")
def check_command(root: Path) -> None:
    """Check the catalogs against the code; exit status 1 on errors.

    Errors: a stale bot/locales/messages.pot; a message missing, empty or fuzzy in English, Hindi or
    Marathi; a translation in any language that drops, renames or breaks a placeholder. The
    other languages' missing and fuzzy entries are listed as warnings.
    """
    report = check(root)
    click.echo(report.format())
    if not report.ok:
        raise SystemExit(1)


@i18n.command("update")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=ROOT,
              show_default=False, help="The project directory (default: this checkout).")
def update_command(root: Path) -> None:
    """Re-extract bot/locales/messages.pot and update every catalog from it.

    New messages arrive empty (no fuzzy matching); translate them, then run `kadam i18n check`.
    """
    template_path = root / TEMPLATE
    before = ({_key(m) for m in _entries(read(template_path))} if template_path.exists()
              else set())
    cli = CommandLineInterface()
    status = cli.run(["pybabel", "-q", "extract", "-F", str(root / "babel.cfg"),
                      *EXTRACT_OPTIONS, "-o", str(template_path), str(root)])
    if status:
        raise SystemExit(status)
    after = {_key(m) for m in _entries(read(template_path))}
    status = cli.run(["pybabel", "-q", "update", "-i", str(template_path),
                      "-d", str(root / LOCALES), "-D", DOMAIN, "--no-fuzzy-matching"])
    if status:
        raise SystemExit(status)
    added, removed = after - before, before - after
    click.echo(f"{TEMPLATE}: {len(after)} messages ({len(added)} new, {len(removed)} gone); "
               f"updated {len(catalog_paths(root))} catalogs")
    for _context, msgid in sorted(added, key=str):
        click.echo(f"  + {_show(msgid)}")
    for _context, msgid in sorted(removed, key=str):
        click.echo(f"  - {_show(msgid)}")
    if added:
        click.echo("Translate the new entries, then run `kadam i18n check`.")

