"""/admin/broadcasts: the circulars and celebrations sent, each with its delivery report.

State team only: broadcasts are made state-wide from the command line (`kadam broadcast`,
`kadam celebrate`), and their reports count every recipient, whichever area they are in.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request

from bot.web.admin import blueprint, sessions, state_only, whole
from storage import broadcasts as broadcast_store
from storage.broadcasts import BroadcastReport, report
from storage.delivery import describe

PER_PAGE = 10  # each row is a GROUP BY over its recipients (100,000 for a state circular)
# The report's columns, in the order a message moves through them; then where it stopped.
STEPS = ("queued", "sent", "delivered", "read", "failed", "undelivered", "not_sent",
         "opted_out")
# A broadcast's own page splits the queued: not tried yet, or retrying after passing trouble.
PAGE_STEPS = ("queued", "retrying", *STEPS[1:])
PREVIEW = 140


def preview(message: dict[str, Any]) -> str:
    """A broadcast's message in English (else its first language), cut to one line."""
    if "stories" in message:
        stories = message.get("stories") or []
        text = "Stories: " + "; ".join(f"{s.get('school', '')}: {s.get('story', '')}"
                                        for s in stories if isinstance(s, dict))
    else:
        text = str(message.get("en") or next(iter(message.values()), ""))
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW else text[:PREVIEW - 1].rstrip() + "…"


def codes(result: BroadcastReport) -> list[tuple[str, str, int]]:
    """Failures by error code (or reason), with what the code means, biggest first."""
    rows = [(code, describe(int(code)) if code.isdigit() else "", count)
            for code, count in result.failed_by_code.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


@blueprint.get("/broadcasts")
@state_only
def broadcasts() -> str:
    # Bounded like the other pages' numbers: a huge one would overflow the query's OFFSET.
    page = max(1, min(whole(request.args.get("page")) or 1, 100_000))
    with sessions() as session:
        rows = broadcast_store.newest(session, page, PER_PAGE)
        total = broadcast_store.count(session)
        shown = [(b, preview(b.message or {}), report(session, b.id)) for b in rows[:PER_PAGE]]
    return render_template("admin/broadcasts.html", shown=shown, page=page, total=total,
                           has_next=len(rows) > PER_PAGE, steps=STEPS, codes=codes)


@blueprint.get("/broadcasts/<int:broadcast_id>")
@state_only
def broadcast(broadcast_id: int) -> str:
    with sessions() as session:
        row = broadcast_store.find(session, broadcast_id)
        if row is None:
            abort(404)
        result = report(session, broadcast_id)
        message = dict(row.message or {})
    stories = message.pop("stories", None)
    return render_template("admin/broadcast.html", broadcast=row, report=result,
                           texts=sorted(message.items(), key=lambda kv: (kv[0] != "en", kv[0])),
                           stories=stories, steps=PAGE_STEPS, codes=codes(result),
                           retrying=result.retrying_by_reason.most_common())
