"""Numbers as they arrive from outside (form fields, query strings, URLs), read strictly.

ASCII digits only, and only as many as the bound allows: `str.isdigit` passes "²" and "٣"
(int() refuses the first, reads the second as 3), and int() of a long run of digits costs time
and, past 4,300 digits, raises. A larger number than its column holds never reaches a query:
SQLite and PostgreSQL refuse to compare an id with a number past BIGINT (a 500).
"""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter, ValidationError

MAX_ID = 2**63 - 1  # BIGINT
MAX_INTEGER = 2**31 - 1  # INTEGER

_DIGITS = re.compile(r"[0-9]+")


def whole(text: str, maximum: int) -> int | None:
    """`text` as a whole number from 0 to `maximum`, or None when it is not one."""
    if len(text) > len(str(maximum)) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None


class IdConverter(BaseConverter):
    """`<id:name>` in a route: a row id in ASCII digits that fits BIGINT, or the route does not
    match (404). Werkzeug's own `int` takes any Unicode digit, and numbers of any size."""

    regex = r"[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = whole(value, MAX_ID)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))
