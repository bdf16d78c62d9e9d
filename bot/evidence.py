"""/evidence/<id>/<token>: one photo, for the link in an officer's digest.

The token is an HMAC of the evidence id with SECRET_KEY, so a link opens that one photo and
guessing another id gets nothing. Set SECRET_KEY in production, or links change on restart.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, send_file
from werkzeug.wrappers import Response

from bot.config import Settings
from bot.fields import IdConverter
from storage.db import Database
from storage.digests import evidence_link
from storage.models import Evidence

blueprint = Blueprint("evidence", __name__)


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter  # a malformed or huge id is not found, not a 500
    app.register_blueprint(blueprint)


@blueprint.get("/evidence/<id:evidence_id>/<token>")
def photo(evidence_id: int, token: str) -> Response:
    settings: Settings = current_app.config["KADAM"]
    expected = evidence_link("", settings.secret_key, evidence_id).rsplit("/", 1)[1]
    # As bytes: compare_digest refuses a str with non-ASCII characters (a 500).
    if not hmac.compare_digest(expected.encode(), token.encode()):
        abort(404)
    database: Database = current_app.extensions["kadam.db"]
    with database.sessions() as session:
        evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.status != "stored" or not evidence.path:
        abort(404)
    root = Path(settings.media_dir).resolve()
    path = (root / evidence.path).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    return send_file(path, mimetype=evidence.content_type or "application/octet-stream",
                     max_age=3600)
