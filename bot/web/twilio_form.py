"""What Twilio posts, read strictly: an inbound message, or a delivery status.

Every field Kadam keeps has a shape Twilio never leaves: sids of ASCII letters and digits,
counts and codes of ASCII digits, at most 10 media, URLs that are http(s), and no more
characters than the column that keeps it holds (read from storage/models/, so the two cannot
drift apart). A form that breaks one cannot be a Twilio request: `NotTwilio` says which field
(never its value, which may be a phone number), the webhook answers 400 and nothing is stored.

One exception: a NUL in a message's text is removed and the message kept. PostgreSQL refuses
NUL in text, and no one types it, but a phone or an SMS gateway may leave one there (GSM-7
writes "@" as 0x00); the headmaster's reply should not be lost for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import String

from bot.engine.engine import Inbound
from bot.web.fields import MAX_ID, MAX_INTEGER, whole
from storage.models import Evidence, InboundMessage, Outbox

MAX_MEDIA = 10  # Twilio's most for one WhatsApp message or MMS
MAX_BODY = 65_536  # the longest WhatsApp message (an SMS is at most 1,600 characters)
MAX_URL = 2_048
MAX_STATUS = 32

_SID = re.compile(r"[A-Za-z0-9]+")
_WORD = re.compile(r"[A-Za-z_]+")  # no re.IGNORECASE: with it, [a-z] matches the Kelvin sign
_PRINTABLE = re.compile(r"[!-~]+")  # ASCII without spaces or control characters
_CONTENT_TYPE = re.compile(r"[ -~]+")  # ASCII with spaces ("text/plain; charset=utf-8")


def _length(column: Any) -> int:
    """How many characters a String column holds."""
    kind = column.expression.type
    assert isinstance(kind, String) and kind.length, column
    return int(kind.length)


SID_LENGTH = _length(InboundMessage.sid)
PROVIDER_SID_LENGTH = _length(Outbox.provider_sid)
# The sender's number is kept on the message and, for a number not in the roster, on the reply.
PHONE_LENGTH = min(_length(InboundMessage.phone), _length(Outbox.phone))
PAYLOAD_LENGTH = _length(InboundMessage.button_payload)
CONTENT_TYPE_LENGTH = _length(Evidence.content_type)


class NotTwilio(ValueError):
    """A form no Twilio request could carry; the message names the field and what is wrong."""


@dataclass(frozen=True)
class DeliveryReport:
    """A status callback: where one sent message has got to."""

    sid: str
    status: str
    error_code: int | None
    outbox_id: int | None  # the row Kadam named in the callback URL


def inbound(form: Mapping[str, str], channel: str) -> Inbound:
    """The message a webhook carries, or NotTwilio."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    _shaped(sid, "MessageSid", _SID, SID_LENGTH)
    sender = form.get("From", "")
    # Twilio writes WhatsApp senders as "whatsapp:+9198..."; the roster keeps E.164.
    phone = sender.split(":", 1)[1] if sender.startswith("whatsapp:") else sender
    _shaped(phone, "From", _PRINTABLE, PHONE_LENGTH)
    body = form.get("Body", "").replace("\x00", "")
    if len(body) > MAX_BODY:
        raise NotTwilio(f"Body is longer than {MAX_BODY} characters")
    payload = form.get("ButtonPayload") or None
    if payload is not None and ("\x00" in payload or len(payload) > PAYLOAD_LENGTH):
        raise NotTwilio(f"ButtonPayload holds a NUL or is longer than {PAYLOAD_LENGTH}")
    return Inbound(sid=sid, phone=phone, channel=channel, body=body, button_payload=payload,
                   media=_media(form))


def _media(form: Mapping[str, str]) -> list[dict[str, Any]]:
    count = whole(form.get("NumMedia") or "0", MAX_MEDIA)
    if count is None:
        raise NotTwilio(f"NumMedia is not a number of ASCII digits from 0 to {MAX_MEDIA}")
    media = []
    for i in range(count):
        url = form.get(f"MediaUrl{i}")
        if not url:
            continue
        _shaped(url, f"MediaUrl{i}", _PRINTABLE, MAX_URL)
        try:
            parts = urlsplit(url)
        except ValueError:  # "http://[x": an unclosed IPv6 address
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NotTwilio(f"MediaUrl{i} is not an http(s) URL")
        content_type = form.get(f"MediaContentType{i}") or None
        if content_type is not None:
            _shaped(content_type, f"MediaContentType{i}", _CONTENT_TYPE, CONTENT_TYPE_LENGTH)
        media.append({"url": url, "content_type": content_type})
    return media


def delivery_report(form: Mapping[str, str], query: Mapping[str, str]) -> DeliveryReport:
    """The status callback a form and its URL's query carry, or NotTwilio."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    _shaped(sid, "MessageSid", _SID, PROVIDER_SID_LENGTH)
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    _shaped(status, "MessageStatus", _WORD, MAX_STATUS)
    code = form.get("ErrorCode") or ""
    error_code = whole(code, MAX_INTEGER) if code else None
    if code and error_code is None:
        raise NotTwilio("ErrorCode is not a number of ASCII digits")
    row = query.get("outbox")
    outbox_id = whole(row, MAX_ID) if row is not None else None
    if row is not None and outbox_id is None:
        raise NotTwilio("the outbox in the callback URL is not a row id")
    return DeliveryReport(sid, status.lower(), error_code, outbox_id)


def _shaped(value: str, field: str, shape: re.Pattern[str], limit: int) -> None:
    if not value:
        raise NotTwilio(f"{field} is missing")
    if len(value) > limit:
        raise NotTwilio(f"{field} is longer than {limit} characters")
    if not shape.fullmatch(value):
        raise NotTwilio(f"{field} holds characters Twilio never sends there")
