"""The messages officers get: the weekly digest and its replies (silent schools, the week's
photos), a headmaster's request for help, and one school's report. Rendered like every other
message (bot/language/messages.py, which lists them under their keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.language.i18n import Translator, number
from bot.language.parts import PROJECT_STATUS, how_many, listed

DIGEST_LIMIT = 1000  # one WhatsApp message an officer reads in a glance
NAMES_SHOWN = 3
BLOCKS_SHOWN = 5


def _names(t: Translator, names: list[str], most: int = NAMES_SHOWN) -> str:
    """The first few names, then "and N more"."""
    shown = ", ".join(names[:most])
    if len(names) <= most:
        return shown
    return t.gettext("%(names)s and %(count)s more") % {"names": shown,
                                                         "count": len(names) - most}


def _digest_section(t: Translator, c: Mapping[str, Any], p: Mapping[str, Any]) -> list[str]:
    values = {k: number(t, v) for k, v in c.items()}
    lines = [t.gettext("“%(title)s”: %(started)s of %(schools)s schools started, "
                       "%(completed)s completed.") % values]
    # A district officer reads the blocks furthest behind first; the rest are one line.
    blocks = sorted(c.get("blocks", []), key=lambda b: (b["completed"] / max(b["schools"], 1),
                                                        b["block"]))
    most = 0 if p.get("brief") else how_many(p, BLOCKS_SHOWN)
    for block in blocks[:most]:
        lines.append(t.gettext("%(block)s: %(completed)s of %(schools)s completed")
                     % {k: number(t, v) for k, v in block.items()})
    if len(blocks) > most and not p.get("brief"):
        lines.append(t.gettext("and %(count)s more blocks") % {"count": len(blocks) - most})
    names = how_many(p, NAMES_SHOWN)
    if c.get("task") and not p.get("brief"):
        task = c["task"]
        lines.append(t.gettext("Most schools are on task %(position)s: %(title)s") % {
            "position": task["position"], "title": t.pick(task["title"])})
    if c.get("completed_this_week") and not p.get("brief"):
        lines.append(t.gettext("Completed this week: %(names)s") % {
            "names": _names(t, c["completed_this_week"], names)})
    if c.get("help"):
        lines.append(t.gettext("Asked for help: %(names)s") % {
            "names": _names(t, c["help"], names)})
    if c.get("silent"):
        lines.append(t.gettext("Silent for 7 days or more: %(names)s") % {
            "names": _names(t, c["silent"], names)})
    return lines


def digest(t: Translator, p: Mapping[str, Any]) -> str:
    head = t.gettext("Namaste %(name)s! This week in %(area)s:") % p
    if not p.get("campaigns"):
        return head + "\n" + t.gettext("No campaign is running in your schools this week.")
    text = head
    room = DIGEST_LIMIT - 120  # the numbered replies (1, 2, 3) follow the text
    most = how_many(p, len(p["campaigns"]))
    for n, campaign in enumerate(p["campaigns"]):
        section = "\n".join(_digest_section(t, campaign, p))
        if n >= most or len(text) + len(section) + 2 > room:
            text += "\n\n" + t.gettext("More campaigns are on the dashboard.")
            break
        text += "\n\n" + section
    return text


def digest_silent(t: Translator, p: Mapping[str, Any]) -> str:
    if not p["schools"]:
        return t.gettext("No school has been silent for 7 days or more.")
    lines = listed(t, p, p["schools"], lambda s: t.gettext("%(name)s (%(code)s): %(days)s days")
                    % {**s, "days": s["days"] or "-"})
    return t.gettext("Silent for 7 days or more:") + "\n" + "\n".join(lines)


def digest_photos(t: Translator, p: Mapping[str, Any]) -> str:
    if not p["photos"]:
        return t.gettext("No photos this week yet.")
    lines = listed(t, p, p["photos"],
                    lambda photo: t.gettext("%(school)s, task %(task)s: %(url)s") % photo)
    return t.gettext("This week's photos:") + "\n" + "\n".join(lines)


def help_alert(t: Translator, p: Mapping[str, Any]) -> str:
    return t.gettext(
        "Help requested: %(headmaster)s of %(school)s needs help with “%(task)s”. They wrote: "
        "%(text)s\nReply to this message and your answer goes to them."
    ) % {**p, "task": t.pick(p["task"])}


def school_report(t: Translator, p: Mapping[str, Any]) -> str:
    def line(project: Mapping[str, Any]) -> str:
        values = {**project, "title": t.pick(project["title"]),
                  "status": t.gettext(PROJECT_STATUS.get(project["status"], project["status"])),
                  "days": project["days"] if project["days"] is not None else "-"}
        return t.gettext("“%(title)s”: %(done)s of %(total)s tasks done (%(status)s), "
                         "last heard %(days)s days ago") % values

    head = t.gettext("%(school)s (%(code)s), headmaster %(headmaster)s") % p
    return "\n".join([head, *listed(t, p, p["projects"], line)])
