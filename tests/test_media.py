"""Evidence files: fetched from Twilio's media URLs into MEDIA_DIR by the worker."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.media import MAX_ATTEMPTS, RETRY_AFTER
from bot.worker import Worker
from storage.db import Database
from storage.media_store import MediaStore, MediaTooLarge, extension_for
from storage.models import Evidence, InboundMessage, Outbox
from tests.seed import seed_project
from tests.twilio_standin import TwilioStandin

NOW = dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)
SAMPLES = Path(__file__).parent / "evidence_samples"  # small real files, made with ffmpeg
PHOTO = (SAMPLES / "photo.jpg").read_bytes()


@pytest.fixture
def twilio():
    with TwilioStandin() as standin:
        yield standin


def settings_for(standin: TwilioStandin, tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = dict(
        twilio_account_sid=standin.account_sid, twilio_auth_token=standin.auth_token,
        twilio_api_url=standin.url, media_dir=tmp_path / "media",
    )
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def pending_evidence(db: Database, url: str, task_position: int = 3,
                     content_type: str = "image/jpeg") -> tuple[int, str]:
    """A photo the headmaster sent for a task, not yet fetched; returns (evidence id, phone)."""
    seeded = seed_project(db)
    with db.transaction() as session:
        inbound = InboundMessage(sid="MM" + "1" * 32, phone=seeded.phone,
                                 person_id=seeded.person_id, channel="whatsapp",
                                 media=[{"url": url, "content_type": content_type}],
                                 received_at=NOW)
        session.add(inbound)
        session.flush()
        evidence = Evidence(task_id=seeded.task_ids[task_position - 1], inbound_id=inbound.id,
                            kind="photo", source_url=url, content_type=content_type,
                            status="pending", created_at=NOW)
        session.add(evidence)
        session.flush()
        return evidence.id, seeded.phone


def evidence(db: Database, evidence_id: int) -> Evidence:
    with db.sessions() as session:
        found = session.get(Evidence, evidence_id)
        assert found is not None
        return found


def replies(db: Database, phone: str) -> list[tuple[str, dict]]:
    with db.sessions() as session:
        return [(r.key, r.params) for r in session.scalars(
            select(Outbox).where(Outbox.phone == phone).order_by(Outbox.id))]


def run(db: Database, settings: Settings, now: dt.datetime = NOW):
    with Worker(db, settings) as worker:
        return worker.run_once(now)


def test_photo_is_fetched_through_the_redirect_and_stored_by_content(db, twilio, tmp_path):
    url = twilio.add_media("photo1", PHOTO, "image/jpeg")
    evidence_id, phone = pending_evidence(db, url)
    settings = settings_for(twilio, tmp_path)

    counts = run(db, settings)

    assert counts.media_stored == 1
    stored = evidence(db, evidence_id)
    sha = hashlib.sha256(PHOTO).hexdigest()
    assert (stored.status, stored.sha256, stored.size) == ("stored", sha, len(PHOTO))
    assert stored.content_type == "image/jpeg"
    assert stored.path == f"{sha[:2]}/{sha}.jpg"
    assert (settings.media_dir / stored.path).read_bytes() == PHOTO
    assert stored.attempts == 1
    # The credentials went to Twilio's API only, not to the CDN it redirected to.
    first, second = twilio.requests
    assert (first.status, first.host) == (302, twilio.url.removeprefix("http://"))
    assert first.authorization and first.authorization.startswith("Basic ")
    assert second.status == 200 and second.host != first.host
    assert second.path.startswith("/cdn/")
    assert second.authorization is None
    assert replies(db, phone) == []  # the flow already thanked them
    assert run(db, settings).total == 0  # nothing is fetched twice


def test_file_over_the_limit_is_rejected_and_the_headmaster_told(db, twilio, tmp_path):
    url = twilio.add_media("big", b"x" * (2 * 1024 * 1024 + 1), "video/mp4", redirect=False)
    evidence_id, phone = pending_evidence(db, url)
    settings = settings_for(twilio, tmp_path, media_max_bytes=2 * 1024 * 1024)

    counts = run(db, settings)

    assert counts.media_rejected == 1
    rejected = evidence(db, evidence_id)
    assert rejected.status == "rejected"
    assert rejected.path is None
    assert "larger than" in (rejected.error or "")
    assert replies(db, phone) == [("evidence.too_large", {"limit_mb": 2})]
    assert not any(p.is_file() for p in settings.media_dir.rglob("*"))


def test_fetch_that_keeps_failing_is_given_up_and_the_headmaster_asked_again(db, twilio,
                                                                             tmp_path):
    url = twilio.url + f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/MMx/Media/MEgone"
    evidence_id, phone = pending_evidence(db, url, task_position=3)
    settings = settings_for(twilio, tmp_path)

    for attempt, wait in enumerate(RETRY_AFTER, start=1):
        counts = run(db, settings, NOW + wait)
        assert evidence(db, evidence_id).attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert counts.media_retried == 1
            assert evidence(db, evidence_id).status == "pending"
            # Tried once per turn, however often the worker runs in between.
            assert run(db, settings, NOW + wait).total == 0
    failed = evidence(db, evidence_id)
    assert (failed.status, failed.error) == ("rejected", "HTTP 404")
    assert replies(db, phone) == [("evidence.fetch_failed", {"position": 3})]


def test_wrong_credentials_are_a_failed_fetch(db, twilio, tmp_path):
    url = twilio.add_media("photo2", PHOTO, "image/jpeg")
    evidence_id, _ = pending_evidence(db, url)
    counts = run(db, settings_for(twilio, tmp_path, twilio_auth_token="wrong"))
    assert counts.media_retried == 1
    assert evidence(db, evidence_id).error == "HTTP 401"


# --- the store --------------------------------------------------------------------------------


def test_store_names_files_by_content_and_keeps_one_copy(tmp_path):
    store = MediaStore(tmp_path)
    png = (SAMPLES / "photo.png").read_bytes()
    first = store.save_stream(iter([png[:5], png[5:100], png[100:]]), 10_000)
    again = store.save_stream(iter([png]), 10_000)
    assert first == again
    assert first.sha256 == hashlib.sha256(png).hexdigest()
    assert (first.size, first.path) == (len(png), f"{first.sha256[:2]}/{first.sha256}.png")
    assert first.content_type == "image/png"
    assert store.full_path(first.path).read_bytes() == png
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [store.full_path(first.path)]


def test_store_leaves_nothing_behind_when_a_stream_is_too_large(tmp_path):
    store = MediaStore(tmp_path)
    with pytest.raises(MediaTooLarge):
        store.save_stream(iter([PHOTO[:600], PHOTO[600:] + b"\0" * 600]), 1000)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("content_type, ext", [
    ("image/jpeg", "jpg"), ("audio/ogg; codecs=opus", "ogg"), ("application/pdf", "pdf"),
    ("video/mp4", "mp4"), ("application/x-unknown-thing", "bin"), (None, "bin"),
])
def test_extension_follows_the_content_type(content_type, ext):
    assert extension_for(content_type) == ext


def test_retries_are_spaced_from_the_last_try_not_bunched_after_a_pause(db, twilio, tmp_path):
    url = twilio.url + f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/MMy/Media/MEgone"
    evidence_id, _ = pending_evidence(db, url)
    settings = settings_for(twilio, tmp_path)
    assert run(db, settings).media_retried == 1
    assert evidence(db, evidence_id).next_attempt_at == NOW + RETRY_AFTER[1]
    # The worker was down for two hours: one try now, the next a step's gap after it.
    back = NOW + dt.timedelta(hours=2)
    assert run(db, settings, back).media_retried == 1
    assert run(db, settings, back + dt.timedelta(minutes=1)).total == 0
    gap = RETRY_AFTER[2] - RETRY_AFTER[1]
    assert evidence(db, evidence_id).next_attempt_at == back + gap
    assert evidence(db, evidence_id).attempts == 2
