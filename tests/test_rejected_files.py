"""Refused uploads do not stay on disk: a file whose evidence was rejected after it was written
(its bytes were not what it claimed, say) is deleted by the worker after a refused download and
by the nightly purge, unless the same bytes are another task's kept evidence; downloads a
crashed worker left half-written go too. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from sqlalchemy import select

from bot.config import Settings
from bot.worker.loop import Worker
from storage import retention
from storage.db import Database
from storage.media_store import MediaStore
from storage.models import Evidence
from tests.seed import seed_project
from tests.twilio_standin import TwilioStandin

NOW = dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)
PAGE = b"<html><script>alert(1)</script></html>"  # sent as a photo


def refused_with_file(db: Database, store: MediaStore, content: bytes, task_id: int,
                      status: str = "rejected") -> tuple[int, Path]:
    # Written as an older release wrote it, before the bytes were checked on arrival.
    sha256 = hashlib.sha256(content).hexdigest()
    path = f"{sha256[:2]}/{sha256}.jpg"
    store.full_path(path).parent.mkdir(parents=True, exist_ok=True)
    store.full_path(path).write_bytes(content)
    with db.transaction() as session:
        row = Evidence(task_id=task_id, kind="photo", status=status, path=path,
                       sha256=sha256, size=len(content), content_type="image/jpeg",
                       created_at=NOW)
        session.add(row)
        session.flush()
        return row.id, store.full_path(path)


def paths_of(db: Database) -> dict[int, str | None]:
    with db.sessions() as session:
        return dict(session.execute(select(Evidence.id, Evidence.path)).tuples().all())


def test_the_worker_deletes_refused_files_after_a_refused_download(db, tmp_path):
    seeded = seed_project(db, now=NOW)
    with TwilioStandin() as twilio:
        big = twilio.add_media("big", b"x" * 2048, "video/mp4", redirect=False)
        with db.transaction() as session:
            session.add(Evidence(task_id=seeded.task_ids[3], kind="video", source_url=big,
                                 content_type="video/mp4", status="pending", created_at=NOW))
        settings = Settings(twilio_account_sid=twilio.account_sid,
                            twilio_auth_token=twilio.auth_token, twilio_api_url=twilio.url,
                            media_dir=tmp_path / "media", media_max_bytes=1024)
        store = MediaStore(settings.media_dir)
        refused_id, refused = refused_with_file(db, store, PAGE, seeded.task_ids[2])

        with Worker(db, settings) as worker:
            counts = worker.run_once(NOW)

    assert counts.media_rejected == 1
    assert not refused.exists()
    assert paths_of(db)[refused_id] is None
    assert not any(p.is_file() for p in settings.media_dir.rglob("*"))


def test_the_nightly_purge_deletes_refused_files_but_not_kept_ones(db, tmp_path):
    seeded = seed_project(db, now=NOW)
    store = MediaStore(tmp_path / "media")
    refused_id, refused = refused_with_file(db, store, PAGE, seeded.task_ids[2])
    # The same bytes refused once (a retried download) but kept for another task.
    kept_id, kept = refused_with_file(db, store, b"a real photo", seeded.task_ids[3], "stored")
    twice_id, _ = refused_with_file(db, store, b"a real photo", seeded.task_ids[2])
    # A download a crashed worker left behind two days ago, and one still being written.
    partial = store.root / ".partial"
    partial.mkdir(parents=True, exist_ok=True)
    stale, fresh = partial / "old.part", partial / "now.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_days_ago = (NOW - dt.timedelta(days=2)).timestamp()
    os.utime(stale, (two_days_ago, two_days_ago))
    os.utime(fresh, (NOW.timestamp(), NOW.timestamp()))

    report = retention.purge_if_due(db, store, NOW, 365, "Asia/Kolkata")

    assert report is not None and report.files == 1
    assert not refused.exists() and kept.is_file()
    assert paths_of(db) == {refused_id: None, kept_id: kept.relative_to(store.root).as_posix(),
                            twice_id: None}
    assert not stale.exists() and fresh.exists()
