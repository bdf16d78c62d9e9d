"""What several messages share: the words for where a task or a project stands, and lists
cut to a length ("and 3 more") for SMS (bot/language/sms_fit.py chooses the length)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.language.i18n import Translator, _

TASK_STATUS = {
    "not_started": _("not started"),
    "in_progress": _("in progress"),
    "completed": _("done"),
    "skipped": _("skipped"),
}

PROJECT_STATUS = {
    "invited": _("invited"),
    "started": _("started"),
    "in_progress": _("in progress"),
    "submitted": _("completed"),
    "lapsed": _("paused"),
}


def how_many(p: Mapping[str, Any], most: int) -> int:
    """How many items of a list to show: `most`, or fewer where `shown` says so."""
    return min(most, p["shown"]) if p.get("shown") is not None else most


def listed(t: Translator, p: Mapping[str, Any], items: Sequence[Any],
           line: Callable[[Any], str]) -> list[str]:
    """Each item as a line: all of them, or the first `shown` and then "and N more"."""
    cap = how_many(p, len(items))
    more = [t.gettext("and %(count)s more") % {"count": len(items) - cap}] if (
        len(items) > cap) else []
    return [line(item) for item in items[:cap]] + more
