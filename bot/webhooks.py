"""Twilio's webhooks: inbound WhatsApp and SMS, delivery status callbacks, and /healthz.

Every request must carry a valid X-Twilio-Signature for PUBLIC_URL + path (the app runs behind
a proxy, so the URL Twilio signed is not the one Flask sees). A bad signature gets 403 and
nothing is stored. The handler never calls Twilio: it stores, decides and queues, and answers
an empty TwiML <Response/>.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.engine import Engine, Inbound
from storage.db import Database

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio", __name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)


def _settings() -> Settings:
    return current_app.config["KADAM"]


def _engine() -> Engine:
    return current_app.extensions["kadam.engine"]


def _database() -> Database:
    return current_app.extensions["kadam.db"]


def signed_url() -> str:
    """The URL Twilio signed: PUBLIC_URL plus the path and query it called."""
    base = _settings().public_url or request.host_url.rstrip("/")
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def _check_signature() -> None:
    token = _settings().twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        abort(403)
    if not RequestValidator(token).validate(signed_url(), request.form.to_dict(), signature):
        log.warning("rejected a webhook with a bad signature from %s", request.remote_addr)
        abort(403)


def _phone(address: str) -> str:
    """Twilio writes WhatsApp senders as "whatsapp:+9198..."; the roster keeps E.164."""
    return address.split(":", 1)[1] if address.startswith("whatsapp:") else address


def inbound_from_form(form: dict[str, Any], channel: str) -> Inbound:
    count = int(form.get("NumMedia") or 0)
    media = [
        {"url": form.get(f"MediaUrl{i}"), "content_type": form.get(f"MediaContentType{i}")}
        for i in range(count)
        if form.get(f"MediaUrl{i}")
    ]
    return Inbound(
        sid=form.get("MessageSid") or form.get("SmsMessageSid") or "",
        phone=_phone(form.get("From", "")),
        channel=channel,
        body=form.get("Body", ""),
        button_payload=form.get("ButtonPayload") or None,
        media=media,
    )


def _receive(channel: str) -> Response:
    _check_signature()
    inbound = inbound_from_form(request.form.to_dict(), channel)
    if not inbound.sid or not inbound.phone:
        abort(400)
    engine = _engine()
    # queue: record the message and answer Twilio at once; `kadam worker` runs the flow.
    outcome = (engine.accept(inbound) if engine.settings.inbound == "queue"
               else engine.receive(inbound))
    log.info("inbound %s from %s: %s", inbound.sid, channel, outcome.status)
    return Response(EMPTY_TWIML, mimetype="text/xml")


@blueprint.post("/twilio/whatsapp")
def whatsapp() -> Response:
    return _receive("whatsapp")


@blueprint.post("/twilio/sms")
def sms() -> Response:
    return _receive("sms")


@blueprint.post("/twilio/status")
def status() -> Response:
    """Delivery callbacks move a message's status forward only."""
    _check_signature()
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    state = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    code = form.get("ErrorCode") or ""
    row = request.args.get("outbox", "")
    if not sid or not state:
        abort(400)
    from storage import outbox

    with _database().transaction() as session:
        outbox.apply_status_callback(session, sid, state, int(code) if code.isdigit() else None,
                                     outbox_id=int(row) if row.isdigit() else None)
    return Response(EMPTY_TWIML, mimetype="text/xml")


@blueprint.get("/healthz")
def healthz() -> Response:
    try:
        with _database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        log.exception("health check failed")
        return Response('{"status": "database unavailable"}', 503, mimetype="application/json")
    return jsonify(status="ok", channel=_settings().channel)
