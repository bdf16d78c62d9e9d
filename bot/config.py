"""Configuration from the environment. The names are a contract: add, never rename."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def _flag(name: str) -> bool:
    return (os.environ.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (os.environ.get(name) or default).strip().lower()
    if raw not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


def _retention_days() -> int:
    days = _int("KADAM_RETENTION_DAYS", 365)
    if days < 1:
        raise ValueError(f"KADAM_RETENTION_DAYS must be a number of days, 1 or more, not {days}")
    return days


def _retry_hours() -> float:
    hours = _float("KADAM_RETRY_HOURS", 24.0)
    if hours <= 0:
        raise ValueError(f"KADAM_RETRY_HOURS must be a number of hours above 0, not {hours}")
    return hours


@dataclass
class Settings:
    database_url: str = ""
    public_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_whatsapp_from: str = ""
    twilio_sms_from: str = ""
    twilio_api_url: str = ""
    twilio_templates: str = ""
    messages_per_second: float = 10.0
    media_dir: Path = field(default_factory=lambda: Path("media"))
    media_max_bytes: int = 16 * 1024 * 1024
    link_days: int = 30  # how long a photo link in a digest opens its photo
    timezone: str = "Asia/Kolkata"
    default_region: str = "IN"
    default_language: str = "en"
    simulator: bool = False  # KADAM_SIMULATOR=1, or `kadam demo`: /simulator for state users
    secret_key: str = ""
    trusted_proxies: int = 0
    inbound: str = "inline"  # inline: the webhook answers; queue: it records, a worker answers
    retention_days: int = 365  # personal data of campaigns that ended longer ago is purged
    retry_hours: float = 24.0  # a message the provider keeps refusing is given up after this

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            database_url=env("DATABASE_URL", ""),
            public_url=env("PUBLIC_URL", "").rstrip("/"),
            twilio_account_sid=env("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=env("TWILIO_AUTH_TOKEN", ""),
            twilio_whatsapp_from=env("TWILIO_WHATSAPP_FROM", ""),
            twilio_sms_from=env("TWILIO_SMS_FROM", ""),
            twilio_api_url=env("TWILIO_API_URL", "").rstrip("/"),
            twilio_templates=env("TWILIO_TEMPLATES", ""),
            messages_per_second=_float("MESSAGES_PER_SECOND", 10.0),
            media_dir=Path(env("MEDIA_DIR", "media")),
            media_max_bytes=_int("MEDIA_MAX_BYTES", 16 * 1024 * 1024),
            link_days=_int("KADAM_LINK_DAYS", 30),
            timezone=env("KADAM_TIMEZONE", "Asia/Kolkata"),
            default_region=env("KADAM_DEFAULT_REGION", "IN"),
            default_language=env("KADAM_DEFAULT_LANGUAGE", "en"),
            simulator=_flag("KADAM_SIMULATOR"),
            secret_key=env("SECRET_KEY", ""),
            trusted_proxies=_int("KADAM_TRUSTED_PROXIES", 0),
            inbound=_choice("KADAM_INBOUND", ("inline", "queue"), "inline"),
            retention_days=_retention_days(),
            retry_hours=_retry_hours(),
        )

    @property
    def channel(self) -> str:
        """`twilio` when credentials are set; otherwise `console` (outbound stays in the DB)."""
        return "twilio" if self.twilio_account_sid and self.twilio_auth_token else "console"

    def missing_secret_key(self) -> str | None:
        """Why this deployment must not run without SECRET_KEY (None when it may).

        Without it each process makes its own key: with two web processes most sign-ins fail,
        and the worker and clock sign photo links with an empty key anyone can forge. Only the
        demo and the tests (SQLite, console channel) may do without."""
        if self.secret_key:
            return None
        if self.channel == "twilio":
            reason = "Twilio is configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)"
        elif not (self.database_url or "sqlite").startswith("sqlite"):
            reason = "the database is not SQLite (DATABASE_URL)"
        else:
            return None
        return (f"SECRET_KEY is not set, and {reason}: dashboard sign-ins would fail across "
                "web processes and photo links would be signed with an empty key. Set "
                "SECRET_KEY to the same long random value for every web, worker and clock "
                "process, e.g. the output of "
                "`python3 -c 'import secrets; print(secrets.token_hex(32))'`.")


class UnsafeConfiguration(RuntimeError):
    """A process refuses to start: the message says why and how to fix it."""
