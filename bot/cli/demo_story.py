"""A fortnight of demo history: replies played through the real engine at past times.

So that the dashboard and the BEO digests have something to show on a fresh `kadam demo`:
Satara's schools are under way (one finished, one stuck, one gone quiet), Pune's three have
not answered at all (the district that is behind), and Kigali's has just started. Every reply
goes through Engine.receive exactly as a webhook would, only with `now` in the past.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib

from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from storage.db import Database
from storage.media_store import MediaStore

DAYS_AGO = 12  # the Retell the Tale campaign started this long ago
# (phone, days ago, what the headmaster sent; "PHOTO:caption" sends a photo).
HISTORY = (
    ("+919822012348", 12, "1"),  # Vijay Kadam, Koregaon: finishes the project
    *(("+919822012348", 12 - day, f"task {n} done") for n, day in
      ((1, 0), (2, 2), (3, 4), (4, 5), (5, 7), (6, 8), (7, 10))),
    ("+919822012348", 10, "PHOTO:7"),
    ("+919822012348", 2, "Our children now retell a story at every assembly"),
    ("+919822012348", 2, "1"),  # yes, share the story
    ("+919822012345", 12, "1"),  # Sunita Pawar, Wai: well under way, with a photo
    ("+919822012345", 11, "task 1 done"),
    ("+919822012345", 9, "task 2 ho gaya"),
    ("+919822012345", 6, "task 3 done"),
    ("+919822012345", 3, "task 4 done"),
    ("+919822012345", 1, "PHOTO:5"),
    ("+919822012345", 1, "task 5 done"),
    ("+919822012346", 11, "1"),  # Ramesh Jadhav, Wai (SMS): started, then silent
    ("+919822012346", 10, "task 1 done"),
    ("+919822012347", 10, "1"),  # Anita Shinde, Koregaon: asks her BEO for help
    ("+919822012347", 9, "task 1 done"),
    ("+919822012347", 2, "task 2 need help parents are not coming"),
    ("+250788123456", 2, "yes"),  # Claudine Uwase, Kigali: just started
    ("+250788123456", 1, "task 1 done"),
)


def play(database: Database, settings: Settings, now: dt.datetime) -> None:
    engine = Engine(database, settings)
    store = MediaStore(settings.media_dir)
    for index, (phone, days_ago, text) in enumerate(HISTORY):
        at = now - dt.timedelta(days=days_ago, hours=-(index % 5))
        media = []
        if text.startswith("PHOTO:"):
            text = text.removeprefix("PHOTO:")
            stored = store.save_stream([_picture(index)], None)
            media = [{"url": None, "content_type": stored.content_type, "path": stored.path,
                      "size": stored.size, "sha256": stored.sha256}]
        engine.receive(Inbound(sid=f"DEMO{index:04d}", phone=phone, channel="whatsapp",
                               body=text, media=media), now=at)


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
