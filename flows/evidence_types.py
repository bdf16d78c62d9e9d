"""What Kadam keeps as evidence: the file types (by MIME type) and the kind each one is.

A file's type is decided from its bytes when it is stored (storage/media_types.py); the type a
phone or Twilio declares is only a first look, to answer at once when it is plainly something
else (a contact card, an SVG drawing). Nothing here can run as script in a browser.
"""

from __future__ import annotations

# MIME type -> kind (photo, audio, video, document), as phones on WhatsApp and MMS send them.
ACCEPTED: dict[str, str] = {
    "image/jpeg": "photo",
    "image/png": "photo",
    "image/webp": "photo",
    "image/heic": "photo",
    "audio/ogg": "audio",  # WhatsApp voice notes (Opus)
    "audio/amr": "audio",  # basic phones' voice recordings
    "audio/mpeg": "audio",
    "audio/mp4": "audio",  # .m4a
    "video/mp4": "video",
    "video/3gpp": "video",
    "application/pdf": "document",
}

# Other names phones and carriers declare for the same types.
ALIASES: dict[str, str] = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/heif": "image/heic",
    "audio/opus": "audio/ogg",
    "audio/x-amr": "audio/amr",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/3gpp": "video/3gpp",
    "video/3gp": "video/3gpp",
}


def accepted_type(content_type: str | None) -> str | None:
    """The allowlisted MIME type `content_type` names ("audio/ogg; codecs=opus" gives
    "audio/ogg", "image/jpg" gives "image/jpeg"), or None if it is not one Kadam keeps."""
    base = (content_type or "").split(";")[0].strip().lower()
    base = ALIASES.get(base, base)
    return base if base in ACCEPTED else None


def kind_of(content_type: str | None) -> str:
    """photo, audio, video or document."""
    return ACCEPTED.get(accepted_type(content_type) or "", "document")
