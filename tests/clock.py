"""The tests' clock: one fixed instant, so that no test depends on the day (or hour) it runs.

NOW is a Monday morning in India, TODAY its date there: the date the engine counts task days
in (Settings.timezone, Asia/Kolkata). A test passes NOW, or a time after it, to everything that
takes `now=`, and dates what it seeds from TODAY, so that a task "due today" in the seed is due
on the day the engine is told it is. (Some test modules keep an instant of their own, such as a
Monday in July for the officers' digests: they pass theirs the same way.)

A few tests go through a part of Kadam that reads the real clock itself: the webhooks and the
simulator stamp each message with the time it arrived, `kadam worker` and `kadam broadcast`
read it, and an evidence link's expiry is checked against it. Only those use `wall_now()` and
`wall_today()`, seed what they need relative to them, and expect nothing that depends on the
date or the hour (quiet hours are turned off where a message must go out at once).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

INDIA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 3, 2, 4, 30, tzinfo=dt.UTC)  # Monday 2 March 2026, 10:00 in India
TODAY = NOW.astimezone(INDIA).date()


def india_date(at: dt.datetime) -> dt.date:
    """The date in India at `at`: the day the engine counts from."""
    return at.astimezone(INDIA).date()


class Ticking:
    """NOW, then one minute later at each call: a conversation's messages arrive in order,
    all on TODAY, during the day."""

    def __init__(self, start: dt.datetime = NOW, step: dt.timedelta = dt.timedelta(minutes=1)):
        self.step = step
        self.last = start - step

    def __call__(self) -> dt.datetime:
        self.last += self.step
        return self.last


def wall_now() -> dt.datetime:
    """The real time: only for a test whose server or command reads the real clock itself."""
    return dt.datetime.now(dt.UTC)


def wall_today() -> dt.date:
    """Today in India by the real clock (not the machine's date, which may be UTC's)."""
    return india_date(wall_now())
