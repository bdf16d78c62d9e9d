"""/simulator: chat as any person in the roster, through the same engine as the webhooks.

For trainers and developers. It shows each reply as WhatsApp would (text and buttons) and the
numbered form an SMS phone gets. Whoever uses it sees every name and phone in the roster and
speaks for any of them, so it is off unless asked for (`kadam demo`, or KADAM_SIMULATOR=1),
and then only for a state user signed in to the dashboard, with the dashboard's CSRF check on
every message sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from bot.language.messages import Rendered
from bot.worker.outbound import render_row, sms_row
from storage.conversations import person_by_phone
from storage.db import Database
from storage.delivery import why_waiting
from storage.models import Person
from storage.schedule import zone
from storage.simulator import (
    people_with_schools,
    photos_by_message,
    recent_messages,
    school_timezone,
)

blueprint = Blueprint("simulator", __name__, url_prefix="/simulator")

HISTORY = 60  # messages shown


def enabled(settings: Settings) -> bool:
    return settings.simulator


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)


@blueprint.before_request
def _signed_in_state_user() -> Any:
    """The dashboard's sign-in, and back here after it; then a state user only, and a POST
    only with the session's CSRF token."""
    from bot.web.admin import check_csrf
    from bot.web.admin.auth import load_user

    if not load_user():
        back = (url_for("simulator.page") if request.method == "POST"
                else request.full_path.rstrip("?"))
        return redirect(url_for("admin.login", next=back))
    if g.user.role != "state":
        abort(403, "The simulator speaks for anyone in the roster: it is for the state team.")
    if request.method == "POST":
        check_csrf()
    return None


@blueprint.after_request
def _no_cache(response: Response) -> Response:
    """The page lists every name and phone in the roster: private, as the dashboard's."""
    from bot.web.admin import private_page

    return private_page(response)


@dataclass
class Bubble:
    mine: bool  # written by the person (right side), or by the bot
    text: str
    at: str
    buttons: list[str]
    sms: str
    status: str
    media: int = 0  # files that came with the message
    photos: tuple[int, ...] = ()  # of those, the photos kept: evidence ids, for thumbnails
    waits: str = ""  # why a message not sent yet waits


def _db() -> Database:
    return current_app.extensions["kadam.db"]


@blueprint.get("/")
def page() -> str:
    settings: Settings = current_app.config["KADAM"]
    phone = _phone(request.args.get("phone", ""))
    page_zone = settings.timezone
    with _db().sessions() as session:
        people = people_with_schools(session, limit=500)
        person = person_by_phone(session, phone)
        if person:
            # Times as the person lives them: their school's zone, else KADAM_TIMEZONE.
            page_zone = _known_zone(school_timezone(session, person)) or settings.timezone
        bubbles = _history(session, person, page_zone) if person else []
    return render_template("simulator.html", people=people, person=person, bubbles=bubbles,
                           page_zone=page_zone)


def _known_zone(name: str | None) -> str | None:
    try:
        return name if name and zone(name) else None
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None


def _phone(raw: str) -> str:
    """A "+" typed into a URL by hand arrives as a space."""
    raw = raw.strip()
    return "+" + raw if raw and raw[0].isdigit() else raw


def _history(session, person: Person, page_zone: str) -> list[Bubble]:
    settings: Settings = current_app.config["KADAM"]
    inbound, outbound = recent_messages(session, person.phone, HISTORY)
    photos = photos_by_message(session, [msg.id for msg in inbound if msg.media])
    now = dt.datetime.now(dt.UTC)
    quiet = settings.quiet_hours
    items: list[tuple[object, int, int, Bubble]] = []
    for msg in inbound:
        mine = Bubble(True, msg.body, _time(msg.received_at, page_zone), [], "", "",
                      len(msg.media or []), tuple(photos.get(msg.id, ())))
        items.append((msg.received_at, 0, msg.id, mine))
    for row in outbound:
        rendered: Rendered = render_row(session, row, person, settings.default_language,
                                        region=settings.default_region)
        waiting = why_waiting(row, now, quiet, page_zone, settings.timezone)
        reply = Bubble(False, rendered.text, _time(row.created_at, page_zone), rendered.options,
                       sms_row(session, row, person, settings.default_language,
                               region=settings.default_region), row.status,
                       waits=waiting.words(page_zone) if waiting else "")
        items.append((row.created_at, 1, row.id, reply))
    # Replies written in one step share a time: their ids keep them in the order written.
    items.sort(key=lambda item: (item[0], item[1], item[2]))
    return [bubble for _, _, _, bubble in items][-HISTORY:]


def _time(value: dt.datetime | None, page_zone: str) -> str:
    """To the minute, in the page's zone (which the page names once)."""
    return value.astimezone(zone(page_zone)).strftime("%d %b %H:%M") if value else ""


@blueprint.post("/send")
def send() -> Response:
    """Feeds what the trainer typed (and any upload) to the engine as that person's message."""
    phone = _phone(request.form.get("phone", ""))
    text = request.form.get("text", "")
    with _db().sessions() as session:
        person = person_by_phone(session, phone)
        if person is None:
            abort(404)
        channel = person.channel
    media: list[dict[str, object]] = []
    upload = request.files.get("photo")
    if upload is not None and upload.filename:
        from flows.evidence_types import accepted_type
        from storage.media_store import MediaNotAccepted, MediaStore

        settings: Settings = current_app.config["KADAM"]
        store = MediaStore(settings.media_dir)
        try:
            stored = store.save_stream(iter(lambda: upload.stream.read(65536), b""),
                                       settings.media_max_bytes)
        except MediaNotAccepted as refused:
            # Nothing kept: the flow answers that it cannot keep this kind of file.
            declared = upload.mimetype or ""
            shown = refused.found or (declared if not accepted_type(declared) else "")
            media.append({"url": None, "content_type": shown or "application/octet-stream"})
        else:
            media.append({"url": None, "content_type": stored.content_type, "path": stored.path,
                          "size": stored.size, "sha256": stored.sha256})
    if not text.strip() and not media:
        return redirect(url_for("simulator.page", phone=phone))
    engine: Engine = current_app.extensions["kadam.engine"]
    engine.receive(Inbound(sid=f"SIM{uuid.uuid4().hex}", phone=phone, channel=channel,
                           body=text, media=media))
    return redirect(url_for("simulator.page", phone=phone) + "#end")
