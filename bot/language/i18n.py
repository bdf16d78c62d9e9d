"""Babel catalogs: loading a person's language, with a fallback chain and one warning per gap.

Catalogs are read from the `.po` files in `bot/locales/` and compiled in memory on first use, so a
fresh checkout needs no compile step.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import logging
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

log = logging.getLogger(__name__)

LOCALES_DIR = Path(str(resources.files("bot") / "locales"))  # package data: installs carry it
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
DEFAULT_REGION = "IN"  # KADAM_DEFAULT_REGION's default (bot/config.py)

_lock = threading.Lock()
_catalogs: dict[str, stdlib_gettext.GNUTranslations | None] = {}
_warned: set[tuple[str, str]] = set()


def available_languages() -> list[str]:
    if not LOCALES_DIR.is_dir():
        return [DEFAULT_LANGUAGE]
    found = sorted(p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return found or [DEFAULT_LANGUAGE]


def _load(language: str) -> stdlib_gettext.GNUTranslations | None:
    with _lock:
        if language in _catalogs:
            return _catalogs[language]
        path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        translations = None
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            translations = stdlib_gettext.GNUTranslations(buffer)
        _catalogs[language] = translations
        return translations


def locale_for(language: str, region: str = DEFAULT_REGION) -> Locale:
    """The language as spoken where Kadam runs (hi_IN, en_IN, sw_KE: `region` is
    Settings.default_region), for digit grouping ("1,50,000" in India) and month names; the
    bare language where that pair is unknown."""
    region = region.strip().upper()
    for name in (f"{language}_{region}", language, DEFAULT_LANGUAGE):
        try:
            return Locale.parse(name)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(DEFAULT_LANGUAGE)


def language_name(code: str) -> str:
    """'hi' -> 'Hindi (हिन्दी)': a language as the state team and its readers both know it."""
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    native = locale.get_display_name(locale) or ""
    english = locale.get_display_name("en") or code
    return f"{english} ({native})" if native and native != english else english


class Translator:
    """Text in one person's language: gettext with a fallback chain, and content maps."""

    def __init__(self, language: str, second_language: str | None = None,
                 region: str = DEFAULT_REGION):
        self.language = language or DEFAULT_LANGUAGE
        self.chain = [lang for lang in (self.language, second_language, DEFAULT_LANGUAGE) if lang]
        self.locale = locale_for(self.language, region)

    def gettext(self, message: str) -> str:
        for language in self.chain:
            catalog = _load(language)
            if catalog is not None:
                translated = catalog._catalog.get(message)  # type: ignore[attr-defined]
                if translated:
                    self._note_fallback(message, language)
                    return str(translated)
        self._note_fallback(message, DEFAULT_LANGUAGE)
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        for language in self.chain:
            catalog = _load(language)
            if catalog is None:
                continue
            key = (singular, catalog.plural(n))  # type: ignore[attr-defined]
            translated = catalog._catalog.get(key)  # type: ignore[attr-defined]
            if translated:
                self._note_fallback(singular, language)
                return str(translated)
        self._note_fallback(singular, DEFAULT_LANGUAGE)
        return singular if n == 1 else plural

    def pick(self, content: Mapping[str, str] | str | None) -> str:
        """The person's language from a template's `{language: text}` map."""
        if content is None:
            return ""
        if isinstance(content, str):
            return content
        for language in (*self.chain, "*"):
            if content.get(language):
                return content[language]
        return next(iter(content.values()), "")

    def _note_fallback(self, message: str, used: str) -> None:
        if used == self.language:
            return
        key = (message, self.language)
        if key not in _warned:
            _warned.add(key)
            log.warning("no %s translation for %r; using %s", self.language, message[:60], used)


def _(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is used."""
    return message


def format_params(t: Translator, params: Mapping[str, Any]) -> dict[str, Any]:
    """Content maps in the person's language; large numbers grouped the local way. Small
    numbers stay numbers, because plural forms are chosen from them."""
    return {k: _value(t, v) for k, v in params.items()}


def number(t: Translator, value: Any) -> Any:
    """One value as format_params would give it (for values inside lists)."""
    return _value(t, value)


def _value(t: Translator, value: Any) -> Any:
    if isinstance(value, dict):
        return t.pick(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1000:
        return format_decimal(value, locale=t.locale)
    return value
