"""Configuration from the environment. The names are a contract: add, never rename.

This is the one module that reads the environment: `Settings.from_env()` reads each variable
once, and everything else (storage/ included) receives the values. `kadam doctor`, which checks
the variables themselves, gets them from `environment()`. tests/test_configuration.py holds
every other module to that.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from storage.db import DEFAULT_DATABASE_URL
from storage.schedule import DEFAULT_TIMEZONE, DigestTime, QuietHours

T = TypeVar("T")


def environment() -> Mapping[str, str]:
    """The process environment, as it is: for `kadam doctor`, which checks every variable
    (misspelt ones included) and must run where Settings.from_env() would refuse to."""
    return os.environ


def _int(env: Mapping[str, str], name: str, default: int, least: int | None = None) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if least is not None and value < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, not {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def _flag(env: Mapping[str, str], name: str) -> bool:
    return (env.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


def _parsed(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T,
            form: str) -> T:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ValueError(f"{name} must be {form}, not {raw!r}") from None


def _retention_days(env: Mapping[str, str]) -> int:
    days = _int(env, "KADAM_RETENTION_DAYS", 365)
    if days < 1:
        raise ValueError(f"KADAM_RETENTION_DAYS must be a number of days, 1 or more, not {days}")
    return days


def _retry_hours(env: Mapping[str, str]) -> float:
    hours = _float(env, "KADAM_RETRY_HOURS", 24.0)
    if hours <= 0:
        raise ValueError(f"KADAM_RETRY_HOURS must be a number of hours above 0, not {hours}")
    return hours


@dataclass
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_whatsapp_from: str = ""
    twilio_sms_from: str = ""
    twilio_api_url: str = ""
    twilio_templates: str = ""
    messages_per_second: float = 10.0
    worker_threads: int = 8  # concurrent sends in one worker process
    media_dir: Path = field(default_factory=lambda: Path("media"))
    media_max_bytes: int = 16 * 1024 * 1024
    link_days: int = 30  # how long a photo link in a digest opens its photo
    timezone: str = DEFAULT_TIMEZONE  # of schools that name none, and of the state team
    quiet_hours: QuietHours = field(default_factory=QuietHours)  # 20:00-08:00 local
    digest_time: DigestTime = field(default_factory=DigestTime)  # officers' digests, MON 09:00
    default_region: str = "IN"  # roster phones without +; digit grouping (1,50,000)
    default_language: str = "en"
    simulator: bool = False  # KADAM_SIMULATOR=1, or `kadam demo`: /simulator for state users
    secret_key: str = ""
    trusted_proxies: int = 0
    inbound: str = "inline"  # inline: the webhook answers; queue: it records, a worker answers
    retention_days: int = 365  # personal data of campaigns that ended longer ago is purged
    retry_hours: float = 24.0  # a message the provider keeps refusing is given up after this
    clock_interval_seconds: float = 60.0  # `kadam clock` without --interval
    log_level: str = "INFO"  # the command line's
    user_password: str = field(default="", repr=False)  # `kadam user add` without --password

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from the process environment (or `environ`), each variable read once
        here. A bad value raises ValueError naming the variable."""
        source = os.environ if environ is None else environ

        def env(name: str, default: str = "") -> str:
            return source.get(name, default)

        return cls(
            database_url=env("DATABASE_URL") or DEFAULT_DATABASE_URL,
            public_url=env("PUBLIC_URL").rstrip("/"),
            twilio_account_sid=env("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=env("TWILIO_AUTH_TOKEN"),
            twilio_whatsapp_from=env("TWILIO_WHATSAPP_FROM"),
            twilio_sms_from=env("TWILIO_SMS_FROM"),
            twilio_api_url=env("TWILIO_API_URL").rstrip("/"),
            twilio_templates=env("TWILIO_TEMPLATES"),
            messages_per_second=_float(source, "MESSAGES_PER_SECOND", 10.0),
            worker_threads=_int(source, "WORKER_THREADS", 8, least=1),
            media_dir=Path(env("MEDIA_DIR", "media")),
            media_max_bytes=_int(source, "MEDIA_MAX_BYTES", 16 * 1024 * 1024),
            link_days=_int(source, "KADAM_LINK_DAYS", 30),
            timezone=env("KADAM_TIMEZONE").strip() or DEFAULT_TIMEZONE,
            quiet_hours=_parsed(source, "KADAM_QUIET_HOURS", QuietHours.parse, QuietHours(),
                                "hours like 20:00-08:00, or off"),
            digest_time=_parsed(source, "KADAM_DIGEST_TIME", DigestTime.parse, DigestTime(),
                                "a weekday and a time like MON 09:00"),
            default_region=(env("KADAM_DEFAULT_REGION").strip() or "IN").upper(),
            default_language=env("KADAM_DEFAULT_LANGUAGE", "en"),
            simulator=_flag(source, "KADAM_SIMULATOR"),
            secret_key=env("SECRET_KEY"),
            trusted_proxies=_int(source, "KADAM_TRUSTED_PROXIES", 0),
            inbound=_choice(source, "KADAM_INBOUND", ("inline", "queue"), "inline"),
            retention_days=_retention_days(source),
            retry_hours=_retry_hours(source),
            clock_interval_seconds=_float(source, "CLOCK_INTERVAL_SECONDS", 60.0),
            log_level=env("LOG_LEVEL").strip() or "INFO",
            user_password=env("KADAM_USER_PASSWORD"),
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
