"""Configuration from the environment. The names are a contract: add, never rename."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (os.environ.get(name) or default).strip().lower()
    if raw not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


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
    secret_key: str = ""
    trusted_proxies: int = 0
    inbound: str = "inline"  # inline: the webhook answers; queue: it records, a worker answers

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
            secret_key=env("SECRET_KEY", ""),
            trusted_proxies=_int("KADAM_TRUSTED_PROXIES", 0),
            inbound=_choice("KADAM_INBOUND", ("inline", "queue"), "inline"),
        )

    @property
    def channel(self) -> str:
        """`twilio` when credentials are set; otherwise `console` (outbound stays in the DB)."""
        return "twilio" if self.twilio_account_sid and self.twilio_auth_token else "console"
