"""The rhythm of a campaign: when tasks are asked about, when reminders go, when nights are quiet.

Times are stored in UTC and reasoned about in the school's time zone. A campaign's settings are
fixed at launch (template defaults, then the launch's own choices), so a running campaign never
changes pace because a default changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Kolkata"


@dataclass(frozen=True)
class Pace:
    """How a campaign moves. Every field can be set per template and per launch."""

    send_time: str = "10:00"  # local time of day task prompts and reminders go out
    reminder_after_days: int = 2
    max_reminders: int = 3
    lapse_after_days: int = 14
    invitation_resend_after_days: int = 3

    @classmethod
    def from_settings(cls, *layers: dict[str, Any] | None) -> Pace:
        """Later layers win: defaults, then the template's `settings`, then the launch's."""
        pace = cls()
        names = {f.name for f in fields(cls)}
        for layer in layers:
            known = {k: v for k, v in (layer or {}).items() if k in names and v is not None}
            pace = replace(pace, **known)
        pace.time_of_day()  # fail early on a bad time
        return pace

    def as_settings(self) -> dict[str, Any]:
        return asdict(self)

    def time_of_day(self) -> dt.time:
        return parse_time(self.send_time)

    def reminder_gap(self, reminders_sent: int) -> dt.timedelta:
        """Reminders come after 2, then 4, then 8 days (for the default of 2): a growing gap."""
        return dt.timedelta(days=self.reminder_after_days * (2**reminders_sent))


@dataclass(frozen=True)
class QuietHours:
    """Nothing scheduled goes out from `start` to `end`, local time (default 20:00 to 08:00)."""

    start: dt.time = dt.time(20, 0)
    end: dt.time = dt.time(8, 0)

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """"20:00-08:00", or "off" (also "none", "0") for none; "" for the default."""
        raw = text.strip()
        if not raw:
            return cls()
        if raw.lower() in ("off", "none", "0"):
            return cls(dt.time(0, 0), dt.time(0, 0))
        start, _, end = raw.partition("-")
        return cls(parse_time(start), parse_time(end))

    def is_quiet(self, local: dt.time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, now: dt.datetime, timezone: str) -> dt.datetime:
        """`now` if it is daytime at the recipient, else the end of their quiet hours (UTC)."""
        local = now.astimezone(zone(timezone))
        if not self.is_quiet(local.time().replace(tzinfo=None)):
            return now
        morning = local.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                                microsecond=0)
        if morning <= local:
            morning += dt.timedelta(days=1)
        return morning.astimezone(dt.UTC)


def parse_time(text: str) -> dt.time:
    try:
        hours, minutes = str(text).strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"not a time of day (HH:MM): {text!r}") from exc


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def at_local(day: dt.date, time_of_day: dt.time, timezone: str) -> dt.datetime:
    """That local date and time at the school, as UTC."""
    return dt.datetime.combine(day, time_of_day, tzinfo=zone(timezone)).astimezone(dt.UTC)


def local_date(moment: dt.datetime, timezone: str) -> dt.date:
    return moment.astimezone(zone(timezone)).date()


WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class DigestTime:
    """When officers' weekly digests go out, local time (default Monday 09:00)."""

    weekday: int = 0  # Monday, as dt.date.weekday()
    time: dt.time = dt.time(9, 0)

    @classmethod
    def parse(cls, text: str) -> DigestTime:
        """"MON 09:00" (the day's first three letters count; the time defaults to 09:00)."""
        raw = text.strip().upper()
        day, _, time_of_day = raw.partition(" ")
        if day[:3] not in WEEKDAYS:
            raise ValueError(f"not a weekday and a time like 'MON 09:00': {text!r}")
        return cls(WEEKDAYS.index(day[:3]), parse_time(time_of_day or "09:00"))


def next_digest_time(now: dt.datetime, timezone: str, when: DigestTime) -> dt.datetime:
    """The next digest moment strictly after `now`, in the officer's time zone."""
    today = local_date(now, timezone)
    for ahead in range(8):
        day = today + dt.timedelta(days=ahead)
        if day.weekday() == when.weekday:
            moment = at_local(day, when.time, timezone)
            if moment > now:
                return moment
    raise AssertionError("a week always has that weekday")
