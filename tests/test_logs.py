"""Logs carry no phone numbers, whatever logged them (issue 13: SQLAlchemy errors logged bound
parameters, phone numbers and message text among them)."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.logs import mask, mask_phone_numbers

PHONE = "+919822012345"


def test_a_number_keeps_its_country_code_and_last_four_digits():
    assert mask(f"to whatsapp:{PHONE} and +250788123456") == (
        "to whatsapp:+91******2345 and +250*****3456")
    # Dates, ids and counts are left alone.
    assert mask("2026-12-07 06:58:36 outbox 12345678901 sent 3") == (
        "2026-12-07 06:58:36 outbox 12345678901 sent 3")


def test_records_and_tracebacks_are_masked_as_they_are_made(caplog):
    mask_phone_numbers()
    log = logging.getLogger("bot.worker.loop")
    with caplog.at_level(logging.INFO):
        log.warning("could not send to %s", PHONE)
        try:
            raise RuntimeError(f"Twilio refused {PHONE}")
        except RuntimeError:
            log.exception("send failed")
    assert PHONE not in caplog.text
    assert "could not send to +91******2345" in caplog.text
    assert "RuntimeError: Twilio refused +91******2345" in caplog.text


def test_a_failed_statement_logs_no_bound_values_and_no_numbers(db, caplog):
    mask_phone_numbers()
    with db.engine.connect() as connection:  # a temporary table: gone with the connection
        connection.execute(text("CREATE TEMPORARY TABLE numbers (phone VARCHAR(32) "
                                "PRIMARY KEY)"))
        connection.execute(text("INSERT INTO numbers VALUES (:p)"), {"p": PHONE})
        connection.commit()
        try:
            connection.execute(text("INSERT INTO numbers VALUES (:p)"), {"p": PHONE})
        except IntegrityError as error:
            said = str(error)
            connection.rollback()
            with caplog.at_level(logging.ERROR):
                logging.getLogger("bot.engine.engine").exception("could not store it")
        else:
            raise AssertionError("the duplicate was accepted")
    # SQLAlchemy does not add the statement's values; PostgreSQL's own DETAIL may name the
    # key, and the log masks it like any number.
    assert "hidden due to hide_parameters" in said
    assert "could not store it" in caplog.text and PHONE not in caplog.text
    if db.url.startswith("postgresql"):
        assert "Key (phone)=(+91******2345) already exists" in caplog.text
