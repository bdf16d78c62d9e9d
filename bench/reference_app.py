"""The yardstick for bench/inbound.py: the least a webhook that stores a message can do.

`POST /twilio/whatsapp` does ONE insert (the message, unique on its MessageSid) and ONE update
(the sender's `person.last_inbound_at`) in one transaction, with the engine Kadam itself uses
(storage.db.make_engine: WAL and BEGIN IMMEDIATE on SQLite, the same pool on PostgreSQL), and
answers the same empty TwiML. It does not check the Twilio signature, parse intents, load a
conversation or queue replies: that is the app's work, and what the ratio measures.

Serve it exactly like the app: `gunicorn --pythonpath bench "reference_app:create_app()"`,
after `prepare(url)` has created its table.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask, Response, abort, request
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    insert,
    text,
)
from sqlalchemy import update as sql_update

from bot.config import Settings
from storage.db import make_engine
from storage.models import Person, UTCDateTime

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

metadata = MetaData()
messages = Table(
    "bench_reference_inbound",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("sid", String(64), unique=True, nullable=False),
    Column("phone", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)
people = Person.__table__


def prepare(url: str) -> None:
    """Creates the reference table (once, before the workers start, so they cannot race)."""
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()


# Built once, as the app builds its own: a statement built per request costs more Python than
# the database spends on it, and the reference should be the floor, not a handicap.
_INSERT = insert(messages).values(sid=bindparam("m_sid"), phone=bindparam("m_phone"),
                                  body=bindparam("m_body"), received_at=bindparam("m_at"))
_UPDATE = sql_update(people).where(people.c.phone == bindparam("m_phone")).values(
    last_inbound_at=bindparam("m_at"))


def create_app() -> Flask:
    app = Flask(__name__)
    engine = make_engine(Settings.from_env().database_url)  # DATABASE_URL, as the app reads it

    @app.post("/twilio/whatsapp")
    def whatsapp() -> Response:
        form = request.form
        sid, sender = form.get("MessageSid", ""), form.get("From", "")
        if not sid or not sender:
            abort(400)
        phone = sender.removeprefix("whatsapp:")
        now = dt.datetime.now(dt.UTC)
        with engine.begin() as connection:
            connection.execute(_INSERT, {"m_sid": sid, "m_phone": phone,
                                         "m_body": form.get("Body", ""), "m_at": now})
            connection.execute(_UPDATE, {"m_phone": phone, "m_at": now})
        return Response(EMPTY_TWIML, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> Response:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return Response('{"status": "ok"}', mimetype="application/json")

    return app
