"""Twilio's webhooks: inbound WhatsApp and SMS, delivery status callbacks, and /healthz.

The contract, in the order it is checked (no request is ever answered 5xx for what it holds):

- 403: no valid X-Twilio-Signature for PUBLIC_URL + path + query (the app runs behind a proxy,
  so the URL Twilio signed is not the one Flask sees; a query that is not UTF-8 was signed by
  no one). Checked first; nothing is read further.
- 400: a signed form that no Twilio request could carry (bot/web/twilio_form.py): a sid that is
  not ASCII letters and digits, a count or code that is not ASCII digits (NumMedia=²,
  ErrorCode=1.0), NumMedia above 10, a field longer than the column that keeps it, a NUL
  anywhere but a message's text (there it is removed), a media URL that is not http(s), a
  callback URL whose `outbox` is not a row id. Nothing is stored.
- 503 with Retry-After: the database cannot be reached or is busy; one line is logged, and
  Twilio (or the proxy) may try again. Nothing is stored.
- 200 with an empty TwiML <Response/>: stored, once per MessageSid, with all its effects in
  one transaction (inline), or recorded for `kadam worker` to answer (KADAM_INBOUND=queue);
  both modes read and refuse a form the same way. The handler never calls Twilio.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.engine.engine import Engine
from bot.web import twilio_form
from bot.web.twilio_form import NotTwilio
from storage.db import Database
from storage.ping import ping

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio", __name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
RETRY_AFTER_SECONDS = 30


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)


def _settings() -> Settings:
    return current_app.config["KADAM"]


def _engine() -> Engine:
    return current_app.extensions["kadam.engine"]


def _database() -> Database:
    return current_app.extensions["kadam.db"]


def signed_url() -> str | None:
    """The URL Twilio signed: PUBLIC_URL plus the path and query it called. None for a query
    that is not UTF-8: Twilio percent-encodes its URLs, so it signed no such URL (and Flask
    would fail reading it, a 500)."""
    base = _settings().public_url or request.host_url.rstrip("/")
    try:
        query = request.query_string.decode()
    except UnicodeDecodeError:
        return None
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def _check_signature() -> None:
    token = _settings().twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    url = signed_url()
    if not token or not signature or url is None:
        abort(403)
    if not RequestValidator(token).validate(url, request.form.to_dict(), signature):
        log.warning("rejected a webhook with a bad signature from %s", request.remote_addr)
        abort(403)


def _refuse(refusal: NotTwilio) -> NoReturn:
    log.warning("refused a signed request to %s: %s", request.path, refusal)
    abort(400, str(refusal))


def _receive(channel: str) -> Response:
    _check_signature()
    try:
        inbound = twilio_form.inbound(request.form.to_dict(), channel)
    except NotTwilio as refusal:
        _refuse(refusal)
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
    try:
        report = twilio_form.delivery_report(request.form.to_dict(), request.args.to_dict())
    except NotTwilio as refusal:
        _refuse(refusal)
    from storage import outbox

    with _database().transaction() as session:
        outbox.apply_status_callback(session, report.sid, report.status, report.error_code,
                                     outbox_id=report.outbox_id)
    return Response(EMPTY_TWIML, mimetype="text/xml")


@blueprint.errorhandler(OperationalError)
@blueprint.errorhandler(InterfaceError)
@blueprint.errorhandler(PoolTimeout)
def _database_unavailable(error: Exception) -> Response:
    """The database is down, restarting or locked: Twilio may try again. One line, not a
    traceback per request: an outage would otherwise fill the log."""
    log.warning("database unavailable, answered 503 to %s: %s", request.path, _reason(error))
    return Response("database unavailable\n", 503, mimetype="text/plain",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _reason(error: Exception) -> str:
    """The driver's first line (SQLAlchemy's own message would add the statement and its
    parameters, which hold phone numbers and message text)."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


@blueprint.get("/healthz")
def healthz() -> Response:
    try:
        ping(_database())
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        # A balancer polls this every few seconds: one line each, not a traceback.
        log.warning("health check failed: %s", _reason(error))
        return Response('{"status": "database unavailable"}', 503, mimetype="application/json")
    return jsonify(status="ok", channel=_settings().channel)
