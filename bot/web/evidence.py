"""/evidence/<id>/<token>: one photo, for the link in an officer's digest; and how any evidence
file is served, here and on the dashboard.

The token is the link's expiry and an HMAC of the evidence id and that expiry with SECRET_KEY
(storage/digests.py), so a link opens that one photo, only until it expires (KADAM_LINK_DAYS
after the digest, 30 by default), and guessing another id gets nothing. Set SECRET_KEY in
production, or links change on restart.

A file is served so that nothing in it can run as this site: its type as stored (told by its
bytes when it was fetched), `nosniff`, a sandboxing CSP, and only images inline; everything else
is a download.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, send_file
from werkzeug.wrappers import Response

from bot.config import Settings
from bot.web.fields import IdConverter
from flows.evidence_types import accepted_type
from storage import evidence as evidence_rows
from storage.db import Database
from storage.digests import link_expiry, unexpiring_link
from storage.gallery import INLINE_TYPES

blueprint = Blueprint("evidence", __name__)

LARGEST_ID = 2**63 - 1  # a BIGINT; a longer number is no evidence's id
EXPIRED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link expired · Kadam</title></head>
<body><h1>This photo link has expired</h1>
<p>Photo links in a digest open for {days} days. The photo is still on the Kadam dashboard,
under Evidence; the next digest brings new links.</p></body></html>
"""


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter  # a malformed or huge id is not found, not a 500
    app.register_blueprint(blueprint)


@blueprint.get("/evidence/<id:evidence_id>/<token>")
def photo(evidence_id: int, token: str) -> Response:
    """The photo a digest links to, while its link lasts."""
    settings: Settings = current_app.config["KADAM"]
    if evidence_id > LARGEST_ID:
        abort(404)
    expires = link_expiry(settings.secret_key, evidence_id, token)
    if expires is None:
        if unexpiring_link(settings.secret_key, evidence_id, token):
            return _expired(settings)  # a link from before links expired
        abort(404)
    if expires <= dt.datetime.now(dt.UTC):
        return _expired(settings)
    database: Database = current_app.extensions["kadam.db"]
    with database.sessions() as session:
        evidence = evidence_rows.find(session, evidence_id)
    if evidence is None or evidence.status != "stored" or not evidence.path:
        abort(404)
    root = Path(settings.media_dir).resolve()
    path = (root / evidence.path).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    return evidence_file(path, evidence.content_type)


def evidence_file(path: Path, content_type: str | None) -> Response:
    """A stored evidence file as a response no browser will run: images inline, the rest as a
    download, a type not on the allowlist (a file stored before it) as plain bytes."""
    base = (content_type or "").split(";")[0].strip().lower()
    inline = base in INLINE_TYPES
    if not (inline or accepted_type(base)):
        base = "application/octet-stream"
    response = send_file(path, mimetype=base, as_attachment=not inline,
                         download_name=path.name, conditional=True)
    if inline:
        response.headers["Content-Disposition"] = "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # A school's evidence: the viewer's own browser may keep it a while, no shared cache.
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers.pop("Expires", None)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _expired(settings: Settings) -> Response:
    response = Response(EXPIRED_PAGE.format(days=settings.link_days), status=410,
                        mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
