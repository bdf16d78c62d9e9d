"""/admin/exports: progress by project or by task as CSV or Excel, within the user's scope.

The filters (campaign, district, block, project status, only silent schools) narrow the user's
Scope, never widen it: a block user asking for another district gets a file with just the
header. The columns are `kadam export projects|tasks`'s, from the same storage functions and
the same writers (bot/sheets). CSV streams from the database to the browser; Excel is
written to an anonymous temporary file first (a workbook is a zip, finished only at the end).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy.orm import Session

from bot.sheets.spreadsheets import CSV_TYPE, XLSX_TYPE, csv_chunks, write_xlsx
from bot.web.admin import MAX_ID, blueprint, db, scope, sessions, whole
from storage.exports import (
    PROJECT_COLUMNS,
    PROJECT_STATUSES,
    TASK_COLUMNS,
    project_rows,
    task_rows,
)
from storage.gallery import areas, in_scope_campaigns
from storage.schedule import zone
from storage.scope import Scope

log = logging.getLogger(__name__)

EXPORTS = {
    "projects": ("One row per project: school, headmaster, status, tasks done, photos, dates.",
                 PROJECT_COLUMNS),
    "tasks": ("One row per task: title, status, due and done dates, photo links, remarks.",
              TASK_COLUMNS),
}
FORMATS = {"csv": "CSV", "xlsx": "Excel"}
BOM = "\ufeff"  # Excel needs it to read Devanagari names from a CSV file


@dataclass(frozen=True)
class Choices:
    """The filters as asked for in the URL; `problem` says what was not understood."""

    campaign_id: int | None = None
    district: str = ""
    block: str = ""
    status: str = ""
    silent: bool = False
    problem: str = ""

    @classmethod
    def from_args(cls) -> Choices:
        args = request.args
        raw = args.get("campaign", "").strip()
        campaign_id = whole(raw)
        status = args.get("status", "").strip()
        problem = ""
        if raw and campaign_id is None:
            problem = f"campaign must be a campaign's number, not {raw!r}"
        elif campaign_id is not None and campaign_id > MAX_ID:
            problem, campaign_id = f"there is no campaign {raw}", None
        elif status and status not in PROJECT_STATUSES:
            problem = f"status must be one of {', '.join(PROJECT_STATUSES)}, not {status!r}"
        return cls(campaign_id=campaign_id,
                   district=args.get("district", "").strip()[:128],
                   block=args.get("block", "").strip()[:128],
                   status=status if status in PROJECT_STATUSES else "",
                   silent=args.get("silent") == "1", problem=problem)

    def args(self) -> dict[str, Any]:
        """As URL arguments, leaving out what is not set."""
        values = {"campaign": str(self.campaign_id or ""), "district": self.district,
                  "block": self.block, "status": self.status, "silent": "1" if self.silent else ""}
        return {k: v for k, v in values.items() if v}

    def scope(self) -> Scope:
        return scope().narrowed(self.district or None, self.block or None)


def now() -> dt.datetime:
    """The time 'silent' is counted from (tests set it)."""
    return dt.datetime.now(dt.UTC)


@blueprint.get("/exports")
def exports() -> Any:
    chosen = Choices.from_args()
    what, fmt = request.args.get("what", ""), request.args.get("fmt", "")
    if not chosen.problem and what in EXPORTS and fmt in FORMATS:
        # The form's "Download" buttons land here: on to the file's own address.
        return redirect(url_for("admin.export", what=what, fmt=fmt, **chosen.args()))
    with sessions() as session:
        campaigns = in_scope_campaigns(session, scope())
        districts, blocks = areas(session, scope(), chosen.district or None)
    links = {name: {f: url_for("admin.export", what=name, fmt=f, **chosen.args())
                    for f in FORMATS}
             for name in EXPORTS}
    return render_template("admin/exports.html", chosen=chosen, campaigns=campaigns,
                           districts=districts, blocks=blocks, statuses=PROJECT_STATUSES,
                           exports=EXPORTS, formats=FORMATS, links=links,
                           fmt=fmt if fmt in FORMATS else "xlsx")


@blueprint.get("/exports/<any(projects, tasks):what>.<any(csv, xlsx):fmt>")
def export(what: str, fmt: str) -> Any:
    chosen = Choices.from_args()
    if chosen.problem:
        abort(400, chosen.problem)
    columns = EXPORTS[what][1]
    # Photo links as the user reaches this site; built here, not inside the stream, which
    # runs after the request context is gone.
    base = f"{request.host_url}admin/evidence/"
    narrowed, status = chosen.scope(), chosen.status or None
    silent_at = now() if chosen.silent else None

    def rows(session: Session) -> Iterator[tuple[Any, ...]]:
        if what == "tasks":
            return task_rows(session, chosen.campaign_id, scope=narrowed, status=status,
                             silent_at=silent_at,
                             photo_link=lambda evidence_id: f"{base}{evidence_id}/photo")
        return project_rows(session, chosen.campaign_id, scope=narrowed, status=status,
                            silent_at=silent_at)

    name = filename(what, chosen, fmt)
    database = db()

    if fmt == "csv":
        def stream() -> Iterator[str]:
            # The session lives as long as the download; closing the response (done, or the
            # user gone) closes the generator, and with it the session.
            with database.sessions() as session:
                yield BOM
                try:
                    yield from csv_chunks(rows(session), columns)
                except Exception:
                    log.exception("export %s stopped half-way", name)
                    raise

        response = Response(stream(), mimetype=CSV_TYPE)
        response.headers.set("Content-Disposition", "attachment", filename=name)
        return response

    file = tempfile.TemporaryFile(suffix=".xlsx")  # anonymous: gone once closed
    try:
        with database.sessions() as session:
            write_xlsx(rows(session), columns, file, what)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return send_file(file, mimetype=XLSX_TYPE, as_attachment=True, download_name=name)


def filename(what: str, chosen: Choices, fmt: str) -> str:
    """kadam-projects-<campaign>-<date>.xlsx; 'all' for every campaign, the area when
    narrowed, and the date where the state team is."""
    today = dt.datetime.now(zone(current_app.config["KADAM"].timezone)).date()
    parts = ["kadam", what, str(chosen.campaign_id or "all")]
    parts += [_slug(chosen.district), _slug(chosen.block)]
    parts += ["silent" if chosen.silent else "", chosen.status]
    parts.append(today.isoformat())
    return "-".join(part for part in parts if part) + f".{fmt}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
