"""A fortnight of demo history, lived through in order: the clock, the headmasters and the
worker take turns at increasing times, as they would have.

So that the dashboard and the BEO digests have something to show on a fresh `kadam demo`:
Satara's schools are under way (one finished, one stuck, one gone quiet), Pune's three have
not answered at all (the district that is behind), and Kigali's has just started. Each day
the clock runs (task prompts on their day, reminders, Monday's digests), every reply goes
through Engine.receive exactly as a webhook would, only with `now` in the past, and the
console worker sends what is due: each history is a true story, every answer after the
message it answers.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from storage.conversations import person_by_phone
from storage.db import Database
from storage.media_store import MediaStore
from storage.schedule import at_local, local_date, parse_time

DAYS_AGO = 12  # the Retell the Tale campaign started this long ago
LAUNCH_TIME = dt.time(9, 0)  # the state team launched it at 09:00 in KADAM_TIMEZONE
KIGALI = "Africa/Kigali"
# When the clock runs each simulated day, UTC: after the campaign's 08:30 send time in India
# (03:00) and in Kigali (06:30), and after Monday's 09:00 digests in India.
CLOCK_TIMES = (dt.time(3, 5), dt.time(6, 40))


@dataclass(frozen=True)
class Said:
    phone: str
    days_ago: int
    at: str  # local time at the school, HH:MM
    text: str  # "PHOTO:caption" sends a photo
    timezone: str | None = None  # the school's, when it is not KADAM_TIMEZONE


def _kigali(days_ago: int, at: str, text: str) -> Said:
    return Said("+250788123456", days_ago, at, text, KIGALI)


# Each headmaster answers only what has been asked: a task on or after the day the clock
# prompts it (Retell the Tale's tasks come on days 0, 2, 5, 7, 10, 14 and 24), or, to go
# ahead of the schedule, after asking for it by its number.
HISTORY = (
    # Vijay Kadam, Koregaon (English): finishes the project and shares his story.
    Said("+919822012348", 12, "10:20", "1"),
    Said("+919822012348", 11, "11:05", "task 1 done"),
    Said("+919822012348", 10, "12:40", "task 2 done"),
    Said("+919822012348", 7, "09:50", "task 3 done"),
    Said("+919822012348", 5, "13:15", "task 4 done"),
    Said("+919822012348", 2, "10:30", "task 5 done"),
    Said("+919822012348", 2, "10:35", "PHOTO:5"),
    Said("+919822012348", 2, "16:00", "6"),  # task 6 is not due for two days: he starts it
    Said("+919822012348", 1, "10:10", "task 6 done"),
    Said("+919822012348", 1, "10:15", "7"),
    Said("+919822012348", 1, "17:30", "PHOTO:7"),
    Said("+919822012348", 1, "17:32", "1"),  # yes, task 7 is done: the celebration
    Said("+919822012348", 1, "17:40", "Our children now retell a story at every assembly"),
    Said("+919822012348", 1, "17:42", "1"),  # yes, share the story
    # Sunita Pawar, Wai (Marathi): well under way, with a photo.
    Said("+919822012345", 12, "11:00", "1"),
    Said("+919822012345", 11, "12:30", "task 1 done"),
    Said("+919822012345", 9, "10:45", "task 2 ho gaya"),
    Said("+919822012345", 6, "14:10", "task 3 done"),
    Said("+919822012345", 3, "11:20", "task 4 done"),
    Said("+919822012345", 1, "15:00", "PHOTO:5"),
    Said("+919822012345", 1, "15:02", "1"),  # yes, task 5 is done
    # Ramesh Jadhav, Wai (SMS): started, then silent.
    Said("+919822012346", 11, "13:00", "1"),
    Said("+919822012346", 10, "10:15", "task 1 done"),
    # Anita Shinde, Koregaon (Hindi): asks her BEO for help.
    Said("+919822012347", 10, "11:30", "1"),
    Said("+919822012347", 9, "12:00", "task 1 done"),
    Said("+919822012347", 2, "12:50", "task 2 need help parents are not coming"),
    # Claudine Uwase, Kigali: just started.
    _kigali(2, "09:15", "yes"),
    _kigali(1, "14:00", "task 1 done"),
)


def launch_time(now: dt.datetime, timezone: str) -> dt.datetime:
    """When the demo's fortnight-old campaign was launched: 09:00, DAYS_AGO days ago."""
    day = local_date(now, timezone) - dt.timedelta(days=DAYS_AGO)
    return at_local(day, LAUNCH_TIME, timezone)


def _moments(now: dt.datetime, settings: Settings) -> list[tuple[dt.datetime, Said | None]]:
    """Every reply at its time, and the clock's daily runs, in order (None: the clock)."""
    today = local_date(now, settings.timezone)
    moments: list[tuple[dt.datetime, Said | None]] = []
    for said in HISTORY:
        day = local_date(now, said.timezone or settings.timezone) - dt.timedelta(
            days=said.days_ago)
        moments.append((at_local(day, parse_time(said.at), said.timezone or settings.timezone),
                        said))
    start = today - dt.timedelta(days=DAYS_AGO)
    for offset in range(DAYS_AGO + 1):
        for time_of_day in CLOCK_TIMES:
            moment = dt.datetime.combine(start + dt.timedelta(days=offset), time_of_day,
                                         tzinfo=dt.UTC)
            if launch_time(now, settings.timezone) < moment < now:
                moments.append((moment, None))
    # At one instant the clock runs first: what it sends is there to be answered.
    moments.sort(key=lambda item: (item[0], item[1] is not None))
    for phone in {said.phone for said in HISTORY}:
        own = [moment for moment, said in moments if said is not None and said.phone == phone]
        assert own == sorted(set(own)), f"{phone}'s replies are not in order"
    assert all(moment < now for moment, _ in moments), "the demo's history lies in the past"
    return moments


def play(database: Database, settings: Settings, now: dt.datetime) -> None:
    """Lives the fortnight through: the clock, each reply, and the worker, in time order."""
    from bot.clock.clock import tick
    from bot.worker.channels import ConsoleChannel
    from bot.worker.loop import Worker

    engine = Engine(database, settings)
    store = MediaStore(settings.media_dir)
    with Worker(database, settings, ConsoleChannel(), threads=8) as worker:
        worker.run_once(launch_time(now, settings.timezone))
        for index, (at, said) in enumerate(_moments(now, settings)):
            if said is None:
                tick(database, settings, at)
            else:
                engine.receive(_inbound(database, store, index, said), now=at)
            worker.run_once(at)


def _inbound(database: Database, store: MediaStore, index: int, said: Said) -> Inbound:
    with database.sessions() as session:
        person = person_by_phone(session, said.phone)
        assert person is not None, f"{said.phone} is not in the demo roster"
        channel = person.channel
    text, media = said.text, []
    if text.startswith("PHOTO:"):
        text = text.removeprefix("PHOTO:")
        stored = store.save_stream(_chunks(_picture(index)), None)
        media = [{"url": None, "content_type": stored.content_type, "path": stored.path,
                  "size": stored.size, "sha256": stored.sha256}]
    return Inbound(sid=f"DEMO{index:04d}", phone=said.phone, channel=channel, body=text,
                   media=media)


def _chunks(data: bytes) -> Iterator[bytes]:
    yield data


def _picture(seed: int, width: int = 96, height: int = 64) -> bytes:
    """A small striped PNG (made here so the demo needs no image files)."""
    colour = ((60 + seed * 37) % 256, (120 + seed * 53) % 256, (90 + seed * 71) % 256)
    raw = b"".join(b"\x00" + b"".join(bytes(colour) if (x // 12 + y // 12) % 2 else
                                      b"\xf0\xf0\xe6" for x in range(width))
                   for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
