"""Logs carry no phone numbers: every record is masked as it is made.

A state's logs go to log services, support tickets and screen shares; a headmaster's number
has no place there. Numbers in E.164 form (how Kadam stores them: +919822012345, also inside
"whatsapp:+91...") keep their country code and last four digits, enough to tell two apart
in an incident: +91******2345. The database engine is made with `hide_parameters`
(storage/db.py), so a failed statement logs no bound values either.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import phonenumbers

PHONE = re.compile(r"\+\d{8,15}\b")
_installed = False


def _masked(number: str) -> str:
    try:
        country = str(phonenumbers.parse(number).country_code)
    except phonenumbers.NumberParseException:
        country = number[1:3]
    hidden = len(number) - 1 - len(country) - 4
    return f"+{country}{'*' * hidden}{number[-4:]}"


def mask(text: str) -> str:
    return PHONE.sub(lambda m: _masked(m[0]), text)


def mask_phone_numbers() -> None:
    """Masks every log record made from now on, in this process (idempotent)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave the record to say so itself
            return record
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(masked)
    _installed = True
